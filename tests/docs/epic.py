"""The epic and its traceability page tell one story: same tasks, same order, statuses that follow.

The epic (docs/user-story.md) is one page: 10-15 tasks `T1`..`Tn` in deployment order, each
with a definition of done, a link and a status. The traceability page has one section
`## Tn Title` per task, whose rows `Tn.m` name what proves each part. A task's status on the
epic is derived from its rows (all done: done; all planned: planned; else in progress), so the
one-page summary cannot claim more than the proofs do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tests.docs import markdown_refs as md

MAX_EPIC_LINES = 70
TASK_COUNT = range(10, 16)
_SECTION = re.compile(r"^## (T\d+) (.+)$", re.MULTILINE)
_LINK = re.compile(r"\[[^\]\n]+\]\([^)\s]+\)")


@dataclass(frozen=True)
class Section:
    """One task's section on the traceability page, with its rows."""

    task_id: str
    title: str
    rows: tuple[md.Task, ...]


def sections(text: str) -> list[Section]:
    """The `## Tn Title` sections of the traceability page and the task rows under each."""
    heads = list(_SECTION.finditer(text))
    found: list[Section] = []
    for index, head in enumerate(heads):
        end = heads[index + 1].start() if index + 1 < len(heads) else len(text)
        offset = text.count("\n", 0, head.start())
        rows = tuple(
            md.Task(t.task_id, t.cells, t.line + offset) for t in md.tasks(text[head.start() : end])
        )
        found.append(Section(head.group(1), head.group(2).strip(), rows))
    return found


def derived_status(rows: Sequence[md.Task]) -> str:
    """The status a task may claim given its rows."""
    statuses = {row.status for row in rows}
    if statuses == {"done"}:
        return "done"
    if statuses == {"planned"}:
        return "planned"
    return "in progress"


def summary_problem(text: str, tasks: Sequence[md.Task]) -> list[str]:
    """The page's `Status: ...` line must count its tasks' statuses."""
    counts = [sum(t.status == s for t in tasks) for s in md.TASK_STATUSES]
    expected = "Status: " + ", ".join(
        f"{n} {s}" for n, s in zip(counts, md.TASK_STATUSES, strict=True)
    )
    return [] if expected in text else [f"the status summary must read '{expected}'"]


def epic_problems(epic: str) -> list[str]:
    """Why the one-page epic breaks its shape: length, task count and ids, links, statuses."""
    problems: list[str] = []
    lines = epic.rstrip("\n").count("\n") + 1
    if lines > MAX_EPIC_LINES:
        problems.append(f"the epic has {lines} lines: it must fit one page ({MAX_EPIC_LINES})")
    tasks = md.tasks(epic)
    if len(tasks) not in TASK_COUNT:
        problems.append(f"the epic lists {len(tasks)} tasks, not {TASK_COUNT.start}-15")
    expected_ids = [f"T{n}" for n in range(1, len(tasks) + 1)]
    if [t.task_id for t in tasks] != expected_ids:
        problems.append(f"task ids must run {expected_ids[:1]}..{expected_ids[-1:]} in order")
    for task in tasks:
        if not task.cells.get("definition of done"):
            problems.append(f"{task.task_id} has no definition of done")
        if not _LINK.search(task.cells.get("delivered by", "")):
            problems.append(f"{task.task_id} links to nothing that delivers it")
        if task.status not in md.TASK_STATUSES:
            problems.append(
                f"{task.task_id} status {task.status!r} is not one of {md.TASK_STATUSES}"
            )
    return problems + summary_problem(epic, tasks)


def agreement_problems(epic: str, traceability: str) -> list[str]:
    """Where the traceability page and the epic disagree on tasks, titles, rows or statuses."""
    tasks = md.tasks(epic)
    found = sections(traceability)
    problems: list[str] = []
    epic_heads = [(t.task_id, t.title) for t in tasks]
    page_heads = [(s.task_id, s.title) for s in found]
    if epic_heads != page_heads:
        problems.append(
            f"traceability sections {page_heads} are not the epic's tasks in order {epic_heads}"
        )
    claimed = {t.task_id: t.status for t in tasks}
    for section in found:
        if not section.rows:
            problems.append(f"section {section.task_id} names nothing that proves it")
        for row in section.rows:
            if row.task_id.split(".", 1)[0] != section.task_id:
                problems.append(f"{row.task_id} (line {row.line}) sits under {section.task_id}")
        status = derived_status(section.rows)
        if section.task_id in claimed and claimed[section.task_id] != status:
            problems.append(
                f"the epic says {section.task_id} is {claimed[section.task_id]!r}, "
                f"its rows say {status!r}"
            )
    rows = [row for section in found for row in section.rows]
    ids = [row.task_id for row in rows]
    problems += [f"task id {i} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    return problems + summary_problem(traceability, rows)
