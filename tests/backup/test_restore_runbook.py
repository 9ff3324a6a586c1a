"""The restore-from-backup runbook keeps the old volumes until the restored database is verified,
and restores a Patroni cluster the way Patroni bootstraps.

The data disks' StorageClass deletes a disk with its claim, so the runbook must make every
member's volume `Retain` before it deletes the claims, and may free the old volumes only after
the verifying drill. Patroni bootstraps only while its DCS (Endpoints `<scope>-config`) holds no
`initialize` key, so that state is removed once every member is stopped and before the restore
starts; one member starts with the switch, which is removed before the others start. The
checks read the runbook's own commands; fixtures with the steps in a bad order show that each
rule can fail.
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
SCALE_DOWN = re.compile(r"kubectl .*scale statefulset \S+ --replicas=0(?!\S)")
SCALE_UP = re.compile(r"kubectl .*scale statefulset \S+ --replicas=(?!0(?!\S))(?P<count>\S+)")
# Patroni's `initialize` key lives in the Endpoints `<scope>-config`.
REMOVE_DCS = re.compile(r"kubectl .*delete (?:endpoints|ep)\b.*\S-config(?!\S)")
SWITCH_OFF = re.compile(r"RESTORE_FROM_BACKUP-")
LOOP_START = re.compile(r"^(?:for|while)\b")
LOOP_END = re.compile(r"^done\b")
FIXED_CLAIM = re.compile(r"delete pvc .*\bdata-[-a-z0-9]+-[0-9]+(?![-a-z0-9$])")
ASSIGNMENT = re.compile(r"^(\w+)=(\S+)$")


def commands(markdown: str) -> list[str]:
    """The command lines of the fenced shell blocks, comments dropped."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", markdown, re.DOTALL):
        for line in block.splitlines():
            command = line.split(" #", 1)[0].strip()
            if command and not command.startswith("#"):
                lines.append(command)
    return lines


def expanded(steps: list[str]) -> list[str]:
    """The steps with the shell variables they assign (`PVC=data-db-0`) expanded."""
    variables: dict[str, str] = {}
    lines = []
    for line in steps:
        for part in line.split(";"):
            match = ASSIGNMENT.match(part.strip())
            if match:
                variables[match[1]] = match[2]
        lines.append(re.sub(r"\$(\w+)", lambda m: variables.get(m[1], m[0]), line))
    return lines


def in_loop(steps: list[str]) -> list[bool]:
    """For each step, whether it runs inside a `for`/`while` loop (over the members' claims)."""
    depth, inside = 0, []
    for line in steps:
        if LOOP_END.search(line):
            depth = max(depth - 1, 0)
        inside.append(depth > 0)
        if LOOP_START.search(line):
            depth += 1
    return inside


def order_problems(markdown: str) -> list[str]:
    """Every way the runbook's commands could lose an old volume or restore wrongly (empty = ok)."""
    steps = expanded(commands(markdown))

    def first(pattern: re.Pattern[str], after: int | None = -1) -> int | None:
        if after is None:
            return None
        return next((i for i, line in enumerate(steps) if i > after and pattern.search(line)), None)

    retain, delete_claim = first(RETAIN), first(DELETE_CLAIM)
    restore, verify, delete_volume = first(RESTORE), first(VERIFY), first(DELETE_VOLUME)
    problems = []
    if delete_claim is not None and (retain is None or retain > delete_claim):
        problems.append("the claim is deleted before its volume is set to Retain")
    if restore is not None and (verify is None or verify < restore):
        problems.append("no verifying drill after the restore")
    if delete_volume is not None and (verify is None or delete_volume < verify):
        problems.append("the old volume is deleted before the restore is verified")
    looped = in_loop(steps)
    for i, line in enumerate(steps):
        if (RETAIN.search(line) or DELETE_CLAIM.search(line)) and not looped[i]:
            problems.append(f"one claim, not every member's, is kept and released: {line}")
        if FIXED_CLAIM.search(line):
            problems.append(f"the claim of one member only is released: {line}")
    if restore is None:
        return problems
    down, dcs = first(SCALE_DOWN), first(REMOVE_DCS)
    start = first(SCALE_UP, after=restore)
    if dcs is None or down is None or dcs < down or (start is not None and dcs > start):
        problems.append("Patroni's DCS state is not removed between stopping and the restore start")
    if start is not None and (match := SCALE_UP.search(steps[start])) and match["count"] != "1":
        problems.append("the restore starts more than one member")
    switch_off, full = first(SWITCH_OFF, after=restore), first(SCALE_UP, after=start)
    if switch_off is None:
        problems.append("the restore switch is never removed")
    elif full is not None and switch_off > full:
        problems.append("the restore switch is removed after scaling to the full member count")
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


