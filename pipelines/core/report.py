"""Per-stage reports (JUnit XML, Markdown, result.json) and the run summary (console + Markdown)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.clock import format_duration
from pipelines.core.junit import Case, write_junit
from pipelines.core.stage import Stage, StageContext, Status, StepRecord

RESULT_FILE = "result.json"


@dataclass(frozen=True)
class Outcome:
    """How one stage ended in this run (or an earlier one, when read back from result.json)."""

    stage: str
    key: str
    status: Status
    seconds: float
    message: str = ""


def write_stage_reports(ctx: StageContext, outcome: Outcome) -> None:
    """Write junit.xml, report.md and result.json into the stage's report folder."""
    folder = ctx.report_dir
    folder.mkdir(parents=True, exist_ok=True)
    write_junit(folder / "junit.xml", outcome.key, _cases(ctx.steps, outcome))
    (folder / "report.md").write_text(_stage_markdown(ctx, outcome), encoding="utf-8")
    result = {
        "stage": outcome.stage,
        "key": outcome.key,
        "status": outcome.status.value,
        "seconds": round(outcome.seconds, 3),
        "message": outcome.message,
    }
    (folder / RESULT_FILE).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def _cases(steps: Sequence[StepRecord], outcome: Outcome) -> list[Case]:
    """Turn recorded steps into JUnit cases; a skipped stage is one skipped case."""
    if outcome.status is Status.SKIPPED:
        return [Case(outcome.stage, 0.0, skipped=outcome.message)]
    cases = []
    for step in steps:
        seconds = step.result.elapsed if step.result else 0.0
        output = "\n".join(step.result.tail) if step.result else step.message
        failure = None if step.ok else (step.message or f"{step.name} failed")
        cases.append(Case(step.name, seconds, failure=failure, output=output))
    if not cases:
        failure = outcome.message or None if outcome.status is not Status.PASSED else None
        cases.append(Case(outcome.stage, outcome.seconds, failure=failure))
    return cases


def _stage_markdown(ctx: StageContext, outcome: Outcome) -> str:
    """A short human report: verdict, steps table, notes, and the failing step's output."""
    lines = [
        f"# Stage `{outcome.key}`: {outcome.status.value}",
        "",
        f"{ctx.stage.summary}. Target `{ctx.options.target}`"
        + (f", environment `{ctx.options.env}`" if ctx.options.env else "")
        + f". Elapsed {format_duration(outcome.seconds)}.",
        "",
    ]
    if outcome.message:
        lines += [f"**{outcome.message}**", ""]
    if ctx.steps:
        lines += ["| Step | Result | Time | Command | Log |", "|---|---|---|---|---|"]
        for step in ctx.steps:
            if step.result is None:
                lines.append(f"| {step.name} | failed | - | - | - |")
                continue
            verdict = "passed" if step.ok else "failed"
            command = " ".join(step.result.argv).replace("|", "\\|")
            log = os.path.relpath(step.result.log_path, ctx.report_dir)
            lines.append(
                f"| {step.name} | {verdict} | {format_duration(step.result.elapsed)} "
                f"| `{command}` | [{log}]({log}) |"
            )
        lines.append("")
    if ctx.notes:
        lines += ["## Notes", "", *[f"- {note}" for note in ctx.notes], ""]
    for step in ctx.steps:
        if step.result is not None and not step.ok:
            lines += [f"## Output of `{step.name}` (last lines)", "", "```text"]
            lines += [*step.result.tail, "```", ""]
    return "\n".join(lines)


def read_outcomes(reports: Path, stages: Sequence[Stage]) -> list[Outcome]:
    """Every stage's latest result.json under `reports/`, in pipeline order; absent = not run."""
    recorded: dict[str, list[Outcome]] = {}
    for path in sorted(reports.glob(f"*/{RESULT_FILE}")):
        data = json.loads(path.read_text(encoding="utf-8"))
        outcome = Outcome(
            data["stage"],
            data["key"],
            Status(data["status"]),
            float(data["seconds"]),
            data.get("message", ""),
        )
        recorded.setdefault(outcome.stage, []).append(outcome)
    outcomes: list[Outcome] = []
    for stage in stages:
        outcomes += recorded.get(stage.name) or [
            Outcome(stage.name, stage.name, Status.NOT_RUN, 0.0)
        ]
    return outcomes


def summary_table(outcomes: Sequence[Outcome]) -> str:
    """A fixed-width table for the console: stage, result, time, and why it did not pass."""
    width = max([len(outcome.key) for outcome in outcomes] + [5])
    rows = [f"  {'stage':<{width}}  {'result':<8}  {'time':>7}  detail"]
    for outcome in outcomes:
        time = format_duration(outcome.seconds) if outcome.status is not Status.NOT_RUN else "-"
        detail = outcome.message if outcome.status is not Status.PASSED else ""
        rows.append(
            f"  {outcome.key:<{width}}  {outcome.status.value:<8}  {time:>7}  {detail}".rstrip()
        )
    total = sum(outcome.seconds for outcome in outcomes)
    rows.append(f"  {'total':<{width}}  {'':<8}  {format_duration(total):>7}")
    return "\n".join(rows)


def write_summary(reports: Path, outcomes: Sequence[Outcome], target: str) -> Path:
    """reports/summary.md: one row per stage with links to each stage's report."""
    lines = [
        f"# Pipeline summary (target `{target}`)",
        "",
        "| Stage | Result | Time | Detail | Report |",
        "|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        time = format_duration(outcome.seconds) if outcome.status is not Status.NOT_RUN else "-"
        detail = outcome.message.replace("|", "\\|") if outcome.status is not Status.PASSED else ""
        link = f"[report]({outcome.key}/report.md)" if outcome.status is not Status.NOT_RUN else "-"
        lines.append(f"| {outcome.key} | {outcome.status.value} | {time} | {detail} | {link} |")
    total = sum(outcome.seconds for outcome in outcomes)
    lines += ["", f"Total stage time: {format_duration(total)}.", ""]
    reports.mkdir(parents=True, exist_ok=True)
    path = reports / "summary.md"
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text("\n".join(lines), encoding="utf-8")
    partial.replace(path)
    return path
