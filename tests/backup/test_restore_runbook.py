"""The restore-from-backup runbook keeps the old volume until the restored database is verified.

The data disks' StorageClass deletes a disk with its claim, so the runbook must make the volume
`Retain` before it deletes the claim, and may free the old volume only after the verifying
drill. The checks read the runbook's own commands; fixtures with the steps in a bad order show
that each rule can fail.
"""

from __future__ import annotations

import re

import pytest

from tests.support.tools import REPO_ROOT

RUNBOOK = REPO_ROOT / "docs" / "runbooks" / "postgres-restore-from-backup.md"
DR_DOC = REPO_ROOT / "docs" / "disaster-recovery.md"
RETAIN = re.compile(r"kubectl patch pv \S+ .*persistentVolumeReclaimPolicy\W+Retain")
DELETE_CLAIM = re.compile(r"kubectl .*delete pvc\b")
RESTORE = re.compile(r"RESTORE_FROM_BACKUP=")
VERIFY = re.compile(r"create job --from=cronjob/\S+-restore-drill verify-")
DELETE_VOLUME = re.compile(r"kubectl delete pv\b|az disk delete")


def commands(markdown: str) -> list[str]:
    """The command lines of the fenced shell blocks, comments dropped."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", markdown, re.DOTALL):
        for line in block.splitlines():
            command = line.split(" #", 1)[0].strip()
            if command and not command.startswith("#"):
                lines.append(command)
    return lines


def order_problems(markdown: str) -> list[str]:
    """Every way the runbook's command order could lose the old volume (empty = ok)."""
    steps = commands(markdown)

    def first(pattern: re.Pattern[str]) -> int | None:
        return next((i for i, line in enumerate(steps) if pattern.search(line)), None)

    retain, delete_claim = first(RETAIN), first(DELETE_CLAIM)
    restore, verify, delete_volume = first(RESTORE), first(VERIFY), first(DELETE_VOLUME)
    problems = []
    if delete_claim is not None and (retain is None or retain > delete_claim):
        problems.append("the claim is deleted before its volume is set to Retain")
    if restore is not None and (verify is None or verify < restore):
        problems.append("no verifying drill after the restore")
    if delete_volume is not None and (verify is None or delete_volume < verify):
        problems.append("the old volume is deleted before the restore is verified")
    return problems


def test_runbook_keeps_the_old_volume_until_the_restore_is_verified() -> None:
    steps = commands(RUNBOOK.read_text())
    assert any(RESTORE.search(line) for line in steps), "the runbook restores nothing"
    assert any(DELETE_VOLUME.search(line) for line in steps), "the old volume is never freed"
    assert order_problems(RUNBOOK.read_text()) == []


def test_disaster_recovery_page_deletes_no_claim_itself() -> None:
    """The overview points at the runbook instead of repeating (and drifting from) its steps."""
    text = DR_DOC.read_text()
    assert "runbooks/postgres-restore-from-backup.md" in text
    assert order_problems(text) == []


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        (
            "kubectl -n inventory delete pvc data-db-0\n"
            "kubectl set env statefulset/db RESTORE_FROM_BACKUP=latest\n",
            "deleted before its volume is set to Retain",
        ),
        (
            'kubectl patch pv pv1 -p \'{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}\'\n'
            "kubectl -n inventory delete pvc data-db-0\n"
            "kubectl set env statefulset/db RESTORE_FROM_BACKUP=latest\n"
            "kubectl delete pv pv1\n"
            "kubectl create job --from=cronjob/db-restore-drill verify-1\n",
            "deleted before the restore is verified",
        ),
        (
            "kubectl set env statefulset/db RESTORE_FROM_BACKUP=latest\n",
            "no verifying drill after the restore",
        ),
    ],
)
def test_bad_orders_are_caught(block: str, problem: str) -> None:
    problems = order_problems(f"```sh\n{block}```\n")
    assert any(problem in p for p in problems), problems
