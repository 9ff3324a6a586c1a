"""Run stages in order, stop at the first that does not pass, report each and summarise the run."""

from __future__ import annotations

import shutil
import time
import traceback
from collections.abc import Sequence

from pipelines.core.clock import format_duration
from pipelines.core.report import (
    Outcome,
    read_outcomes,
    summary_table,
    write_stage_reports,
    write_summary,
)
from pipelines.core.runner import Echo
from pipelines.core.stage import (
    Options,
    Stage,
    StageBlocked,
    StageContext,
    StageFailed,
    StageSkipped,
    Status,
    StepRecord,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BLOCKED = 3
"""The target cannot go further (say, no local cluster yet): every stage before it passed."""


def run_pipeline(
    selected: Sequence[Stage], registry: Sequence[Stage], options: Options, echo: Echo = print
) -> int:
    """Run `selected` stages in order; the summary covers every stage of `registry`."""
    if len(selected) > 1:
        _clear_reports(options, registry)
    outcomes: list[Outcome] = []
    for index, stage in enumerate(selected, start=1):
        echo(f"==> [{index}/{len(selected)}] {stage.name}: {stage.summary}")
        outcome = run_stage(stage, options, echo)
        outcomes.append(outcome)
        verdict = outcome.status.value.upper() if outcome.status is not Status.PASSED else "passed"
        echo(f"<== {outcome.key} {verdict} in {format_duration(outcome.seconds)}")
        if outcome.message:
            echo(f"    {outcome.message}")
        if outcome.status in (Status.FAILED, Status.BLOCKED):
            break
    remaining = [stage for stage in selected if stage.name not in {o.stage for o in outcomes}]
    outcomes += [Outcome(stage.name, stage.name, Status.NOT_RUN, 0.0) for stage in remaining]
    summary = write_summary(
        options.reports, read_outcomes(options.reports, registry), options.target
    )
    echo("")
    echo(f"Pipeline summary (target {options.target}; reports in {summary.parent}):")
    echo(summary_table(outcomes))
    stopped = outcomes[len(outcomes) - len(remaining) - 1]
    if stopped.status is Status.BLOCKED:
        echo(f"Stopped before {stopped.key}: the {options.target} target lacks what it needs.")
        echo(f"To go on: {stopped.message}")
    elif stopped.status is Status.FAILED:
        echo(f"Stopped: {stopped.key} failed: {stopped.message}")
    return _exit_code(outcomes)


def run_stage(stage: Stage, options: Options, echo: Echo = print) -> Outcome:
    """Run one stage's entry function into a fresh report folder and write its reports."""
    ctx = StageContext(stage, options, echo)
    shutil.rmtree(ctx.report_dir, ignore_errors=True)
    ctx.report_dir.mkdir(parents=True)
    started = time.monotonic()
    status, message = Status.PASSED, ""
    try:
        stage.entry(ctx)
    except StageSkipped as skipped:
        status, message = Status.SKIPPED, str(skipped)
    except StageBlocked as blocked:
        status, message = Status.BLOCKED, str(blocked)
    except StageFailed as failed:
        status, message = Status.FAILED, str(failed)
    except Exception as error:  # a bug in a stage must still leave reports
        echo(traceback.format_exc())
        status, message = Status.FAILED, f"internal error in stage {stage.name}: {error!r}"
    if status in (Status.FAILED, Status.BLOCKED) and all(step.ok for step in ctx.steps):
        ctx.steps.append(StepRecord("check", None, message))
    outcome = Outcome(stage.name, stage.key(options), status, time.monotonic() - started, message)
    write_stage_reports(ctx, outcome)
    return outcome


def _clear_reports(options: Options, registry: Sequence[Stage]) -> None:
    """Remove earlier results of every stage so the summary describes this run alone."""
    for stage in registry:
        for folder in options.reports.glob(f"{stage.name}*"):
            if folder.is_dir() and (
                folder.name == stage.name or folder.name.startswith(stage.name + "-")
            ):
                shutil.rmtree(folder)


def _exit_code(outcomes: Sequence[Outcome]) -> int:
    """0 when every stage passed or was skipped, 3 when blocked by the target, 1 on failure."""
    statuses = {outcome.status for outcome in outcomes}
    if Status.FAILED in statuses:
        return EXIT_FAILED
    if Status.BLOCKED in statuses:
        return EXIT_BLOCKED
    return EXIT_OK
