"""Synthetic series for every alert the charts define: one scenario where it must fire and
one healthy scenario where it must stay quiet. Fed to `promtool test rules`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
# The database's exporter target and Patroni's on the same headless Service, told apart by the
# Operator's `endpoint` label (the Service port's name).
EXPORTER_UP = f'up{{{DB_SEL}, endpoint="metrics"}}'
# The values the rules under test are rendered with (Patroni with three members in strict
# synchronous mode, the pooler): the member, synchronous-standby and pool counts of the rules
# come from these values, and the scenarios below from the same numbers.
RULE_VALUES: dict[str, dict[str, Any]] = {
    "ha": {
        "enabled": True,
        "members": 3,
        "synchronousMode": "strict",
        "synchronousNodeCount": 1,
        "maximumLagOnFailoverBytes": 16 * 1024 * 1024,
    },
    "pooler": {"enabled": True, "poolSize": 20},
}
MEMBERS = int(RULE_VALUES["ha"]["members"])
LAG_LIMIT = int(RULE_VALUES["ha"]["maximumLagOnFailoverBytes"])
LEADER_WAL = 10 * LAG_LIMIT
POOL_SIZE = int(RULE_VALUES["pooler"]["poolSize"])
PATRONI = f'namespace="{NS}", job="{DB_JOB}"'
POOLER_JOB = f"{DB}-pooler"
POOLER = f'namespace="{NS}", job="{POOLER_JOB}"'


def member(index: int) -> str:
    """Labels of member `index`'s series: the scrape's target labels and Patroni's own."""
    return (
        f'{PATRONI}, endpoint="patroni", pod="{DB}-{index}", instance="10.0.1.{index}:8008", '
        f'scope="{DB}", name="{DB}-{index}"'
    )


def members(metric: str, *values: str) -> dict[str, str]:
    """`metric` of members 0, 1, ... with these values (promtool expanding notation)."""
    return {f"{metric}{{{member(i)}}}": v for i, v in enumerate(values)}


def member_up(*values: str) -> dict[str, str]:
    """The scraper's `up` of Patroni's targets (members 0, 1, ...)."""
    return {
        f'up{{{PATRONI}, endpoint="patroni", pod="{DB}-{i}", instance="10.0.1.{i}:8008"}}': v
        for i, v in enumerate(values)
    }


def pooler_pod(index: int) -> str:
    return (
        f'{POOLER}, endpoint="metrics", pod="{DB}-pooler-{index}", instance="10.0.2.{index}:9127"'
    )


def pooler_up(*values: str) -> dict[str, str]:
    return {f"up{{{pooler_pod(i)}}}": v for i, v in enumerate(values)}


def pgbouncer_up(*values: str) -> dict[str, str]:
    return {f"pgbouncer_up{{{pooler_pod(i)}}}": v for i, v in enumerate(values)}


def pools(column: str, *values: str) -> dict[str, str]:
    """pgbouncer_pools_<column> of the application's pool on pooler pods 0, 1, ..."""
    pool = 'database="inventory", user="inventory"'
    return {f"pgbouncer_pools_{column}{{{pooler_pod(i)}, {pool}}}": v for i, v in enumerate(values)}


def _pod_labels(index: int) -> dict[str, str]:
    return {
        "namespace": NS,
        "job": POOLER_JOB,
        "pod": f"{DB}-pooler-{index}",
        "instance": f"10.0.2.{index}:9127",
    }


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
_PATRONI = {"namespace": NS, "job": DB_JOB}
_POOLER = {"namespace": NS, "job": POOLER_JOB}

