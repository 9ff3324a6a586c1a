"""promtool cases for the backup alerts the database-operations work adds to the postgresql
chart's PrometheusRule, in the format of tests/helm/alert_cases.py (which should extend its
CASES with BACKUP_CASES so `test_every_alert_has_a_case_and_a_runbook` covers them).

The rules are rendered with the chart defaults: archiveTimeoutSeconds=60 and
restoreDrill.maxAgeHours=26.
"""

from __future__ import annotations

from tests.helm.alert_cases import DB_JOB, DB_SEL, NS, POD, AlertCase, Scenario

_DB = {"namespace": NS, "job": DB_JOB, "pod": POD}
_JOB = "dbops_job_last_{kind}_timestamp_seconds{{" + DB_SEL + ', job_name="{job}"}}'


def _job(kind: str, job: str) -> str:
    return _JOB.format(kind=kind, job=job)


def _failed_after_success(job: str) -> Scenario:
    """The last run failed (failure at t=1000 s, success at t=500 s)."""
    return Scenario({_job("failure", job): "1000x30", _job("success", job): "500x30"}, "20m")


def _succeeded_after_failure(job: str) -> Scenario:
    return Scenario({_job("failure", job): "500x30", _job("success", job): "1000x30"}, "20m")


BACKUP_CASES = (
    AlertCase(
        "PostgresWalArchiveStale",
        Scenario({f"pg_stat_archiver_last_archive_age{{{DB_SEL}}}": "200+60x30"}, "20m"),
        Scenario({f"pg_stat_archiver_last_archive_age{{{DB_SEL}}}": "30x30"}, "20m"),
        {**_DB, "severity": "critical"},
    ),
    AlertCase(
        "PostgresRestoreDrillFailed",
        _failed_after_success("restore-drill"),
        _succeeded_after_failure("restore-drill"),
        {**_DB, "job_name": "restore-drill", "severity": "critical"},
    ),
    AlertCase(
        "PostgresRestoreDrillTooOld",
        # A success at t=0 evaluated 27 h later / a success stamped every minute.
        Scenario({_job("success", "restore-drill"): "0x1700"}, "27h", interval="1m"),
        Scenario({_job("success", "restore-drill"): "0+60x1700"}, "27h", interval="1m"),
        {**_DB, "job_name": "restore-drill", "severity": "warning"},
    ),
    AlertCase(
        "PostgresRestoreDrillMissing",
        Scenario({f"pg_up{{{DB_SEL}}}": "1x1700"}, "27h"),
        Scenario({_job("success", "restore-drill"): "0+60x1700"}, "27h"),
        # absent() keeps only the selector's equality labels, which name no pod.
        {"namespace": NS, "job": DB_JOB, "job_name": "restore-drill", "severity": "warning"},
    ),
    AlertCase(
        "PostgresBackupRepositoryUnverifiable",
        _failed_after_success("repository-verify"),
        _succeeded_after_failure("repository-verify"),
        {**_DB, "job_name": "repository-verify", "severity": "critical"},
    ),
)
