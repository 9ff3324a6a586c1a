"""The blobs' write-once window covers the whole recovery window, and `pgbackrest expire` never
has to delete a blob that is still inside it (Azure refuses Delete Blob on a protected version,
so the backup job would fail). Both sides come from their single sources: retention and
schedules from helm-charts/inventory-platform/values-<env>.yaml, the immutability period from
iac/environments/<env>/terraform.tfvars.

Count-based retention with fulls every `interval` days keeps `full` fulls: right after an
expiry the oldest kept full is (full - 1) intervals old, so every point of the last
(full - 1) intervals is restorable (the recovery window), and the youngest file expire deletes
is the WAL just before that full: (full - 1) intervals old. Differentials expire by count, the
oldest dropped one being at least (diff // diffs per interval) intervals old.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from pipelines.core.environments import azure_environments
from tests.support.tools import REPO_ROOT


@dataclass(frozen=True)
class Cadence:
    """How often a backup CronJob runs: `runs` times every `interval_days` days."""

    interval_days: int
    runs: int


def cadence(schedule: str) -> Cadence:
    """Daily (`m h * * *`) or weekly on one day or a range of days (`m h * * 0`, `m h * * 1-6`)."""
    fields = schedule.split()
    if len(fields) != 5 or fields[2:4] != ["*", "*"] or not all(f.isdigit() for f in fields[:2]):
        raise ValueError(f"schedule {schedule!r}: expected 'M H * * DOW'")
    dow = fields[4]
    if dow == "*":
        return Cadence(1, 1)
    if match := re.fullmatch(r"([0-6])(?:-([0-6]))?", dow):
        first, last = int(match[1]), int(match[2] or match[1])
        return Cadence(7, last - first + 1)
    raise ValueError(f"schedule {schedule!r}: day of week must be *, D or D-D")


def window_violations(backup: dict[str, Any], immutability_days: int) -> list[str]:
    """What is wrong between the chart's backup values and the write-once period (empty = ok)."""
    full = cadence(backup["schedules"]["full"])
    diff = cadence(backup["schedules"]["diff"])
    if full.runs != 1 or diff.interval_days != full.interval_days:
        return ["fulls must run once per interval and differentials in the same interval"]
    kept_full, kept_diff = backup["retention"]["full"], backup["retention"]["diff"]
    recovery_days = (kept_full - 1) * full.interval_days
    youngest_expired = min(recovery_days, kept_diff // diff.runs * full.interval_days)
    problems = []
    if immutability_days < recovery_days:
        problems.append(
            f"write-once window {immutability_days} d is shorter than the recovery window "
            f"{recovery_days} d: the oldest restorable backups can be deleted or overwritten"
        )
    if immutability_days > youngest_expired:
        problems.append(
            f"write-once window {immutability_days} d outlives the youngest blob expire deletes "
            f"({youngest_expired} d old): the backup job's expire would fail"
        )
    return problems


def chart_backup(env: str) -> dict[str, Any]:
    values = (REPO_ROOT / "helm-charts" / "inventory-platform" / f"values-{env}.yaml").read_text()
    backup: dict[str, Any] = yaml.safe_load(values)["postgresql"]["backup"]
    return backup


def terraform_immutability_days(env: str) -> int:
    tfvars = (REPO_ROOT / "iac" / "environments" / env / "terraform.tfvars").read_text()
    match = re.search(r"^\s*immutability_days\s*=\s*(\d+)\s*$", tfvars, re.MULTILINE)
    assert match, f"{env}: no immutability_days in terraform.tfvars"
    return int(match[1])


@pytest.mark.parametrize("env", azure_environments())
def test_write_once_window_covers_recovery_and_lets_expire_work(env: str) -> None:
    assert window_violations(chart_backup(env), terraform_immutability_days(env)) == []


def test_a_window_shorter_than_recovery_is_caught() -> None:
    backup = chart_backup("prod")
    too_short = (backup["retention"]["full"] - 1) * 7 - 1
    assert any(
        "shorter than the recovery window" in p for p in window_violations(backup, too_short)
    )


def test_differentials_expiring_inside_the_window_are_caught() -> None:
    backup = chart_backup("prod")
    backup["retention"] = {**backup["retention"], "diff": 7}  # one week of daily diffs
    problems = window_violations(backup, terraform_immutability_days("prod"))
    assert any("expire would fail" in p for p in problems), problems


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [("15 1 * * 0", Cadence(7, 1)), ("15 1 * * 1-6", Cadence(7, 6)), ("0 3 * * *", Cadence(1, 1))],
)
def test_cadence_of_the_schedules_in_use(schedule: str, expected: Cadence) -> None:
    assert cadence(schedule) == expected


@pytest.mark.parametrize("schedule", ["*/5 * * * *", "15 1 1 * *", "15 1 * * MON"])
def test_unsupported_schedules_are_refused(schedule: str) -> None:
    with pytest.raises(ValueError, match="schedule"):
        cadence(schedule)
