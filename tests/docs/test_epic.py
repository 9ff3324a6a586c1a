"""The epic, traceability and deck rules bite: each flags a faulty fixture, accepts a good one."""

from __future__ import annotations

from tests.docs import deck, epic
from tests.docs import markdown_refs as md

HEADER = "| Task | Definition of done | Delivered by | Status |\n|---|---|---|---|\n"


def _epic(rows: list[tuple[str, str]], summary: str | None = None) -> str:
    lines = [f"| {tid} Part {tid} | it works | [code](../x/) | {status} |" for tid, status in rows]
    counts = [sum(s == status for _, s in rows) for status in md.TASK_STATUSES]
    default = ", ".join(f"{n} {s}" for n, s in zip(counts, md.TASK_STATUSES, strict=True))
    return HEADER + "\n".join(lines) + f"\n\nStatus: {summary or default}.\n"


TRACE_HEADER = "| Task | Delivered in | Proven by | Status |\n|---|---|---|---|"
TEN = [(f"T{n}", "done") for n in range(1, 11)]


def _trace(sections: dict[str, list[tuple[str, str]]]) -> str:
    parts = []
    for tid, rows in sections.items():
        table = [f"| {rid} x | `x/` | `tests/x.py` | {status} |" for rid, status in rows]
        head = f"## {tid} Part {tid}\n\n{TRACE_HEADER}"
        parts.append("\n".join([head, *table]))
    rows_all = [s for rows in sections.values() for _, s in rows]
    counts = ", ".join(f"{rows_all.count(s)} {s}" for s in md.TASK_STATUSES)
    return f"Status: {counts}.\n\n" + "\n\n".join(parts) + "\n"


def test_a_good_epic_passes() -> None:
    assert epic.epic_problems(_epic(TEN)) == []


def test_too_few_tasks_gaps_and_a_wrong_summary_are_flagged() -> None:
    problems = epic.epic_problems(_epic([("T1", "done"), ("T3", "done")], "2 done, 0 x, 0 y"))
    assert "the epic lists 2 tasks, not 10-15" in problems
    assert any(p.startswith("task ids must run") for p in problems)
    assert any(p.startswith("the status summary must read") for p in problems)


def test_a_long_epic_a_task_without_link_and_an_unknown_status_are_flagged() -> None:
    text = _epic([*TEN[:9], ("T10", "finished")]).replace(
        "[code](../x/) | finished", "x | finished"
    )
    problems = epic.epic_problems(text + "A line of prose.\n" * 80)
    assert any("it must fit one page" in p for p in problems)
    assert "T10 links to nothing that delivers it" in problems
    assert any(p.startswith("T10 status 'finished'") for p in problems)


def test_epic_and_traceability_agree_when_statuses_follow_from_rows() -> None:
    rows = [("T1", "in progress"), ("T2", "planned")]
    trace = _trace({"T1": [("T1.1", "done"), ("T1.2", "in progress")], "T2": [("T2.1", "planned")]})
    assert epic.agreement_problems(_epic(rows), trace) == []


def test_a_status_the_rows_do_not_support_is_flagged() -> None:
    trace = _trace({"T1": [("T1.1", "done"), ("T1.2", "planned")]})
    problems = epic.agreement_problems(_epic([("T1", "done")]), trace)
    assert problems == ["the epic says T1 is 'done', its rows say 'in progress'"]


def test_missing_sections_and_misplaced_rows_are_flagged() -> None:
    trace = _trace({"T1": [("T2.1", "done")]})
    problems = epic.agreement_problems(_epic([("T1", "done"), ("T2", "done")]), trace)
    assert any(p.startswith("traceability sections") for p in problems)
    assert any(p.startswith("T2.1 (line") and p.endswith("sits under T1") for p in problems)


def test_planned_rows_may_name_their_future_proof_in_plain_text() -> None:
    table = "| Task | Delivered in | Proven by | Status |\n|---|---|---|---|\n"
    rows = md.tasks(
        table
        + "| T1.1 a | x/ | tests/gitops/ | planned |\n"
        + "| T1.2 b | x/ | tests/gitops/ | done |\n"
        + "| T1.3 c | `x/` | `tests/x.py` | partial |\n"
    )
    problems = {row.task_id: md.task_problems(row) for row in rows}
    assert problems["T1.1"] == []
    assert len(problems["T1.2"]) == 2
    assert problems["T1.3"] == ["status 'partial' is not one of ['done', 'in progress', 'planned']"]


DECK = """---
marp: true
---

# Title

<!-- _class: lead -->
<!-- Say hello to everyone in the room. -->

---

## Second

```text
---
not a slide break
```
"""


def test_slides_notes_and_directives_are_told_apart() -> None:
    slides = deck.slides(DECK)
    assert [s.title for s in slides] == ["Title", "Second"]
    assert slides[0].notes == "Say hello to everyone in the room."
    assert slides[1].notes == ""
    assert "not a slide break" in slides[1].body
    assert deck.words(slides[0].notes) == 7


def test_diagram_edges_are_read_in_order_without_invisible_ones() -> None:
    source = (
        'digraph x {\n  a -> "b-c" [label="x"]; // a -> z\n  b -> q [style=invis];\n  d -> e;\n}\n'
    )
    assert deck.dot_edge_nodes(source) == ["a", "b-c", "d", "e"]
