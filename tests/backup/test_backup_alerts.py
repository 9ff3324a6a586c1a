"""The backup-of-the-backups alerts, checked end to end against what the jobs really export.

tests/helm/test_alert_rules.py runs promtool on every alert with synthetic series. This test
closes the other half of the loop: every series a backup alert reads is one the real exporter
produced from the lab's job records (tests/backup/test_monitoring.py scrapes it), so a renamed
query column or label cannot leave an alert watching nothing.
"""

from __future__ import annotations

import ast
import re
import subprocess
from typing import Any

import pytest
import yaml
from dbops.common import repo_job

from tests.helm import rule_source
from tests.support.tools import REPO_ROOT, require_tool
from tools.toolchain import tool_env

CHART = REPO_ROOT / "helm-charts" / "postgresql"
QUERIES = REPO_ROOT / "images" / "postgres-exporter" / "queries.yaml"
# The backup-of-the-backups alerts: those of the rule file's backup groups (the second
# repository's included) that read job records.
BACKUP_ALERTS = {
    str(rule["alert"])
    for key in ("backup_groups", "repo2_backup_groups")
    for group in rule_source.source("postgresql")[key]
    for rule in group["rules"]
    if "dbops_" in rule["expr"] or "last_archive_age" in rule["expr"]
}
# Series postgres_exporter 0.11 exports without custom queries (pg_stat_archiver collector, and
# pg_up for the connection itself).
BUILT_IN = {"pg_stat_archiver_last_archive_age", "pg_up"}
METRIC = re.compile(r"\b((?:dbops|pg)_[a-z_]+)\{")
JOB_NAME = re.compile(r'job_name(=~?)"([^"]+)"')
REPO2 = "2"
"""The second repository's number, as BACKUP_TARGET_REPO / DRILL_REPO name it."""


@pytest.fixture(scope="module")
def backup_rules() -> dict[str, dict[str, Any]]:
    """The backup alerts of the rendered PrometheusRule (backup, repo2 and monitoring on)."""
    sets = {
        "monitoring.enabled": "true",
        "monitoring.forceCreate": "true",
        "backup.enabled": "true",
        "backup.azure.account": "stinventorybackup",
        "backup.tlsServer.enabled": "true",
        "backup.tlsServer.certificateSecret": "pgbackrest-server-tls",
        "backup.tlsServer.clientCertificateSecret": "pgbackrest-client-tls",
        "backup.encryption.passphraseSecret": "pgbackrest-cipher-pass",
        "backup.serviceAccount.clientId": "12345678-1234-1234-1234-123456789abc",
        "backup.repo2.azure.account": "stinventorybackupneu",
        "backup.repo2.clientId": "87654321-4321-4321-4321-cba987654321",
    }
    args = [a for key, value in sets.items() for a in ("--set", f"{key}={value}")]
    rendered = subprocess.run(
        [require_tool("helm"), "template", "inventory", str(CHART),
         "--show-only", "templates/prometheusrule.yaml", *args],
        capture_output=True, text=True, check=True, env=tool_env(), timeout=120,
    )  # fmt: skip
    groups = yaml.safe_load(rendered.stdout)["spec"]["groups"]
    return {r["alert"]: r for g in groups for r in g["rules"] if r.get("alert") in BACKUP_ALERTS}


def exported_series() -> set[str]:
    """Metric names the custom queries define: <namespace>_<column> of every GAUGE/COUNTER."""
    names = set(BUILT_IN)
    for namespace, query in yaml.safe_load(QUERIES.read_text()).items():
        for metric in query["metrics"]:
            ((column, spec),) = metric.items()
            if spec["usage"] in ("GAUGE", "COUNTER"):
                names.add(f"{namespace}_{column}")
    return names


def backup_types() -> tuple[str, ...]:
    """TYPES of the backup script (dbops/backup.py), read without importing the image's code."""
    tree = ast.parse((REPO_ROOT / "images/postgresql/dbops/backup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "TYPES":
            return tuple(ast.literal_eval(node.value))
    raise AssertionError("dbops/backup.py defines no TYPES")


def test_every_backup_alert_is_rendered(backup_rules: dict[str, dict[str, Any]]) -> None:
    assert set(backup_rules) == BACKUP_ALERTS


def test_backup_alerts_read_only_series_the_exporter_produces(
    backup_rules: dict[str, dict[str, Any]],
) -> None:
    exported = exported_series()
    for name, rule in backup_rules.items():
        used = set(METRIC.findall(rule["expr"]))
        assert used, name
        assert used <= exported, f"{name} reads {used - exported}, which nothing exports"


def test_backup_alerts_name_jobs_the_scripts_record(
    backup_rules: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """job_name values in the rules are the job names dbops passes to job_main/record_job
    (the backup script records backup-<type> for each type it accepts), for repo2 as
    dbops.common.repo_job names them; a pattern matches one job of every repository."""
    sources = "".join(p.read_text() for p in (REPO_ROOT / "images/postgresql/dbops").glob("*.py"))
    recorded = {f"backup-{kind}" for kind in backup_types()}
    recorded |= set(re.findall(r'"([a-z]+-[a-z-]+)"', sources))  # string literals
    monkeypatch.setenv("BACKUP_TARGET_REPO", REPO2)
    both = {job: {job, repo_job(job, "BACKUP_TARGET_REPO")} for job in recorded}
    for name, rule in backup_rules.items():
        for operator, job in JOB_NAME.findall(rule["expr"]):
            if operator == "=":
                known = any(job in jobs for jobs in both.values())
                assert known, f"{name} watches job {job!r}, which no script records"
            else:
                matched = {j for jobs in both.values() for j in jobs if re.fullmatch(job, j)}
                assert matched in both.values(), f"{name}: {job!r} matches {sorted(matched)}"
