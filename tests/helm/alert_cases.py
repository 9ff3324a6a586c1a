"""Synthetic series for every alert the charts define: one scenario where it must fire and
one healthy scenario where it must stay quiet. Fed to `promtool test rules`."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.helm.rendering import API, DB, NAMESPACE

NS = NAMESPACE
# Rendered into the rules under test for the backup and drill ages (keeps promtool fast); the
# real thresholds are the rule file's parameters.
SHORT_AGES = {
    "backup_full_max_age_hours": "2",
    "backup_diff_max_age_hours": "2",
    "restore_drill_max_age_hours": "2",
}
DB_JOB = f"{DB}-headless"
POD = f"{DB}-0"
API_JOB = API
DB_SEL = f'namespace="{NS}", job="{DB_JOB}", pod="{POD}"'
API_SEL = f'namespace="{NS}", job="{API_JOB}"'
PVC = f"data-{DB}-0"
TX = f'pg_stat_activity_max_tx_duration{{{DB_SEL}, datname="inventory"'
VOLUME = f'namespace="{NS}", persistentvolumeclaim="{PVC}", job="kubelet"'
AVAILABLE = f"kubelet_volume_stats_available_bytes{{{VOLUME}}}"
CAPACITY = f"kubelet_volume_stats_capacity_bytes{{{VOLUME}}}"
DRILL_OK = f'dbops_job_last_success_timestamp_seconds{{{DB_SEL}, job_name="restore-drill"}}'
DRILL_FAIL = f'dbops_job_last_failure_timestamp_seconds{{{DB_SEL}, job_name="restore-drill"}}'
VERIFY_OK = f'dbops_job_last_success_timestamp_seconds{{{DB_SEL}, job_name="repository-verify"}}'
VERIFY_FAIL = f'dbops_job_last_failure_timestamp_seconds{{{DB_SEL}, job_name="repository-verify"}}'
FULL_OK = f'dbops_job_last_success_timestamp_seconds{{{DB_SEL}, job_name="backup-full"}}'
DIFF_OK = f'dbops_job_last_success_timestamp_seconds{{{DB_SEL}, job_name="backup-diff"}}'
# The second repository's own series (dbops.common.repo_job: <job>-repo2).
FULL2_OK = FULL_OK.replace('"backup-full"', '"backup-full-repo2"')
DRILL2_OK = DRILL_OK.replace('"restore-drill"', '"restore-drill-repo2"')
DRILL2_FAIL = DRILL_FAIL.replace('"restore-drill"', '"restore-drill-repo2"')
VERIFY2_OK = VERIFY_OK.replace('"repository-verify"', '"repository-verify-repo2"')
VERIFY2_FAIL = VERIFY_FAIL.replace('"repository-verify"', '"repository-verify-repo2"')
PG_UP = f"pg_up{{{DB_SEL}}}"
TABLE = f'{DB_SEL}, schemaname="public", relname="products"'


@dataclass(frozen=True)
class Scenario:
    """Input series (promtool expanding notation) and when to look."""

    series: dict[str, str]
    eval_time: str
    interval: str = "1m"  # keep at most the 5m lookback, or series go stale between samples


@dataclass(frozen=True)
class AlertCase:
    alert: str
    firing: Scenario
    healthy: Scenario
    labels: dict[str, str] = field(default_factory=dict)  # labels of the firing alert


def _api_traffic(
    ok: str, errors: str, fast_bucket: str, total: str, minutes: int
) -> dict[str, str]:
    route = f'{API_SEL}, route="/api/v1/products"'
    return {
        f'http_requests_total{{{route}, status="200"}}': f"0+{ok}x{minutes}",
        f'http_requests_total{{{route}, status="500"}}': f"0+{errors}x{minutes}",
        f'http_request_duration_seconds_bucket{{{route}, le="0.25"}}': f"0+{fast_bucket}x{minutes}",
        f'http_request_duration_seconds_bucket{{{route}, le="+Inf"}}': f"0+{total}x{minutes}",
        f"http_request_duration_seconds_count{{{route}}}": f"0+{total}x{minutes}",
    }


_DB = {"namespace": NS, "job": DB_JOB, "pod": POD}
_API = {"namespace": NS, "job": API_JOB}

CASES: tuple[AlertCase, ...] = (
    AlertCase(
        "PostgresExporterDown",  # the target is there but its scrapes fail
        Scenario({f"up{{{DB_SEL}}}": "0x20"}, "10m"),
        Scenario({f"up{{{DB_SEL}}}": "1x20"}, "10m"),
        {**_DB, "severity": "critical"},
    ),
    AlertCase(
        "PostgresExporterDown",  # the target is gone: no `up` at all
        Scenario({f'up{{namespace="{NS}", job="{API_JOB}"}}': "1x20"}, "10m"),
        Scenario({f"up{{{DB_SEL}}}": "1x20"}, "10m"),
        {"namespace": NS, "job": DB_JOB, "severity": "critical"},
    ),
    AlertCase(
        "PostgresExporterScrapeError",
        Scenario({f"pg_exporter_last_scrape_error{{{DB_SEL}}}": "1x30"}, "20m"),
        Scenario({f"pg_exporter_last_scrape_error{{{DB_SEL}}}": "0x30"}, "20m"),
        {"namespace": NS, "pod": POD, "severity": "warning"},
    ),
    AlertCase(
        "PostgresChecksumFailure",
        Scenario(
            {f'pg_stat_database_checksum_failures{{{DB_SEL}, datname="inventory"}}': "0x10 1x20"},
            "20m",
        ),
        Scenario(
            {f'pg_stat_database_checksum_failures{{{DB_SEL}, datname="inventory"}}': "0x30"}, "20m"
        ),
        {**_DB, "datname": "inventory", "severity": "critical"},
    ),
    AlertCase(
        "PostgresDown",
        Scenario({f"pg_up{{{DB_SEL}}}": "0x10"}, "5m"),
        Scenario({f"pg_up{{{DB_SEL}}}": "1x10"}, "5m"),
        {**_DB, "severity": "critical"},
    ),
    AlertCase(
        "PostgresConnectionsNearLimit",
        Scenario(
            {
                f'pg_stat_database_numbackends{{{DB_SEL}, datname="inventory"}}': "90x15",
                f"pg_settings_max_connections{{{DB_SEL}}}": "100x15",
            },
            "10m",
        ),
        Scenario(
            {
                f'pg_stat_database_numbackends{{{DB_SEL}, datname="inventory"}}': "20x15",
                f"pg_settings_max_connections{{{DB_SEL}}}": "100x15",
            },
            "10m",
        ),
        {"namespace": NS, "pod": POD, "severity": "warning"},
    ),
    AlertCase(
        "PostgresConnectionsExhausted",
        Scenario(
            {
                f'pg_stat_database_numbackends{{{DB_SEL}, datname="inventory"}}': "97x15",
                f"pg_settings_max_connections{{{DB_SEL}}}": "100x15",
            },
            "10m",
        ),
        Scenario(
            {
                f'pg_stat_database_numbackends{{{DB_SEL}, datname="inventory"}}': "90x15",
                f"pg_settings_max_connections{{{DB_SEL}}}": "100x15",
            },
            "10m",
        ),
        {"namespace": NS, "pod": POD, "severity": "critical"},
    ),
    AlertCase(
        "PostgresWalGrowing",
        Scenario(
            {
                f"pg_wal_size_bytes{{{DB_SEL}}}": "3e9x30",
                f"pg_settings_max_wal_size_bytes{{{DB_SEL}}}": "1e9x30",
            },
            "20m",
        ),
        Scenario(
            {
                f"pg_wal_size_bytes{{{DB_SEL}}}": "1e9x30",
                f"pg_settings_max_wal_size_bytes{{{DB_SEL}}}": "1e9x30",
            },
            "20m",
        ),
        {"namespace": NS, "pod": POD, "severity": "warning"},
    ),
    AlertCase(
        "PostgresWalGrowingCritical",
        Scenario(
            {
                f"pg_wal_size_bytes{{{DB_SEL}}}": "5e9x30",
                f"pg_settings_max_wal_size_bytes{{{DB_SEL}}}": "1e9x30",
            },
            "20m",
        ),
        Scenario(
            {
                f"pg_wal_size_bytes{{{DB_SEL}}}": "3e9x30",
                f"pg_settings_max_wal_size_bytes{{{DB_SEL}}}": "1e9x30",
            },
            "20m",
        ),
        {"namespace": NS, "pod": POD, "severity": "critical"},
    ),
    AlertCase(
        "PostgresLockWaits",
        Scenario({f"pg_lock_waits_max_seconds{{{DB_SEL}}}": "120x10"}, "5m"),
        Scenario({f"pg_lock_waits_max_seconds{{{DB_SEL}}}": "10x10"}, "5m"),
        {"namespace": NS, "pod": POD, "severity": "warning"},
    ),
    AlertCase(
        "PostgresLockWaitsCritical",
        Scenario({f"pg_lock_waits_max_seconds{{{DB_SEL}}}": "600x10"}, "5m"),
        Scenario({f"pg_lock_waits_max_seconds{{{DB_SEL}}}": "120x10"}, "5m"),
        {"namespace": NS, "pod": POD, "severity": "critical"},
    ),
    AlertCase(
        "PostgresDeadTuplesHigh",
        Scenario(
            {
                f"pg_table_vacuum_dead_tuples{{{TABLE}}}": "50000x80",
                f"pg_table_vacuum_live_tuples{{{TABLE}}}": "100000x80",
            },
            "70m",
        ),
        Scenario(
            {
                f"pg_table_vacuum_dead_tuples{{{TABLE}}}": "5000x80",
                f"pg_table_vacuum_live_tuples{{{TABLE}}}": "100000x80",
            },
            "70m",
        ),
        {**_DB, "schemaname": "public", "relname": "products", "severity": "warning"},
    ),
    AlertCase(
        "PostgresWalArchivingFailing",
        Scenario({f"pg_stat_archiver_failed_count{{{DB_SEL}}}": "0+1x30"}, "20m"),
        Scenario({f"pg_stat_archiver_failed_count{{{DB_SEL}}}": "3x30"}, "20m"),
        {**_DB, "severity": "critical"},
    ),
    AlertCase(
        "PostgresReplicationLagHigh",
        Scenario({f"pg_replica_lag_seconds{{{DB_SEL}}}": "600x20"}, "10m"),
        Scenario({f"pg_replica_lag_seconds{{{DB_SEL}}}": "2x20"}, "10m"),
        {**_DB, "severity": "warning"},
    ),
    AlertCase(
        "PostgresDeadlocks",
        Scenario({f'pg_stat_database_deadlocks{{{DB_SEL}, datname="inventory"}}': "0+1x30"}, "20m"),
        Scenario(
            {f'pg_stat_database_deadlocks{{{DB_SEL}, datname="inventory"}}': "0+0.2x30"}, "20m"
        ),
        {**_DB, "datname": "inventory", "severity": "warning"},
    ),
    AlertCase(
        "PostgresLongRunningTransaction",
        Scenario(
            {TX + ', state="idle in transaction"}': "1800x20"},
            "10m",
        ),
        Scenario(
            {TX + ', state="active"}': "3x20"},
            "10m",
        ),
        {"namespace": NS, "pod": POD, "datname": "inventory", "severity": "warning"},
    ),
    AlertCase(
        "PostgresXidWraparoundRisk",
        Scenario(
            {f'pg_database_xid_frozen_xid_age{{{DB_SEL}, datname="inventory"}}': "1500000000x30"},
            "20m",
        ),
        Scenario(
            {f'pg_database_xid_frozen_xid_age{{{DB_SEL}, datname="inventory"}}': "200000000x30"},
            "20m",
        ),
        {"namespace": NS, "pod": POD, "datname": "inventory", "severity": "critical"},
    ),
    AlertCase(
        "PostgresDiskFilling",
        Scenario(
            {
                AVAILABLE: "5000000000x30",
                CAPACITY: "100000000000x30",
            },
            "20m",
        ),
        Scenario(
            {
                AVAILABLE: "60000000000x30",
                CAPACITY: "100000000000x30",
            },
            "20m",
        ),
        {"namespace": NS, "persistentvolumeclaim": PVC, "job": "kubelet", "severity": "warning"},
    ),
    AlertCase(
        "PostgresDiskAlmostFull",
        Scenario({AVAILABLE: "3000000000x30", CAPACITY: "100000000000x30"}, "20m"),
        Scenario({AVAILABLE: "10000000000x30", CAPACITY: "100000000000x30"}, "20m"),
        {"namespace": NS, "persistentvolumeclaim": PVC, "job": "kubelet", "severity": "critical"},
    ),
    AlertCase(
        "PostgresFullBackupTooOld",
        # Ages rendered as 2 h (SHORT_AGES): last success at t=0, evaluated 3 h later / a
        # success every minute.
        Scenario({FULL_OK: "0x200"}, "3h"),
        Scenario({FULL_OK: "0+60x200"}, "3h"),
        {**_DB, "job_name": "backup-full", "severity": "critical"},
    ),
    AlertCase(
        "PostgresFullBackupMissing",  # only differentials on record: a diff hides no full
        Scenario({PG_UP: "1x200", DIFF_OK: "0+60x200"}, "3h"),
        Scenario({PG_UP: "1x200", FULL_OK: "0+60x200"}, "3h"),
        {**_DB, "severity": "critical"},
    ),
    AlertCase(
        "PostgresDiffBackupTooOld",
        Scenario({DIFF_OK: "0x200", FULL_OK: "0+60x200"}, "3h"),
        Scenario({DIFF_OK: "0+60x200"}, "3h"),
        {**_DB, "job_name": "backup-diff", "severity": "warning"},
    ),
    AlertCase(
        "PostgresWalArchiveStale",  # limit: 3 x archive_timeout (60 s)
        Scenario({f"pg_stat_archiver_last_archive_age{{{DB_SEL}}}": "600x20"}, "10m"),
        Scenario({f"pg_stat_archiver_last_archive_age{{{DB_SEL}}}": "30x20"}, "10m"),
        {**_DB, "severity": "critical"},
    ),
    AlertCase(
        "PostgresRestoreDrillFailed",
        Scenario({DRILL_OK: "1000x10", DRILL_FAIL: "2000x10"}, "5m"),
        Scenario({DRILL_OK: "2000x10", DRILL_FAIL: "1000x10"}, "5m"),
        {**_DB, "job_name": "restore-drill", "severity": "critical"},
    ),
    AlertCase(
        "PostgresRestoreDrillTooOld",
        Scenario({DRILL_OK: "0x200"}, "3h"),
        Scenario({DRILL_OK: "0+60x200"}, "3h"),
        {**_DB, "job_name": "restore-drill", "severity": "warning"},
    ),
    AlertCase(
        "PostgresRestoreDrillMissing",
        Scenario({PG_UP: "1x200"}, "3h"),
        Scenario({PG_UP: "1x200", DRILL_OK: "0+60x200"}, "3h"),
        {**_DB, "severity": "warning"},
    ),
    AlertCase(
        "PostgresBackupRepositoryUnverifiable",
        Scenario({VERIFY_OK: "1000x10", VERIFY_FAIL: "2000x10"}, "5m"),
        Scenario({VERIFY_OK: "2000x10", VERIFY_FAIL: "1000x10"}, "5m"),
        {**_DB, "job_name": "repository-verify", "severity": "critical"},
    ),
    # repo2: a fresh repo1 record hides no stale or failed repo2 one.
    AlertCase(
        "PostgresFullBackupTooOld",
        Scenario({FULL_OK: "0+60x200", FULL2_OK: "0x200"}, "3h"),
        Scenario({FULL_OK: "0+60x200", FULL2_OK: "0+60x200"}, "3h"),
        {**_DB, "job_name": "backup-full-repo2", "severity": "critical"},
    ),
    AlertCase(
        "PostgresRepo2FullBackupMissing",  # only repo1 fulls on record
        Scenario({PG_UP: "1x200", FULL_OK: "0+60x200"}, "3h"),
        Scenario({PG_UP: "1x200", FULL2_OK: "0+60x200"}, "3h"),
        {**_DB, "severity": "critical"},
    ),
    AlertCase(
        "PostgresRestoreDrillFailed",
        Scenario({DRILL_OK: "2000x10", DRILL2_OK: "1000x10", DRILL2_FAIL: "2000x10"}, "5m"),
        Scenario({DRILL_OK: "2000x10", DRILL2_OK: "2000x10", DRILL2_FAIL: "1000x10"}, "5m"),
        {**_DB, "job_name": "restore-drill-repo2", "severity": "critical"},
    ),
    AlertCase(
        "PostgresRestoreDrillTooOld",
        Scenario({DRILL_OK: "0+60x200", DRILL2_OK: "0x200"}, "3h"),
        Scenario({DRILL_OK: "0+60x200", DRILL2_OK: "0+60x200"}, "3h"),
        {**_DB, "job_name": "restore-drill-repo2", "severity": "warning"},
    ),
    AlertCase(
        "PostgresRepo2RestoreDrillMissing",  # only repo1 drills on record
        Scenario({PG_UP: "1x200", DRILL_OK: "0+60x200"}, "3h"),
        Scenario({PG_UP: "1x200", DRILL2_OK: "0+60x200"}, "3h"),
        {**_DB, "severity": "warning"},
    ),
    AlertCase(
        "PostgresBackupRepositoryUnverifiable",
        Scenario({VERIFY_OK: "2000x10", VERIFY2_OK: "1000x10", VERIFY2_FAIL: "2000x10"}, "5m"),
        Scenario({VERIFY_OK: "2000x10", VERIFY2_OK: "2000x10", VERIFY2_FAIL: "1000x10"}, "5m"),
        {**_DB, "job_name": "repository-verify-repo2", "severity": "critical"},
    ),
    AlertCase(
        "InventoryApiDown",
        Scenario({f'up{{{API_SEL}, instance="10.0.0.1:8080"}}': "0x20"}, "10m"),
        Scenario({f'up{{{API_SEL}, instance="10.0.0.1:8080"}}': "1x20"}, "10m"),
        {**_API, "severity": "critical"},
    ),
    AlertCase(
        "InventoryApiErrorBudgetBurnFast",
        Scenario(_api_traffic("1000", "100", "1100", "1100", 120), "70m"),  # 9 % errors
        Scenario(_api_traffic("1000", "0", "1000", "1000", 120), "70m"),
        {**_API, "severity": "critical"},
    ),
    AlertCase(
        "InventoryApiErrorBudgetBurnSlow",
        Scenario(_api_traffic("1000", "10", "1010", "1010", 480), "7h"),  # 1 %: 10x budget
        Scenario(_api_traffic("1000", "0.2", "1000", "1000", 480), "7h"),  # 0.02 %
        {**_API, "severity": "warning"},
    ),
    AlertCase(
        "InventoryApiLatencyBudgetBurnFast",
        Scenario(_api_traffic("1000", "0", "500", "1000", 120), "70m"),  # half slower than 0.25 s
        Scenario(_api_traffic("1000", "0", "999", "1000", 120), "70m"),
        {**_API, "severity": "critical"},
    ),
    AlertCase(
        "InventoryApiLatencyBudgetBurnSlow",
        Scenario(_api_traffic("1000", "0", "900", "1000", 480), "7h"),  # 10 % slow: 10x budget
        Scenario(_api_traffic("1000", "0", "999", "1000", 480), "7h"),
        {**_API, "severity": "warning"},
    ),
)
