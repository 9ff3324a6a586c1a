"""The backup-of-the-backups alerts, checked end to end against what the jobs really export.

tests/helm/test_alert_rules.py runs promtool on every alert with synthetic series. This test
closes the other half of the loop: every series a backup alert reads is one the real exporter
produced from the lab's job records (tests/backup/test_monitoring.py scrapes it), so a renamed
query column or label cannot leave an alert watching nothing.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
import yaml

from tests.support.tools import REPO_ROOT, require_tool
from tools.toolchain import tool_env

CHART = REPO_ROOT / "helm-charts" / "postgresql"
QUERIES = REPO_ROOT / "images" / "postgres-exporter" / "queries.yaml"
BACKUP_ALERTS = {
    "PostgresWalArchiveStale",
    "PostgresRestoreDrillFailed",
    "PostgresRestoreDrillTooOld",
    "PostgresRestoreDrillMissing",
    "PostgresBackupRepositoryUnverifiable",
}
# Series postgres_exporter 0.11 exports without custom queries (pg_stat_archiver collector).
BUILT_IN = {"pg_stat_archiver_last_archive_age"}
METRIC = re.compile(r"\b((?:dbops|pg)_[a-z_]+)\{")
JOB_NAME = re.compile(r'job_name="([a-z-]+)"')


@pytest.fixture(scope="module")
def backup_rules() -> dict[str, dict[str, Any]]:
    """The backup alerts of the rendered PrometheusRule (backup and monitoring on)."""
    sets = {
        "monitoring.enabled": "true",
        "monitoring.forceCreate": "true",
        "backup.enabled": "true",
        "backup.azure.account": "stinventorybackup",
        "backup.tlsServer.enabled": "true",
        "backup.tlsServer.certificateSecret": "pgbackrest-server-tls",
        "backup.tlsServer.clientCertificateSecret": "pgbackrest-client-tls",
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
    backup_rules: dict[str, dict[str, Any]],
) -> None:
    """job_name values in the rules are the job names dbops passes to job_main/record_job."""
    sources = "".join(p.read_text() for p in (REPO_ROOT / "images/postgresql/dbops").glob("*.py"))
    for name, rule in backup_rules.items():
        for job in JOB_NAME.findall(rule["expr"]):
            assert f'"{job}"' in sources, f"{name} watches job {job!r}, which no script records"
