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


def outline(jenkinsfile: Path) -> list[Event]:
    """Parse `jenkinsfile` to Groovy's AST and return its outline; a syntax error fails."""
    result = run_groovy(HERE / "jenkinsfile_outline.groovy", str(jenkinsfile))
    if result.returncode != 0:
        raise SyntaxError(f"{jenkinsfile} does not parse as Groovy:\n{result.stderr}")
    return [Event(*line.split("\t", 2)) for line in result.stdout.splitlines() if line]


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
