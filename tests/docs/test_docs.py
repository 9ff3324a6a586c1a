"""The documentation stays true to the tree: paths, stages, runbooks, tasks, diagrams, decks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs import chart_refs
from tests.docs import markdown_refs as md
from tests.support.tools import REPO_ROOT

DOCS = REPO_ROOT / "docs"
DOCUMENTS = sorted([REPO_ROOT / "README.md", *DOCS.rglob("*.md")])
RUNBOOKS = DOCS / "runbooks"
ADRS = sorted(p for p in (DOCS / "adr").glob("[0-9][0-9][0-9][0-9]-*.md"))


def _doc_id(doc: Path) -> str:
    return str(doc.relative_to(REPO_ROOT))


@pytest.fixture(scope="session")
def pipeline_stages() -> list[str]:
    """The stage list, in order, from the pipeline itself (the single source of truth)."""
    if not (REPO_ROOT / "pipelines" / "__main__.py").is_file():
        pytest.fail(
            "pipelines/__main__.py does not exist yet, so `python -m pipelines list` cannot "
            "name the stages the docs refer to (the pipeline orchestrator, issue 7)",
            pytrace=False,
        )
    run = subprocess.run(
        [sys.executable, "-m", "pipelines", "list"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    stages = md.parse_stage_list(run.stdout)
    if run.returncode != 0 or not stages:
        pytest.fail(
            f"`python -m pipelines list` exited {run.returncode} with no stage list:\n"
            f"{run.stdout}{run.stderr}",
            pytrace=False,
        )
    return stages


def test_readme_opens_with_title_and_the_two_commands() -> None:
    lines = (REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# "), "README.md must open with its title"
    assert lines[2] == "```bash", "the title is followed by the commands' code block"
    block = lines[3 : lines.index("```", 3)]
    commands = [line.split("#", 1)[0].strip() for line in block]
    assert commands == ["make pipeline", "make test"]


@pytest.mark.parametrize("doc", DOCUMENTS, ids=_doc_id)
def test_every_named_path_exists(doc: Path) -> None:
    refs = md.path_references(doc, doc.read_text(encoding="utf-8"))
    missing = [f"{r.where(REPO_ROOT)}: {r.target}" for r in refs if not md.resolve(REPO_ROOT, r)]
    assert not missing, "paths named in the docs that do not exist:\n" + "\n".join(missing)


def test_every_named_stage_exists(pipeline_stages: list[str]) -> None:
    unknown = [
        f"{r.where(REPO_ROOT)}: {r.target}"
        for doc in DOCUMENTS
        for r in md.stage_references(doc, doc.read_text(encoding="utf-8"))
        if r.target not in pipeline_stages
    ]
    assert not unknown, (
        f"stages named in the docs but not in `python -m pipelines list` {pipeline_stages}:\n"
        + "\n".join(unknown)
    )


def test_architecture_describes_every_stage_in_order(pipeline_stages: list[str]) -> None:
    doc = DOCS / "architecture.md"
    named = [r.target for r in md.stage_references(doc, doc.read_text(encoding="utf-8"))]
    missing = [stage for stage in pipeline_stages if stage not in named]
    assert not missing, f"docs/architecture.md does not describe the stage(s) {missing}"
    first_mentions = list(dict.fromkeys(s for s in named if s in pipeline_stages))
    assert first_mentions == pipeline_stages, "the pipeline section lists the stages in run order"


def test_every_runbook_url_points_at_an_existing_runbook() -> None:
    links = chart_refs.runbook_links(REPO_ROOT / "helm-charts", REPO_ROOT)
    assert links, "no runbook_url found under helm-charts/: every alert must carry one"
    broken: list[str] = []
    for link in links:
        match = md.BLOB_URL.fullmatch(link.url)
        if match is None:
            broken.append(f"{link.where}: not a link to a file of this repository: {link.url}")
        elif not match.group(1).startswith("docs/runbooks/"):
            broken.append(f"{link.where}: points outside docs/runbooks/: {match.group(1)}")
        elif not (REPO_ROOT / match.group(1)).is_file():
            broken.append(f"{link.where}: {match.group(1)} does not exist")
    assert not broken, "alerts whose runbook is missing:\n" + "\n".join(broken)


def test_every_epic_task_names_its_proof_and_a_true_status() -> None:
    text = (DOCS / "user-story.md").read_text(encoding="utf-8")
    tasks = md.tasks(text)
    assert len(tasks) >= 10, "the epic is split into tasks (tables with a Task column)"
    problems = [f"{t.task_id} (line {t.line}) {p}" for t in tasks for p in md.task_problems(t)]
    problems += [
        f"{t.task_id} (line {t.line}) names {path} as not built yet, but it exists: "
        "backtick it and update the status"
        for t in tasks
        for path in md.planned_paths(t)
        if (REPO_ROOT / path).exists()
    ]
    summary = re.search(r"Status: (\d+) done, (\d+) partial, (\d+) planned", text)
    counted = [
        sum(t.cells.get("status") == s for t in tasks) for s in ("done", "partial", "planned")
    ]
    if summary is None or [int(n) for n in summary.groups()] != counted:
        problems.append(
            f"the status summary must read 'Status: {counted[0]} done, "
            f"{counted[1]} partial, {counted[2]} planned'"
        )
    ids = [t.task_id for t in tasks]
    problems += [f"task id {i} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("doc", DOCUMENTS, ids=_doc_id)
def test_mermaid_blocks_are_well_formed(doc: Path) -> None:
    blocks = md.fenced_blocks(doc.read_text(encoding="utf-8"), "mermaid")
    problems = [f"line {line}: {p}" for line, body in blocks for p in md.mermaid_problems(body)]
    assert not problems, "\n".join(problems)


def test_architecture_has_its_diagrams() -> None:
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    assert len(md.fenced_blocks(text, "mermaid")) >= 6


def test_every_adr_has_status_context_decision_consequences_and_is_indexed() -> None:
    assert len(ADRS) >= 9, "the decisions a reviewer will question each have a record"
    index = (DOCS / "adr" / "README.md").read_text(encoding="utf-8")
    problems: list[str] = []
    for adr in ADRS:
        text = adr.read_text(encoding="utf-8")
        headings = set(re.findall(r"^## (\w+)", text, flags=re.MULTILINE))
        lacking = {"Status", "Context", "Decision", "Consequences"} - headings
        if lacking:
            problems.append(f"{adr.name} lacks section(s) {sorted(lacking)}")
        if f"({adr.name})" not in index:
            problems.append(f"{adr.name} is not linked from docs/adr/README.md")
    assert not problems, "\n".join(problems)


def test_presentation_is_a_fifteen_minute_deck() -> None:
    text = (DOCS / "presentation.md").read_text(encoding="utf-8")
    body = re.sub(r"\A---\n.*?\n---\n", "", text, count=1, flags=re.DOTALL)
    slides = [s for s in re.split(r"^---$", md.strip_fences(body), flags=re.MULTILINE) if s.strip()]
    assert 12 <= len(slides) <= 22, f"{len(slides)} slides do not fit a 15-minute talk"
    untitled = [i for i, s in enumerate(slides, 1) if not re.search(r"^#{1,2} ", s, re.MULTILINE)]
    assert not untitled, f"slides without a title: {untitled}"
