"""docs/disaster-recovery.md states each environment's backup retention and immutability as
configured (helm-charts/inventory-platform/values-<env>.yaml, iac/environments/<env>), so the
promise an operator reads cannot drift from what is deployed."""

from __future__ import annotations

import re

import yaml

from pipelines.core.environments import azure_environments
from tests.support.tools import REPO_ROOT

DOC = REPO_ROOT / "docs" / "disaster-recovery.md"
ROW = re.compile(
    r"^\| (?P<env>local \(Azurite\)|[a-z][a-z0-9-]*) \| (?P<full>\d+) \| (?P<diff>\d+) \| "
    r"(?P<low>\d+)-(?P<weeks>\d+) weeks \| (?P<immutability>[^|]+) \|$"
)


def documented() -> dict[str, dict[str, str]]:
    """The retention table of the disaster-recovery page, by environment."""
    rows = {}
    for line in DOC.read_text().splitlines():
        if match := ROW.match(line):
            rows[match["env"].split()[0]] = match.groupdict()
    return rows


def test_documented_retention_matches_each_environment() -> None:
    rows = documented()
    assert sorted(rows) == sorted([*azure_environments(), "local"])
    for env, row in rows.items():
        values = yaml.safe_load(
            (REPO_ROOT / "helm-charts" / "inventory-platform" / f"values-{env}.yaml").read_text()
        )
        retention = values["postgresql"]["backup"]["retention"]
        assert (row["full"], row["diff"]) == (str(retention["full"]), str(retention["diff"])), env
        assert row["weeks"] == row["full"], f"{env}: weekly fulls reach back `full` weeks at most"
        assert int(row["low"]) == int(row["full"]) - 1, f"{env}: and `full - 1` weeks at least"


def test_documented_immutability_matches_terraform() -> None:
    """The relation to retention itself is tests/backup/test_immutability_window.py."""
    for env, row in documented().items():
        if env == "local":
            assert row["immutability"].strip() == "none"
            continue
        tfvars = (REPO_ROOT / "iac" / "environments" / env / "terraform.tfvars").read_text()
        days = re.search(r"immutability_days\s*=\s*(\d+)", tfvars)
        locked = re.search(r"immutability_locked\s*=\s*(true|false)", tfvars)
        assert days, f"{env}: no immutability_days in terraform.tfvars"
        assert locked, f"{env}: no immutability_locked in terraform.tfvars"
        lock_word = "locked" if locked[1] == "true" else "unlocked"
        unit = "day" if days[1] == "1" else "days"
        assert row["immutability"].strip() == f"{days[1]} {unit}, {lock_word}", env
