"""Backups work: a full backup lands in the repository and the restore drill restores it
(`run-job` mode, for fresh deployments), or every backup CronJob succeeded as recently as its
schedule demands (`recent` mode, for long-lived environments)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.smoke.checks import recency_problem
from tests.smoke.kube import (
    COMPONENT,
    INSTANCE,
    JobOutcome,
    Kube,
    delete_quietly,
    job_from_cronjob,
    run_job,
    short_token,
    unique_name,
)
from tests.smoke.settings import SmokeSettings

BACKUP_COMPONENTS = ("backup", "restore-drill")
FULL_LABEL = re.compile(r"^\d{8}-\d{6}F$")


@pytest.fixture(scope="module")
def cronjobs(kube: Kube, settings: SmokeSettings) -> dict[str, Any]:
    """The release's backup and restore-drill CronJobs by name; fails when there are none."""
    found = kube.batch.list_namespaced_cron_job(
        settings.namespace, label_selector=f"{INSTANCE}={settings.release}"
    ).items
    chosen = {
        c.metadata.name: c for c in found if c.metadata.labels.get(COMPONENT) in BACKUP_COMPONENTS
    }
    if not chosen:
        pytest.fail(
            f"release {settings.release} in {settings.namespace} has no backup CronJobs "
            f"(labels {INSTANCE}={settings.release}, {COMPONENT} in {BACKUP_COMPONENTS}): "
            "are backups enabled (postgresql.backup.enabled)?",
            pytrace=False,
        )
    return chosen


def named(cronjobs: dict[str, Any], suffix: str) -> Any:
    """The CronJob whose name ends with `suffix` (the chart names them <fullname>-<suffix>)."""
    matches = [job for name, job in cronjobs.items() if name.endswith(suffix)]
    assert len(matches) == 1, f"expected one CronJob named *{suffix}, found {sorted(cronjobs)}"
    return matches[0]


@dataclass
class Runner:
    """Starts Jobs from CronJobs like `kubectl create job --from`; removes the ones that
    succeeded afterwards (failed ones stay for inspection until their TTL)."""

    kube: Kube
    settings: SmokeSettings
    token: str = field(default_factory=short_token)
    succeeded: list[str] = field(default_factory=list)

    def run(self, cronjob: Any) -> JobOutcome:
        """One manual run of `cronjob`, waited for at most SMOKE_JOB_TIMEOUT_SECONDS."""
        job = job_from_cronjob(cronjob, unique_name(cronjob.metadata.name, self.token))
        outcome = run_job(
            self.kube, self.settings.namespace, job, self.settings.job_timeout_seconds
        )
        if outcome.succeeded:
            self.succeeded.append(outcome.name)
        return outcome

    def clean(self) -> None:
        """Delete the succeeded Jobs with their pods (and the drill's ephemeral volume)."""
        for name in self.succeeded:
            delete_quietly(
                self.kube.batch.delete_namespaced_job,
                name,
                self.settings.namespace,
                propagation_policy="Background",
            )


@pytest.fixture(scope="module")
def runner(kube: Kube, settings: SmokeSettings) -> Iterator[Runner]:
    """Manual Job runs of this module, cleaned up at the end."""
    jobs = Runner(kube, settings)
    yield jobs
    jobs.clean()


def must_succeed(outcome: JobOutcome, what: str) -> dict[str, Any]:
    """The job's JSON report, or a failure with the log tail."""
    if not outcome.succeeded:
        pytest.fail(f"{what} job {outcome.name} failed; log tail:\n{outcome.tail()}", pytrace=False)
    report = outcome.report()
    if report.get("status") != "ok":
        pytest.fail(f"{what} job {outcome.name} reported {report}", pytrace=False)
    return report


@pytest.fixture(scope="module")
def full_backup(runner: Runner, cronjobs: dict[str, Any]) -> dict[str, Any]:
    """A heartbeat (the drill's data-age yardstick), then a full backup; the backup's report."""
    heartbeat = runner.run(named(cronjobs, "-heartbeat"))  # prints one plain line, no report
    if not heartbeat.succeeded:
        pytest.fail(f"heartbeat job {heartbeat.name} failed:\n{heartbeat.tail()}", pytrace=False)
    return must_succeed(runner.run(named(cronjobs, "-backup-full")), "full backup")


@pytest.mark.backup_mode("run-job")
def test_full_backup_lands_in_the_repository(
    full_backup: dict[str, Any], record_testsuite_property: Any
) -> None:
    """The job took a full backup and found it listed by `pgbackrest info` afterwards."""
    record_testsuite_property("full_backup", json.dumps(full_backup, sort_keys=True))
    assert full_backup["type"] == "full", full_backup
    assert FULL_LABEL.match(full_backup["label"]), f"not a full backup label: {full_backup}"
    assert full_backup["backups_retained"] >= 1, full_backup
    assert full_backup["database_bytes"] > 0, full_backup


@pytest.mark.backup_mode("run-job")
def test_restore_drill_restores_the_new_backup(
    runner: Runner,
    cronjobs: dict[str, Any],
    full_backup: dict[str, Any],
    record_testsuite_property: Any,
) -> None:
    """The drill restores the newest backup (ours or a later one) and verifies the data."""
    report = must_succeed(runner.run(named(cronjobs, "-restore-drill")), "restore drill")
    record_testsuite_property("restore_drill", json.dumps(report, sort_keys=True))
    assert report["newest_backup"] >= full_backup["label"], (
        f"the drill restored {report['newest_backup']}, older than the backup just taken "
        f"({full_backup['label']}): the repository does not list the new backup"
    )
    assert report.get("tables"), f"the drill checked no tables: {report}"


@pytest.mark.backup_mode("recent")
def test_backup_cronjobs_succeeded_on_schedule(cronjobs: dict[str, Any]) -> None:
    """Each backup, heartbeat and restore-drill CronJob succeeded at its latest due run."""
    now = dt.datetime.now(dt.UTC)
    problems = [p for job in cronjobs.values() if (p := recency_problem(job, now)) is not None]
    assert not problems, "stale backups: " + "; ".join(problems)