GOOD = [
    "kubectl scale statefulset db --replicas=0",
    "while read -r CLAIM PV; do",
    'kubectl patch pv $PV -p \'{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}\'',
    "done < old-volumes.txt",
    "while read -r CLAIM PV; do",
    "kubectl delete pvc $CLAIM",
    "done < old-volumes.txt",
    "kubectl delete endpoints db db-config db-sync db-failover --ignore-not-found",
    "kubectl set env statefulset/db -c postgresql RESTORE_FROM_BACKUP=latest",
    "kubectl scale statefulset db --replicas=1",
    "kubectl set env statefulset/db -c postgresql RESTORE_FROM_BACKUP-",
    "kubectl scale statefulset db --replicas=$MEMBERS",
    "kubectl create job --from=cronjob/db-restore-drill verify-1",
    "while read -r CLAIM PV; do",
    "kubectl delete pv $PV",
    "done < old-volumes.txt",
]
DCS = GOOD.index("kubectl delete endpoints db db-config db-sync db-failover --ignore-not-found")
SWITCH_REMOVED = GOOD.index("kubectl set env statefulset/db -c postgresql RESTORE_FROM_BACKUP-")


def block(lines: list[str]) -> str:
    return "```sh\n" + "\n".join(lines) + "\n```\n"


def moved(lines: list[str], index: int, to: int) -> list[str]:
    """`lines` with the line at `index` moved to position `to`."""
    result = list(lines)
    result.insert(to, result.pop(index))
    return result


def test_the_good_order_passes() -> None:
    """The fixtures below each break one rule of an order that passes every rule."""
    assert order_problems(block(GOOD)) == []


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (  # the single-server procedure: the claim of member 0 only
            [
                "PVC=data-db-0",
                *GOOD[:1],
                GOOD[2],
                "kubectl delete pvc $PVC",
                *GOOD[DCS:],
            ],
            "the claim of one member only is released",
        ),
        (  # a loop over one fixed claim is still one member's claim
            [*GOOD[:5], "kubectl delete pvc data-db-0", *GOOD[6:]],
            "the claim of one member only is released",
        ),
        (  # retained outside a loop: one volume, not every member's
            [*GOOD[:1], GOOD[2], *GOOD[4:]],
            "not every member's, is kept and released",
        ),
        (
            [*GOOD[:DCS], *GOOD[DCS + 1 :]],
            "DCS state is not removed between stopping and the restore start",
        ),
        (  # removed while the members still run: they write it again
            moved(GOOD, DCS, 0),
            "DCS state is not removed between stopping and the restore start",
        ),
        (  # removed after the first member started: it found the old `initialize` key
            moved(GOOD, DCS, DCS + 2),
            "DCS state is not removed between stopping and the restore start",
        ),
        (
            [
                *GOOD[: DCS + 2],
                "kubectl scale statefulset db --replicas=3",
                *GOOD[SWITCH_REMOVED:],
            ],
            "the restore starts more than one member",
        ),
        (
            moved(GOOD, SWITCH_REMOVED, SWITCH_REMOVED + 1),
            "the restore switch is removed after scaling to the full member count",
        ),
        (
            [*GOOD[:SWITCH_REMOVED], *GOOD[SWITCH_REMOVED + 1 :]],
            "the restore switch is never removed",
        ),
    ],
)
def test_patroni_restore_rules_are_caught(lines: list[str], problem: str) -> None:
    problems = order_problems(block(lines))
    assert any(problem in p for p in problems), problems
