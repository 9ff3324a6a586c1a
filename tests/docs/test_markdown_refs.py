"""The doc checks bite: each rule flags a faulty fixture and accepts a correct one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs import markdown_refs as md

FENCE = "```"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small repository: two environments, a runbook, a test directory."""
    for env in ("dev", "prod"):
        (tmp_path / "iac" / "environments" / env).mkdir(parents=True)
        (tmp_path / "iac" / "environments" / env / "terraform.tfvars").write_text("")
    (tmp_path / "docs" / "runbooks").mkdir(parents=True)
    (tmp_path / "docs" / "runbooks" / "database-down.md").write_text("# Database down\n")
    (tmp_path / "tests" / "api").mkdir(parents=True)
    return tmp_path


def _targets(root: Path, text: str) -> dict[str, bool]:
    doc = root / "docs" / "guide.md"
    return {r.target: bool(md.resolve(root, r)) for r in md.path_references(doc, text)}


def test_existing_and_missing_paths_are_told_apart(tree: Path) -> None:
    text = "See `iac/environments/dev/` and `iac/modules/aks/`, then `make test`."
    assert _targets(tree, text) == {"iac/environments/dev/": True, "iac/modules/aks/": False}


def test_placeholders_braces_and_globs_resolve_against_the_tree(tree: Path) -> None:
    text = (
        "`iac/environments/<env>/terraform.tfvars`, `iac/environments/{dev,prod}/`, "
        "`iac/environments/*/main.tf`"
    )
    assert _targets(tree, text) == {
        "iac/environments/<env>/terraform.tfvars": True,
        "iac/environments/{dev,prod}/": True,
        "iac/environments/*/main.tf": False,
    }


def test_links_and_blob_urls_are_checked_but_fenced_commands_are_not(tree: Path) -> None:
    text = (
        "[runbook](runbooks/database-down.md) [gone](runbooks/gone.md#top) [web](https://x.io)\n"
        f"{FENCE}bash\ncat `iac/not-here/`\n{FENCE}\n"
        "https://github.com/example-org/inventory-platform/blob/main/docs/runbooks/disk-full.md\n"
    )
    assert _targets(tree, text) == {
        "./runbooks/database-down.md": True,
        "./runbooks/gone.md": False,
        "docs/runbooks/disk-full.md": False,
    }


def test_code_spans_that_are_not_repository_paths_are_ignored() -> None:
    for token in ("make test", "/var/lib/postgresql", "postgresql.conf", "https://a/b", "--env"):
        assert not md.looks_like_path(token), token
    assert md.looks_like_path("Jenkinsfile")


def test_stage_references_by_command_and_by_the_word_stage() -> None:
    text = (
        "Run `python -m pipelines policy --iac iac` or `python -m pipelines list`.\n"
        "The stage `lint` runs first; stages `build`, `publish` and `deploy` follow,\n"
        "then stages `smoke` -> `rollbak`. The `tools` step is not a reference.\n"
        f"{FENCE}bash\npython -m pipelines ignored\n{FENCE}\n"
    )
    names = [r.target for r in md.stage_references(Path("doc.md"), text)]
    assert names == ["policy", "lint", "build", "publish", "deploy", "smoke", "rollbak"]


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("tools\nlint\npolicy\n", ["tools", "lint", "policy"]),
        ("1. tools  Build pinned tools\n2. lint   ruff and mypy\n", ["tools", "lint"]),
        ("Stages, in order:\n  tools - pinned tools\n", ["tools"]),
    ],
)
def test_stage_list_output_formats(output: str, expected: list[str]) -> None:
    assert md.parse_stage_list(output) == expected


EPIC = """
| Task | Delivered in | Proven by | Status |
|---|---|---|---|
| T1.1 The API | `application/` | `tests/api/`, stage `app-tests` | done |
| T1.2 Images | `images/` | stage `build` | done |
| T1.3 Smoke | planned: tests/smoke/ | stage `smoke` | planned |
| T1.4 Docs | `docs/` | reviewers | finished |

Not a task table:

| Name | Value |
|---|---|
| T9 | x |
"""


def test_tasks_are_read_from_task_tables_only() -> None:
    found = md.tasks(EPIC)
    assert [t.task_id for t in found] == ["T1.1", "T1.2", "T1.3", "T1.4"]
    assert found[0].cells["status"] == "done"


def test_task_rules_flag_missing_proof_unknown_status_and_untested_done() -> None:
    problems = {t.task_id: md.task_problems(t) for t in md.tasks(EPIC)}
    assert problems["T1.1"] == []
    assert problems["T1.3"] == []
    assert problems["T1.2"] == ["is 'done' but names no test (tests/, benchmarks/) that proves it"]
    assert len(problems["T1.4"]) == 2
    assert "names no test" in problems["T1.4"][0]
    assert "'finished' is not one of" in problems["T1.4"][1]


def test_planned_paths_are_the_plain_text_ones() -> None:
    planned = {t.task_id: md.planned_paths(t) for t in md.tasks(EPIC)}
    assert planned["T1.3"] == ["tests/smoke/"]
    assert planned["T1.1"] == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("", "empty Mermaid block"),
        ("%% only a comment\n", "empty Mermaid block"),
        ("flowchat LR\n  a --> b\n", "unknown Mermaid diagram type 'flowchat'"),
        ("flowchart LR\n  subgraph x\n  a --> b\n", "1 subgraph(s) but 0 end(s)"),
        ("flowchart LR\n  a[API --> b\n", "unbalanced [] in: a[API --> b"),
        (
            "sequenceDiagram\n  A->>B: BEGIN; COMMIT\n",
            "';' ends a statement, use ',' or #59; in: A->>B: BEGIN; COMMIT",
        ),
    ],
)
def test_mermaid_faults_are_flagged(body: str, problem: str) -> None:
    assert md.mermaid_problems(body) == [problem]


def test_a_good_mermaid_block_passes() -> None:
    body = "flowchart LR\n  subgraph aks[AKS]\n    api[API] -->|5432| db[(PostgreSQL)]\n  end\n"
    assert md.mermaid_problems(body) == []
    assert md.mermaid_problems("sequenceDiagram\n  A->>B: hi\n") == []


def test_fenced_blocks_report_their_line() -> None:
    text = f"# t\n\n{FENCE}mermaid\ngraph TD\n  a --> b\n{FENCE}\n"
    assert md.fenced_blocks(text, "mermaid") == [(3, "graph TD\n  a --> b\n")]
