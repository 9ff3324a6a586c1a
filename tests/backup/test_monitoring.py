"""The exporter's queries (images/postgres-exporter/queries.yaml) against the lab primary, and
every series the database's alert rules read found in that real scrape.

Runs after the backup/restore tests of the session, so the job records exist. Uses the real
postgres_exporter 0.11 connecting as a pg_monitor-only role, which proves the schema's grants.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator

import pytest
import requests

from tests.backup.lab import APP_DB, BackupLab
from tests.helm import rule_source
from tests.support.postgres import free_port
from tests.support.tools import REPO_ROOT, require_tool

pytestmark = pytest.mark.slow
QUERIES = REPO_ROOT / "images" / "postgres-exporter" / "queries.yaml"


@pytest.fixture(scope="module")
def metrics(backup_lab: BackupLab) -> Iterator[str]:
    """One scrape of a postgres_exporter pointed at the primary's application database."""
    exporter = require_tool(
        "prometheus-postgres-exporter",
        "make bootstrap  (Debian package prometheus-postgres-exporter)",
    )
    lab = backup_lab
    lab.app_sql("SELECT 1")  # the session's history has run when this module's tests run
    lab.primary.superuser_sql(
        "DO $$BEGIN CREATE ROLE monitor_probe LOGIN PASSWORD 'probe-password-1'; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END$$; GRANT pg_monitor TO monitor_probe"
    )
    port = free_port()
    dsn = f"postgresql://monitor_probe:probe-password-1@127.0.0.1:{lab.primary.port}/{APP_DB}"
    process = subprocess.Popen(
        [exporter, f"--web.listen-address=127.0.0.1:{port}", f"--extend.query-path={QUERIES}"],
        env={"DATA_SOURCE_NAME": dsn + "?sslmode=disable"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield body
    finally:
        process.terminate()
        process.wait(timeout=10)


def value(metrics: str, name: str, labels: str = "") -> float:
    """The sample of `name` whose label set contains `labels`; fails when absent."""
    pattern = re.compile(rf"^{name}(\{{[^}}]*\}})? (\S+)$", re.MULTILINE)
    for match in pattern.finditer(metrics):
        if labels in (match.group(1) or ""):
            return float(match.group(2))
    raise AssertionError(f"{name}{{{labels}}} not exported")


def test_backup_jobs_are_exported(metrics: str) -> None:
    now = time.time()
    for job in ("backup-full", "backup-diff", "restore-drill", "repository-verify"):
        success = value(metrics, "dbops_job_last_success_timestamp_seconds", f'job_name="{job}"')
        assert now - 900 < success <= now + 5, job


def test_wal_archiving_and_heartbeat_are_exported(metrics: str) -> None:
    assert value(metrics, "pg_stat_archiver_archived_count") >= 3
    assert value(metrics, "pg_stat_archiver_failed_count") == 0
    assert value(metrics, "pg_stat_archiver_last_archive_age") < 300
    assert time.time() - value(metrics, "dbops_heartbeat_last_timestamp_seconds") < 900


def test_pg_wal_size_is_exported(metrics: str) -> None:
    """What the archive queue limit is compared with: pg_wal's files on the data volume."""
    segment = 16 * 1024 * 1024
    assert value(metrics, "pg_wal_segments") >= 1
    assert value(metrics, "pg_wal_size_bytes") >= segment


def test_drill_measurements_are_exported(metrics: str) -> None:
    assert value(metrics, "dbops_restore_drill_duration_seconds") > 0
    assert value(metrics, "dbops_restore_drill_data_age_seconds") >= 0


def test_no_query_errors(metrics: str) -> None:
    assert value(metrics, "pg_exporter_last_scrape_error") == 0


def scraped_names(metrics: str) -> set[str]:
    return {
        line.split("{")[0].split(" ")[0]
        for line in metrics.splitlines()
        if line and not line.startswith("#")
    }


def test_every_series_a_database_rule_reads_is_in_a_real_scrape(metrics: str) -> None:
    """No alert watches a series nothing produces: each one a rule of the rule file's
    postgres_exporter groups reads comes from this scrape, or from a declared non-exporter source
    (the scraper, the kubelet). Patroni's and the pooler's groups are checked against their own
    scrapes (tests/ha, tests/images)."""
    scraped = scraped_names(metrics)
    unseen = {
        rule: sorted(names - scraped - rule_source.NON_EXPORTER_SERIES.keys())
        for rule, names in rule_source.series_read(
            "postgresql", rule_source.DATABASE_EXPORTER_GROUPS
        ).items()
    }
    assert not {rule: names for rule, names in unseen.items() if names}


def test_the_real_scrape_check_bites(metrics: str) -> None:
    """The replica-lag series the exporter 0.11 does not export (what the alert once read)."""
    assert "pg_replication_lag" not in scraped_names(metrics)
    assert "pg_replica_lag_seconds" in scraped_names(metrics)