CASES: tuple[AlertCase, ...] = (
    AlertCase(
        "PostgresExporterDown",  # the target is there but its scrapes fail
        Scenario({EXPORTER_UP: "0x20"}, "10m"),
        # Patroni's REST API failing on the same Service is another alert's business.
        Scenario({EXPORTER_UP: "1x20", **member_up("0x20")}, "10m"),
        {**_DB, "endpoint": "metrics", "severity": "critical"},
    ),
    AlertCase(
        "PostgresExporterDown",  # the target is gone: no `up` at all (Patroni's does not count)
        Scenario({f'up{{namespace="{NS}", job="{API_JOB}"}}': "1x20", **member_up("1x20")}, "10m"),
        Scenario({EXPORTER_UP: "1x20"}, "10m"),
        {"namespace": NS, "job": DB_JOB, "endpoint": "metrics", "severity": "critical"},
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
        "PatroniNoLeader",  # members run, none holds the leader lock
        Scenario(
            {
                **members("patroni_primary", "0x10", "0x10", "0x10"),
                **members("patroni_cluster_unlocked", "1x10", "1x10", "1x10"),
            },
            "5m",
        ),
        Scenario(
            {
                **members("patroni_primary", "1x10", "0x10", "0x10"),
                **members("patroni_cluster_unlocked", "0x10", "0x10", "0x10"),
            },
            "5m",
        ),
        {**_PATRONI, "severity": "critical"},
    ),
    AlertCase(
        "PatroniNoLeader",  # the lock is held but no scraped member is primary
        Scenario(
            {
                **members("patroni_primary", "0x10", "0x10"),
                **members("patroni_cluster_unlocked", "0x10", "0x10"),
            },
            "5m",
        ),
        Scenario(
            {
                **members("patroni_primary", "0x10", "1x10"),
                **members("patroni_cluster_unlocked", "0x10", "0x10"),
            },
            "5m",
        ),
        {**_PATRONI, "severity": "critical"},
    ),
    AlertCase(
        "PatroniNoLeader",  # no member is scraped at all
        Scenario({EXPORTER_UP: "1x10"}, "5m"),
        Scenario(members("patroni_primary", "1x10"), "5m"),
        {**_PATRONI, "severity": "critical"},
    ),
    AlertCase(
        "PatroniLeaderChanged",  # a promotion at minute 20 starts timeline 2
        Scenario(members("patroni_postgres_timeline", "1x20 2x20", "1x20 2x20"), "25m"),
        Scenario(members("patroni_postgres_timeline", "2x40", "2x40"), "25m"),
        {**_PATRONI, "severity": "warning"},
    ),
    AlertCase(
        "PatroniLeaderChanged",  # reported only for the window after the change
        Scenario(members("patroni_postgres_timeline", "1x20 2x20"), "25m"),
        Scenario(members("patroni_postgres_timeline", "1x5 2x40"), "40m"),
        {**_PATRONI, "severity": "warning"},
    ),
    AlertCase(
        "PatroniMemberDown",  # Patroni answers, its PostgreSQL is not running
        Scenario(
            {**members("patroni_postgres_running", "1x20", "0x20"), **member_up("1x20", "1x20")},
            "10m",
        ),
        Scenario(
            {**members("patroni_postgres_running", "1x20", "1x20"), **member_up("1x20", "1x20")},
            "10m",
        ),
        {**_PATRONI, "pod": f"{DB}-1", "severity": "warning"},
    ),
    AlertCase(
        "PatroniMemberDown",  # Patroni's REST API does not answer the scrape
        Scenario(
            {**members("patroni_postgres_running", "1x20"), **member_up("1x20", "0x20")}, "10m"
        ),
        Scenario(
            {**members("patroni_postgres_running", "1x20", "1x20"), **member_up("1x20", "1x20")},
            "10m",
        ),
        {**_PATRONI, "pod": f"{DB}-1", "severity": "warning"},
    ),
    AlertCase(
        "PatroniMembersMissing",  # one member of three is not even a target
        Scenario(member_up(*["1x20"] * (MEMBERS - 1)), "15m"),
        Scenario(member_up(*["1x20"] * MEMBERS), "15m"),
        {**_PATRONI, "severity": "warning"},
    ),
    AlertCase(
        "PatroniReplicationLagHigh",  # the replica is twice the failover limit behind
        Scenario(
            {
                **members("patroni_xlog_location", f"{LEADER_WAL}x20", "0x20"),
                **members(
                    "patroni_xlog_replayed_location", "0x20", f"{LEADER_WAL - 2 * LAG_LIMIT}x20"
                ),
                **members("patroni_replica", "0x20", "1x20"),
            },
            "10m",
        ),
        Scenario(
            {
                # Within the limit: Patroni would still promote it.
                **members("patroni_xlog_location", f"{LEADER_WAL}x20", "0x20"),
                **members(
                    "patroni_xlog_replayed_location", "0x20", f"{LEADER_WAL - LAG_LIMIT // 2}x20"
                ),
                **members("patroni_replica", "0x20", "1x20"),
            },
            "10m",
        ),
        {
            **_PATRONI,
            "endpoint": "patroni",
            "pod": f"{DB}-1",
            "instance": "10.0.1.1:8008",
            "scope": DB,
            "name": f"{DB}-1",
            "severity": "warning",
        },
    ),
    AlertCase(
        "PatroniSyncStandbyMissing",  # strict mode, no member is the synchronous standby
        Scenario(members("patroni_sync_standby", *["0x20"] * MEMBERS), "10m"),
        Scenario(members("patroni_sync_standby", "0x20", "1x20", "0x20"), "10m"),
        {**_PATRONI, "severity": "critical"},
    ),
    AlertCase(
        "PoolerDown",  # the pods are scraped, none has a working PgBouncer
        Scenario({**pooler_up("1x20", "1x20"), **pgbouncer_up("0x20", "0x20")}, "10m"),
        Scenario({**pooler_up("1x20", "1x20"), **pgbouncer_up("1x20", "0x20")}, "10m"),
        {**_POOLER, "severity": "critical"},
    ),
    AlertCase(
        "PoolerDown",  # no pod is scraped
        Scenario(pooler_up("0x20", "0x20"), "10m"),
        Scenario({**pooler_up("1x20"), **pgbouncer_up("1x20")}, "10m"),
        {**_POOLER, "severity": "critical"},
    ),
    AlertCase(
        "PoolerInstanceDown",  # one pod's scrape fails
        Scenario({**pooler_up("1x20", "0x20"), **pgbouncer_up("1x20")}, "10m"),
        Scenario({**pooler_up("1x20", "1x20"), **pgbouncer_up("1x20", "1x20")}, "10m"),
        {**_pod_labels(1), "severity": "warning"},
    ),
    AlertCase(
        "PoolerInstanceDown",  # one pod's exporter cannot reach its PgBouncer
        Scenario({**pooler_up("1x20", "1x20"), **pgbouncer_up("1x20", "0x20")}, "10m"),
        Scenario({**pooler_up("1x20", "1x20"), **pgbouncer_up("1x20", "1x20")}, "10m"),
        {**_pod_labels(1), "severity": "warning"},
    ),
    AlertCase(
        "PoolerClientsWaiting",  # a queue that never empties
        Scenario(pools("cl_waiting", "0x20", "3x20"), "10m"),
        Scenario(pools("cl_waiting", "0x20", "0x5 4 0x14"), "10m"),  # one burst, served
        {**_pod_labels(1), "database": "inventory", "severity": "warning"},
    ),
    AlertCase(
        "PoolerPoolNearLimit",  # one pod's server connections nearly all busy
        Scenario(pools("sv_active", "2x30", f"{POOL_SIZE - 1}x30"), "15m"),
        # Each pod has its own pool: half of each busy is not near either limit.
        Scenario(pools("sv_active", f"{POOL_SIZE // 2}x30", f"{POOL_SIZE // 2}x30"), "15m"),
        {**_pod_labels(1), "database": "inventory", "severity": "warning"},
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
