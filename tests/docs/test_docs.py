"""The documentation stays true to the tree: paths, stages, runbooks, tasks, diagrams, decks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs import chart_refs, deck, epic
from tests.docs import markdown_refs as md
from tests.support.tools import REPO_ROOT

DOCS = REPO_ROOT / "docs"
DOCUMENTS = sorted([REPO_ROOT / "README.md", *DOCS.rglob("*.md")])
RUNBOOKS = DOCS / "runbooks"
EPIC = DOCS / "user-story.md"
TRACEABILITY = DOCS / "traceability.md"
DECK = DOCS / "presentation.md"
ADRS = sorted(p for p in (DOCS / "adr").glob("[0-9][0-9][0-9][0-9]-*.md"))


def _doc_id(doc: Path) -> str:
    return str(doc.relative_to(REPO_ROOT))


@pytest.fixture(scope="session")
def pipeline_stages() -> list[str]:
    """The stage list, in order, from the pipeline itself (the single source of truth)."""
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


def test_the_epic_is_one_page_of_tasks_in_deployment_order() -> None:
    problems = epic.epic_problems(EPIC.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


def test_every_traceability_row_names_its_proof_and_a_true_status() -> None:
    rows = md.tasks(TRACEABILITY.read_text(encoding="utf-8"))
    assert rows, "the traceability page lists what proves each task"
    problems = [f"{t.task_id} (line {t.line}) {p}" for t in rows for p in md.task_problems(t)]
    problems += [
        f"{t.task_id} (line {t.line}) names {path} as not built yet, but it exists: "
        "backtick it and update the status"
        for t in rows
        for path in md.planned_paths(t)
        if (REPO_ROOT / path).exists()
    ]
    assert not problems, "\n".join(problems)


def test_the_epic_and_its_traceability_page_agree() -> None:
    problems = epic.agreement_problems(
        EPIC.read_text(encoding="utf-8"), TRACEABILITY.read_text(encoding="utf-8")
    )
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
    assert len(ADRS) >= 9, "the decisions a reader will question each have a record"
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


def test_presentation_is_a_twelve_slide_fifteen_minute_talk() -> None:
    slides = deck.slides(DECK.read_text(encoding="utf-8"))
    assert 12 <= len(slides) <= 14, f"{len(slides)} slides: the talk has 12 (at most 14)"
    untitled = [s.number for s in slides if not s.title]
    assert not untitled, f"slides without a title: {untitled}"
    silent = [s.number for s in slides if deck.words(s.notes) < 40]
    assert not silent, f"slides without speaker notes to say: {silent}"
    minutes = deck.spoken_minutes(slides)
    assert minutes <= deck.TALK_MINUTES, (
        f"the speaker notes take {minutes:.1f} min at {deck.WORDS_PER_MINUTE} words/min"
    )


def test_the_deck_lists_the_epic_tasks_as_the_epic_does() -> None:
    on_epic = [(t.task_id, t.title, t.status) for t in md.tasks(EPIC.read_text(encoding="utf-8"))]
    on_deck = [(t.task_id, t.title, t.status) for t in md.tasks(DECK.read_text(encoding="utf-8"))]
    assert on_deck == on_epic, "the deck's task slide must show the epic's tasks and statuses"


def test_the_demo_slide_shows_the_recorded_output() -> None:
    recorded = (DOCS / "demo" / "recorded-output.txt").read_text(encoding="utf-8").splitlines()
    output = [line for line in recorded if line and not line.startswith("#")]
    demo = [s for s in deck.slides(DECK.read_text(encoding="utf-8")) if "docs/demo/" in s.body]
    assert len(demo) == 1, "one slide runs the demo script"
    assert output, "the recorded demo output is empty"
    missing = [line for line in output if line not in demo[0].body.splitlines()]
    assert not missing, "the demo slide does not show the recorded output:\n" + "\n".join(missing)


def test_the_pipeline_diagram_shows_every_stage_in_order(pipeline_stages: list[str]) -> None:
    source = (DOCS / "diagrams" / "pipeline.dot").read_text(encoding="utf-8")
    drawn = deck.dot_edge_nodes(source)
    shown = list(dict.fromkeys(n for n in drawn if n in pipeline_stages))
    assert shown == pipeline_stages, f"docs/diagrams/pipeline.dot draws {shown}"
