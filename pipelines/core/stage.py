"""What a stage is and what it gets to work with: options, a step runner, and its report folder."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn

from pipelines.core.clock import format_duration
from pipelines.core.environments import azure_environments
from pipelines.core.runner import CommandResult, Echo, run_command
from tools.toolchain import tool_env

TARGETS = ("local", "azure")
"""Where the deploy stages deploy: the local cluster (with the `local` values) or AKS, in one of
the Azure environments that pipelines.core.environments derives from iac/environments."""


class Status(Enum):
    """How a stage ended, from best to worst."""

    PASSED = "passed"
    SKIPPED = "skipped"
    FAILED = "failed"
    BLOCKED = "blocked"
    NOT_RUN = "not run"


class StageFailed(Exception):
    """The stage cannot pass; the message says why and, where possible, what to do."""


class StageBlocked(StageFailed):
    """The target lacks something the stage needs (no cluster, no registry): go no further."""


class StageSkipped(Exception):
    """The stage does not apply to this target (say, Azure infrastructure on the local target)."""


@dataclass(frozen=True)
class Options:
    """The command line, resolved: where the repository and reports are, which target and env."""

    root: Path
    reports: Path
    target: str = "local"
    env: str | None = None
    check_only: bool = False


@dataclass(frozen=True)
class Stage:
    """One pipeline stage: a name, a one-line purpose and a single entry function."""

    name: str
    summary: str
    entry: Callable[[StageContext], None]
    per_env: bool = False
    """When true and --env is given, the reports go to `<name>-<env>/` (parallel runs per env)."""

    def key(self, options: Options) -> str:
        """The folder name of this stage's reports for these options."""
        if self.per_env and options.env:
            return f"{self.name}-{options.env}"
        return self.name


@dataclass(frozen=True)
class StepRecord:
    """One step of a stage: a command that ran, or a check that failed before any could run."""

    name: str
    result: CommandResult | None
    message: str = ""

    @property
    def ok(self) -> bool:
        """A step passes when its command passed; a check without a command never passes."""
        return self.result is not None and self.result.ok


@dataclass
class StageContext:
    """Everything a stage entry function may use; it records the steps for the reports."""

    stage: Stage
    options: Options
    echo: Echo = print
    steps: list[StepRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def root(self) -> Path:
        """The repository root every command runs in."""
        return self.options.root

    @property
    def report_dir(self) -> Path:
        """`reports/<stage>/`: JUnit, Markdown, logs and artifacts of this stage."""
        return self.options.reports / self.stage.key(self.options)

    @property
    def python(self) -> str:
        """The interpreter running the pipeline: the project virtualenv's."""
        return sys.executable

    @property
    def deploy_env(self) -> str:
        """The environment whose values and registry apply: `local` on the local target."""
        if self.options.target == "local":
            return self.options.env or "local"
        if self.options.env is None:
            raise StageFailed(
                f"--target azure needs --env ({'|'.join(azure_environments())}) for stage "
                f"'{self.stage.name}'"
            )
        return self.options.env

    def tool_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment for tool subprocesses: the toolchain's PATH and Terraform config,
        with this virtualenv's bin first so `python`, `pytest` and `ruff` are the project's."""
        env = tool_env()
        venv_bin = str(Path(sys.executable).parent)
        env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "")])
        env.update(extra or {})
        return env

    def require_path(self, relative: str, provided_by: str) -> Path:
        """Fail the stage unless `relative` exists in the repository, naming who provides it."""
        path = self.root / relative
        if not path.exists():
            self.fail(f"{relative} is missing: {provided_by}")
        return path

    def fail(self, message: str) -> NoReturn:
        """Stop the stage with `message`, recording it as a failed check."""
        self.record_failure(message)
        raise StageFailed(message)

    def record_failure(self, message: str) -> None:
        """Record a failed check without stopping, for stages that report every problem."""
        self.steps.append(StepRecord("check", None, message))

    def block(self, message: str) -> NoReturn:
        """Stop the pipeline here: the target cannot support this stage yet."""
        self.steps.append(StepRecord("check", None, message))
        raise StageBlocked(message)

    def require_tool(self, binary: str, env: Mapping[str, str], install: str) -> str:
        """The absolute path of `binary` on the subprocess PATH, or fail with how to get it."""
        found = shutil.which(binary, path=env.get("PATH"))
        if found is None:
            self.fail(f"{binary} not found on PATH: {install}")
        return found

    def raise_for_failures(self) -> None:
        """After steps run with check=False: fail once, naming every step that failed."""
        failed = [step for step in self.steps if not step.ok]
        if failed:
            names = "; ".join(step.message if step.result is None else step.name for step in failed)
            raise StageFailed(f"{len(failed)} of {len(self.steps)} steps failed: {names}")

    def shown(self, path: Path) -> str:
        """A path as messages show it: relative to the repository when inside it."""
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)

    def note(self, text: str) -> None:
        """Add a line to the console and to the stage's Markdown report."""
        self.notes.append(text)
        self.echo(f"    {text}")

    def run(
        self,
        name: str,
        argv: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        ok_codes: tuple[int, ...] = (0,),
        remedy: Callable[[Sequence[str]], str | None] | None = None,
    ) -> CommandResult:
        """Run one step; with `check`, a failing command fails the stage with its output tail.

        `remedy` reads a failed step's output tail and may say what to do; the step's own
        failure message then ends with it, so the report shows one failed step that says both
        what went wrong and what to do about it."""
        self.echo(f"    $ {' '.join(argv)}")
        repeat = sum(1 for step in self.steps if step.name == name)
        log = self.report_dir / f"{_slug(name)}{f'-{repeat + 1}' if repeat else ''}.log"
        result = run_command(
            argv,
            cwd=self.root,
            log_path=log,
            timeout=timeout,
            env=env,
            echo=self.echo,
            label=name,
            ok_codes=ok_codes,
        )
        failed = not result.ok
        verdict = "timed out" if result.timed_out else ("ok" if not failed else "FAILED")
        self.echo(f"    {verdict}: {name} ({format_duration(result.elapsed)})")
        message = _failure_message(name, result, self.shown(result.log_path)) if failed else ""
        hint = remedy(result.tail) if failed and remedy is not None else None
        if hint:
            message = f"{message}: {hint}"
        self.steps.append(StepRecord(name, result, message))
        if failed:
            for line in result.tail[-15:]:
                self.echo(f"      | {line}")
        if failed and check:
            raise StageFailed(message)
        return result

    def write_json(self, name: str, data: Any) -> Path:
        """Save an artifact later stages read (image references, release revisions)."""
        path = self.report_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path

    def read_json(self, stage: str, name: str, produced_by: str) -> Any:
        """Read an artifact another stage wrote, failing precisely when it is absent."""
        path = self.options.reports / stage / name
        if not path.is_file():
            self.fail(f"{self.shown(path)} is missing: run {produced_by} first")
        return json.loads(path.read_text(encoding="utf-8"))


def _failure_message(name: str, result: CommandResult, log: str) -> str:
    """One line saying which step failed and how, plus its verdict line and the full log path."""
    if result.timed_out:
        how = f"timed out after {format_duration(result.elapsed)}"
    else:
        how = f"exited {result.returncode}"
    last = f": {result.last_line}" if result.last_line else ""
    return f"{name} {how}{last} (full log: {log})"


def _slug(name: str) -> str:
    """A file-name-safe version of a step name."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip("-") or "step"
