"""The runbooks' read-only commands, extracted so they can run against a deployed release.

A runbook marks a fenced block with the info string `sh read-only` when every command in it
only reads (get, logs, exec of a query or `pgbackrest info`); those blocks, in order, form one
bash script. Its `NS=` and `RELEASE=` lines are the deploy stage's namespace and release; the
smoke suite points them at the release it checks. Anything that could write is refused here,
so a mislabelled block fails a unit test instead of changing a production database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.support.tools import REPO_ROOT

RUNBOOKS = REPO_ROOT / "docs" / "runbooks"
READ_ONLY = "sh read-only"
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
ASSIGNMENT = re.compile(r"^(?P<name>NS|RELEASE)=(?P<value>\S+)[ \t]*$", re.MULTILINE)
# Commands that write, per tool; matched on whole words after the tool's name.
WRITES = {
    "kubectl": r"create|delete|apply|patch|replace|scale|edit|label|annotate|rollout|cordon"
    r"|drain|taint|cp|run|set|debug",
    "pgbackrest": r"backup|check|expire|restore|archive-push|archive-get|stanza-create"
    r"|stanza-upgrade|stanza-delete|start|stop|verify|server",
    "psql": r"insert|update|delete|alter|drop|truncate|create|grant|revoke|vacuum|analyze"
    r"|reindex|cluster|checkpoint|copy|pg_terminate_backend|pg_cancel_backend"
    r"|pg_reload_conf|pg_switch_wal|set_config",
}


class RunbookError(ValueError):
    """A runbook's read-only blocks are not what they claim to be."""


@dataclass(frozen=True)
class Runbook:
    """A runbook with at least one read-only block."""

    path: Path
    blocks: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.path.stem

    def variables(self) -> dict[str, str]:
        """NS and RELEASE as the runbook defines them."""
        found = {m["name"]: m["value"] for b in self.blocks for m in ASSIGNMENT.finditer(b)}
        missing = {"NS", "RELEASE"} - found.keys()
        if missing:
            raise RunbookError(f"{self.path.name}: read-only blocks never set {sorted(missing)}")
        return found

    def script(self, namespace: str, release: str) -> str:
        """One bash script of every read-only block, aimed at `namespace` and `release`."""
        self.variables()
        values = {"NS": namespace, "RELEASE": release}
        body = "\n".join(
            ASSIGNMENT.sub(lambda m: f"{m['name']}={values[m['name']]}", block)
            for block in self.blocks
        )
        return "set -euo pipefail\n" + body


def read_only_blocks(markdown: str) -> list[str]:
    """The bodies of the fenced blocks tagged `sh read-only`, in document order."""
    return [m["body"] for m in FENCE.finditer(markdown) if m["info"].strip() == READ_ONLY]


def logical_lines(block: str) -> list[str]:
    """Lines with backslash continuations joined (a command is checked as a whole)."""
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def writes_in(block: str) -> list[str]:
    """Each command line of `block` that could write, with the tool and verb that make it so."""
    found = []
    for line in logical_lines(block):
        for tool, verbs in WRITES.items():
            pattern = rf"\b{tool}\b[^|;&]*?\s['\"]?(?P<verb>{verbs})\b"
            if tool == "psql":  # SQL words anywhere in the statement text
                pattern = rf"\b{tool}\b.*?\b(?P<verb>{verbs})\b"
            match = re.search(pattern, line, re.IGNORECASE)
            if match:
                found.append(f"{tool} {match['verb']}: {line.strip()}")
    return found


def load(path: Path) -> Runbook | None:
    """The runbook at `path` if it has read-only blocks; refused when one of them writes."""
    blocks = tuple(read_only_blocks(path.read_text(encoding="utf-8")))
    if not blocks:
        return None
    problems = [w for block in blocks for w in writes_in(block)]
    if problems:
        raise RunbookError(f"{path.name}: a read-only block writes: " + "; ".join(problems))
    return Runbook(path, blocks)


def runbooks(directory: Path = RUNBOOKS) -> list[Runbook]:
    """Every runbook in `directory` with read-only commands."""
    loaded = (load(path) for path in sorted(directory.glob("*.md")))
    return [runbook for runbook in loaded if runbook is not None]
