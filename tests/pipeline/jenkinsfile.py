"""Read the Jenkinsfile with Groovy's real parser (Debian's groovy) into an outline of events."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.tools import REPO_ROOT, require_tool

HERE = Path(__file__).resolve().parent
JENKINSFILE = REPO_ROOT / "Jenkinsfile"
INSTALL_GROOVY = "apt-get install -y groovy (listed in pipelines/bootstrap/debian-packages.txt)"
PIPELINES_CALL = re.compile(r"python -m pipelines ([a-z-]+)")


@dataclass(frozen=True)
class Event:
    """One line of the outline: an opened stage, an sh step or another step, and its stage path."""

    kind: str
    path: str
    detail: str = ""

    @property
    def top(self) -> str:
        """The top-level stage this event belongs to ('' outside every stage)."""
        return self.path.split("/", 1)[0]

    @property
    def pipelines_stage(self) -> str | None:
        """For an sh step running `python -m pipelines STAGE`, that STAGE."""
        found = PIPELINES_CALL.search(self.detail) if self.kind == "sh" else None
        return found.group(1) if found else None


def java_env() -> dict[str, str]:
    """Debian's groovy needs JAVA_HOME; derive it from the `java` on PATH when unset."""
    env = dict(os.environ)
    if not env.get("JAVA_HOME"):
        java = shutil.which("java")
        if java is None:
            raise AssertionError("java not found: apt-get install -y default-jre-headless")
        env["JAVA_HOME"] = str(Path(java).resolve().parents[1])
    return env


def run_groovy(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a Groovy script with Debian's groovy; failures are returned, not raised."""
    groovy = require_tool("groovy", INSTALL_GROOVY)
    return subprocess.run(
        [groovy, str(script), *args],
        capture_output=True,
        text=True,
        env=java_env(),
        timeout=120,
        check=False,
    )


def outlines(*jenkinsfiles: Path) -> dict[Path, list[Event] | str]:
    """Parse each file to Groovy's AST in one JVM: its outline, or the parser's error message."""
    result = run_groovy(HERE / "jenkinsfile_outline.groovy", *map(str, jenkinsfiles))
    assert result.returncode == 0, result.stderr
    return {Path(key): value for key, value in _sections(result.stdout, "file").items()}


def run_scenarios(jenkinsfile: Path, *scenarios: str) -> dict[str, list[Event]]:
    """Execute the Jenkinsfile with mocked steps once per scenario (`NAME=VALUE,...`)."""
    result = run_groovy(HERE / "jenkinsfile_run.groovy", str(jenkinsfile), *scenarios)
    assert result.returncode == 0, result.stderr
    runs = _sections(result.stdout, "scenario")
    assert all(isinstance(events, list) for events in runs.values()), runs
    return {key: events for key, events in runs.items() if isinstance(events, list)}


def _sections(stdout: str, header: str) -> dict[str, list[Event] | str]:
    """Split tab-separated output into sections that start with `header<TAB><TAB>NAME` lines."""
    sections: dict[str, list[Event] | str] = {}
    name = ""
    for line in stdout.splitlines():
        kind, path, detail = [*line.split("\t", 2), "", ""][:3]
        if kind == header:
            name = detail
            sections[name] = []
        elif kind == "error":
            sections[name] = detail
        else:
            events = sections[name]
            assert isinstance(events, list)
            events.append(Event(kind, path, detail))
    return sections


def stage_mismatches(events: list[Event], expected: list[str]) -> list[str]:
    """How the Jenkinsfile's top-level stages differ from `expected` (pipelines list), if at all.

    Each top-level stage must be named after, and call exactly, one pipelines stage, in order.
    """
    problems = []
    tops = [event.path for event in events if event.kind == "stage" and "/" not in event.path]
    if tops != expected:
        problems.append(f"Jenkinsfile stages {tops} != pipelines list {expected}")
    for top in tops:
        called = {event.pipelines_stage for event in events if event.top == top}
        called.discard(None)
        if called != {top}:
            problems.append(f"stage '{top}' calls pipelines stages {sorted(map(str, called))}")
    return problems
