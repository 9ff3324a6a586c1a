"""Extract the machine-checkable references from the project's Markdown documents.

The docs follow a few writing conventions so that a test can keep them true:

- A repository path is written as an inline code span whose first segment is a top-level
  entry of the repository (`iac/modules/aks/`, `Jenkinsfile`). `<name>` stands for any one
  path segment, `*` is a glob and `{a,b}` lists alternatives.
- A pipeline stage is written as `python -m pipelines STAGE`, or as the word "stage" or
  "stages" followed by backticked names (stage `lint`; stages `build`, `publish` and `deploy`).
- Relative Markdown links and images, and links to the project's GitHub blob URLs, point at
  repository files.
- Tasks are table rows whose first cell starts with a task id: `T2` on the epic, `T2.3` for
  one of its parts on the traceability page.

Fenced code blocks are shell sessions and diagrams, not references, so only Mermaid blocks
are read from them (and GitHub blob URLs, which runbook links use).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

TOP_LEVEL = frozenset(
    {
        "application",
        "iac",
        "helm-charts",
        "pipelines",
        "tests",
        "policies",
        "docs",
        "images",
        "benchmarks",
        "Jenkinsfile",
        "README.md",
        "Makefile",
        "pyproject.toml",
        ".ci",
        ".gitignore",
    }
)
BLOB_URL = re.compile(
    r"https://github\.com/example-org/inventory-platform/blob/main/([^\s)\"'`>]+)"
)
MERMAID_TYPES = frozenset(
    {
        "flowchart",
        "graph",
        "sequenceDiagram",
        "classDiagram",
        "stateDiagram",
        "stateDiagram-v2",
        "erDiagram",
        "journey",
        "gantt",
        "pie",
        "gitGraph",
        "mindmap",
        "timeline",
        "quadrantChart",
        "requirementDiagram",
        "C4Context",
        "C4Container",
        "C4Component",
        "C4Deployment",
        "sankey-beta",
        "xychart-beta",
        "block-beta",
        "architecture-beta",
    }
)
TASK_STATUSES = ("done", "in progress", "planned")

_FENCE = re.compile(r"^(```|~~~)[ \t]*([\w+-]*)[^\n]*\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_PIPELINES_CMD = re.compile(r"^(?:\.venv/bin/)?python3? -m pipelines ([a-z][a-z0-9-]*)")
_STAGE_WORDS = re.compile(
    r"\bstages?\s+((?:`[a-z][a-z0-9-]*`(?:\s*(?:,|and|or|then|->|→|/)\s*)*)+)", re.IGNORECASE
)
_TASK_ID = re.compile(r"^\*{0,2}(T\d+(?:\.\d+)?)\b")
_PLAIN_PATH = re.compile(r"(?<![`\w/.-])((?:[\w.-]+/)+[\w.-]*)")
_PIPELINES_VERBS = frozenset({"list", "all"})


@dataclass(frozen=True)
class Reference:
    """One reference found in a document, with the line it is on for error messages."""

    doc: Path
    line: int
    target: str

    def where(self, root: Path) -> str:
        """Location as `path:line`, relative to the repository root."""
        return f"{self.doc.relative_to(root)}:{self.line}"


@dataclass(frozen=True)
class Task:
    """A task row of the epic: its id, its cells by column name, and where it is."""

    task_id: str
    cells: dict[str, str]
    line: int

    @property
    def title(self) -> str:
        """The first cell without its id: what the task is."""
        first = next(iter(self.cells.values()), "").strip("* ")
        return first.removeprefix(self.task_id).strip("* ")

    @property
    def status(self) -> str:
        """The status cell, without emphasis, lower case."""
        return self.cells.get("status", "").strip("*_ ").lower()


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def strip_fences(text: str) -> str:
    """Blank out fenced code blocks, keeping line numbers, so prose scanning skips them."""
    return _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def fenced_blocks(text: str, language: str) -> list[tuple[int, str]]:
    """Bodies of fenced blocks in `language`, with the line their fence opens on."""
    return [
        (_line_of(text, m.start()), m.group(3))
        for m in _FENCE.finditer(text)
        if m.group(2) == language
    ]


def looks_like_path(token: str) -> bool:
    """True when an inline code span names something in the repository tree."""
    if " " in token or "://" in token or token.startswith(("/", "-", "~")):
        return False
    first = token.split("/", 1)[0]
    return first in TOP_LEVEL


def path_references(doc: Path, text: str) -> list[Reference]:
    """Every repository path a document names: code spans, relative links, blob URLs."""
    refs: list[Reference] = []
    prose = strip_fences(text)
    for match in _CODE_SPAN.finditer(prose):
        token = match.group(1).strip().rstrip(".,;:")
        if looks_like_path(token):
            refs.append(Reference(doc, _line_of(prose, match.start()), token))
    for match in _LINK.finditer(prose):
        target = match.group(1).split("#", 1)[0]
        if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue
        refs.append(Reference(doc, _line_of(prose, match.start()), f"./{target}"))
    for match in BLOB_URL.finditer(text):
        refs.append(Reference(doc, _line_of(text, match.start()), match.group(1).split("#")[0]))
    return refs


def _expand_braces(pattern: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", pattern)
    if match is None:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [out for alt in match.group(1).split(",") for out in _expand_braces(head + alt + tail)]


def resolve(root: Path, ref: Reference) -> list[Path]:
    """Files or directories a reference points at (empty when nothing matches)."""
    target = ref.target
    base = ref.doc.parent if target.startswith("./") else root
    found: list[Path] = []
    for variant in _expand_braces(re.sub(r"<[^<>/]+>", "*", target)):
        relative = variant.removeprefix("./").rstrip("/") or "."
        if any(ch in relative for ch in "*?["):
            found.extend(base.glob(relative))
        else:
            candidate = base / PurePosixPath(relative)
            if candidate.exists():
                found.append(candidate)
    return found


def stage_references(doc: Path, text: str) -> list[Reference]:
    """Every pipeline stage a document names, by the two conventions above."""
    refs: list[Reference] = []
    prose = strip_fences(text)
    for match in _CODE_SPAN.finditer(prose):
        command = _PIPELINES_CMD.match(match.group(1).strip())
        if command and command.group(1) not in _PIPELINES_VERBS:
            refs.append(Reference(doc, _line_of(prose, match.start()), command.group(1)))
    for match in _STAGE_WORDS.finditer(prose):
        line = _line_of(prose, match.start())
        refs.extend(Reference(doc, line, name) for name in re.findall(r"`([^`]+)`", match.group(1)))
    return refs


def parse_stage_list(output: str) -> list[str]:
    """Stage names from `python -m pipelines list`: the first word of each line that names one."""
    stages: list[str] = []
    for raw in output.splitlines():
        line = re.sub(r"^\s*\d+[.)]?\s+", "", raw).strip()
        match = re.match(r"^([a-z][a-z0-9-]*)(?:\s|$)", line)
        if match:
            stages.append(match.group(1))
    return stages


def _split_row(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def tasks(text: str) -> list[Task]:
    """Task rows of every Markdown table whose header has a `Task` column."""
    found: list[Task] = []
    header: list[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.lstrip().startswith("|"):
            header = None
            continue
        cells = _split_row(line)
        if header is None:
            header = [cell.lower() for cell in cells]
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        task_id = _TASK_ID.match(cells[0]) if "task" in header else None
        if task_id:
            found.append(Task(task_id.group(1), dict(zip(header, cells, strict=False)), number))
    return found


def task_problems(task: Task) -> list[str]:
    """Why a traceability row breaks the rules: proof named, known status, done means tested.

    Work not built yet names its future proof as plain text (tests/... not in backticks).
    """
    problems: list[str] = []
    proof = task.cells.get("proven by", "")
    tests = [t for t in re.findall(r"`([^`]+)`", proof) if t.startswith(("tests/", "benchmarks/"))]
    stages = re.findall(r"\bstages?\s+`([^`]+)`", proof, flags=re.IGNORECASE)
    future = [p for p in _PLAIN_PATH.findall(_CODE_SPAN.sub(" ", proof)) if p.startswith("tests/")]
    if not tests and not stages and not (future and task.status != "done"):
        problems.append("names no test (`tests/...`, `benchmarks/...`) or stage in 'Proven by'")
    if task.status not in TASK_STATUSES:
        problems.append(f"status {task.status!r} is not one of {list(TASK_STATUSES)}")
    if task.status == "done" and not tests:
        problems.append("is 'done' but names no test (tests/, benchmarks/) that proves it")
    return problems


def planned_paths(task: Task) -> list[str]:
    """Plain-text (not yet existing) paths a planned task names, to catch stale statuses."""
    row = " ".join(task.cells.values())
    row = _CODE_SPAN.sub(" ", row)
    return [p for p in _PLAIN_PATH.findall(row) if p.split("/", 1)[0] in TOP_LEVEL]


def mermaid_problems(body: str) -> list[str]:
    """Structural faults of one Mermaid block: empty, unknown type, unbalanced subgraphs."""
    stripped = (ln.strip() for ln in body.splitlines())
    lines = [ln for ln in stripped if ln and not ln.startswith("%%")]
    if not lines:
        return ["empty Mermaid block"]
    kind = lines[0].split()[0]
    if kind not in MERMAID_TYPES:
        return [f"unknown Mermaid diagram type {kind!r}"]
    problems: list[str] = []
    if kind == "sequenceDiagram":
        problems += [f"';' ends a statement, use ',' or #59; in: {ln}" for ln in lines if ";" in ln]
    if kind in {"flowchart", "graph"}:
        opened = sum(1 for ln in lines if ln.split()[0] == "subgraph")
        closed = sum(1 for ln in lines if ln == "end")
        if opened != closed:
            problems.append(f"{opened} subgraph(s) but {closed} end(s)")
        for ln in lines[1:]:
            for left, right in ("[]", "()", "{}"):
                if ln.count(left) != ln.count(right):
                    problems.append(f"unbalanced {left}{right} in: {ln}")
    return problems
