"""Backups to Azure Blob (Azurite) and restores from them, through the CronJobs' own scripts.

One history is written once per session: full backup, canary rows A, differential backup,
canary rows B, a recorded target time, canary rows C. Restores must then contain exactly
A+B+C (latest) and exactly A+B (point in time), and broken repositories must fail the drill.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import pytest

from tests.backup.lab import (
    APP_DB,
    CONTAINER,
    BackupLab,
    as_postgres,
    lab_owner,
    write_passphrase,
)
from tests.support.postgres import PG_BIN, free_port

pytestmark = pytest.mark.slow

CANARY_MD5 = (
    "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
    "FROM public.canary t"
)
DRILL_TABLES = "public.canary,dbops.heartbeat"


@dataclass(frozen=True)
class History:
    """What the primary looked like at the moments the restores must reproduce."""

    full: dict[str, Any]
    diff: dict[str, Any]
    at_target: tuple[int, str]
    target_time: str
    latest: tuple[int, str]


def _insert(lab: BackupLab, first: int, last: int, batch: str) -> None:
    lab.app_sql(
        "INSERT INTO canary (id, batch, written_at) "  # noqa: S608 - test literals
        f"SELECT i, '{batch}', clock_timestamp() FROM generate_series({first}, {last}) i"
    )


def _canary(lab: BackupLab) -> tuple[int, str]:
    count, digest = lab.app_sql(CANARY_MD5)[0]
    return int(count), str(digest)


@pytest.fixture(scope="session")
def history(backup_lab: BackupLab) -> History:
    """Write the canary history around a full and a differential backup."""
    lab = backup_lab
    env = lab.job_env()
    lab.app_sql("CREATE TABLE canary (id int PRIMARY KEY, batch text, written_at timestamptz)")
    assert lab.run_job("heartbeat", env=env).returncode == 0
    full = lab.run_job("backup", "--type", "full", env=env)
    assert full.returncode == 0, full.stderr
    _insert(lab, 1, 3, "A")
    diff = lab.run_job("backup", "--type", "diff", env=env)
    assert diff.returncode == 0, diff.stderr
    _insert(lab, 4, 6, "B")
    assert lab.run_job("heartbeat", env=env).returncode == 0
    at_target = _canary(lab)
    lab.wait_archived()  # B gets its own WAL segment: the missing-WAL test deletes it
    time.sleep(1.0)
    target_time = lab.app_sql("SELECT clock_timestamp()::text")[0][0]
    time.sleep(1.0)
    _insert(lab, 7, 9, "C")
    assert lab.run_job("heartbeat", env=env).returncode == 0
    latest = _canary(lab)
    lab.wait_archived()
    return History(full.report, diff.report, at_target, target_time, latest)


def drill_env(lab: BackupLab, name: str, **overrides: str) -> dict[str, str]:
    """Environment of the restore-drill CronJob with its own throwaway directory."""
    work = lab.work / f"drill-{name}"
    settings = {
        "DRILL_WORK_DIR": str(work),
        "DRILL_DATABASE": APP_DB,
        "DRILL_TABLES": DRILL_TABLES,
        # What the chart renders: the primary's own archive_timeout.
        "DRILL_ARCHIVE_TIMEOUT_SECONDS": lab.primary.settings["archive_timeout"],
    }
    return lab.job_env(**{**settings, **overrides})


def test_full_and_differential_backups_are_recorded(
    history: History, backup_lab: BackupLab
) -> None:
    assert history.full["status"] == "ok"
    assert history.full["type"] == "full"
    assert history.diff["type"] == "diff"
    assert history.diff["label"].startswith(history.full["label"].split("F")[0])
    assert history.diff["label"].endswith("D")
    rows = backup_lab.app_sql(
        "SELECT job, succeeded FROM dbops.job_runs WHERE job LIKE 'backup-%' ORDER BY id"
    )
    assert rows == [["backup-full", True], ["backup-diff", True]]


def test_wal_is_archived_asynchronously_to_azure(history: History, backup_lab: BackupLab) -> None:
    del history
    names = backup_lab.azurite.blob_names(CONTAINER, "inventory/archive/main/")
    wal = [name for name in names if name.rsplit("/", 1)[-1][:24].isalnum() and "-" in name]
    assert len(wal) >= 3, names
    failed = backup_lab.primary.superuser_sql("SELECT failed_count FROM pg_stat_archiver")
    assert failed == "0"
    # Asynchronous push leaves its status files in the spool directory.
    spool = backup_lab.work / "spool" / "archive" / "main" / "out"
    assert any(spool.glob("*.ok")), list(spool.iterdir()) if spool.exists() else "no spool"


def test_drill_restores_latest_state_exactly(history: History, backup_lab: BackupLab) -> None:
    result = backup_lab.run_job("restore_drill", env=drill_env(backup_lab, "latest"))
    assert result.returncode == 0, result.stderr
    canary = result.report["tables"]["public.canary"]
    assert (canary["rows"], canary["md5"]) == history.latest
    archive_timeout = int(backup_lab.primary.settings["archive_timeout"])
    assert result.report["max_data_age_seconds"] == 3 * archive_timeout
    assert result.report["data_age_seconds"] < 3 * archive_timeout
    assert result.report["restore_seconds"] > 0
    assert result.report["replayed_to_lsn"]
    assert result.report["checksum_blocks_verified"] > 0
    recorded = backup_lab.app_sql(
        "SELECT job, succeeded FROM dbops.job_runs WHERE job IN ('restore-drill', "
        "'repository-verify') ORDER BY id DESC LIMIT 2"
    )
    assert sorted(map(tuple, recorded)) == [("repository-verify", True), ("restore-drill", True)]


def test_point_in_time_restore_between_two_writes(history: History, backup_lab: BackupLab) -> None:
    result = backup_lab.run_job(
        "restore_drill", "--target-time", history.target_time.replace(" ", "T") + ":00",
        env=drill_env(backup_lab, "pitr"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    canary = result.report["tables"]["public.canary"]
    assert (canary["rows"], canary["md5"]) == history.at_target
    assert history.at_target != history.latest


def test_drill_refuses_target_before_first_backup(history: History, backup_lab: BackupLab) -> None:
    del history
    result = backup_lab.run_job(
        "restore_drill", "--target-time", "2020-01-01T00:00:00+00:00",
        env=drill_env(backup_lab, "too-early"),
    )  # fmt: skip
    assert result.returncode == 1
    assert "is before the end of the oldest backup" in result.stderr
    assert result.report["status"] == "failed"


def test_drill_fails_when_data_is_older_than_three_archive_timeouts(
    history: History, backup_lab: BackupLab
) -> None:
    """A 1 s archive_timeout allows 3 s of data age; the newest heartbeat is older than that."""
    del history
    time.sleep(4)
    result = backup_lab.run_job(
        "restore_drill",
        env=drill_env(backup_lab, "stale", DRILL_ARCHIVE_TIMEOUT_SECONDS="1"),
    )
    assert result.returncode == 1, result.report
    assert "above the limit of 3 s (3 x archive_timeout)" in result.stderr, result.stderr


def test_drill_needs_the_archive_timeout_it_is_bounded_by(
    history: History, backup_lab: BackupLab
) -> None:
    del history
    result = backup_lab.run_job(
        "restore_drill", env=drill_env(backup_lab, "no-timeout", DRILL_ARCHIVE_TIMEOUT_SECONDS="")
    )
    assert result.returncode == 1
    assert "DRILL_ARCHIVE_TIMEOUT_SECONDS is required" in result.stderr


def test_repository_is_encrypted_and_unreadable_without_the_passphrase(
    history: History, backup_lab: BackupLab
) -> None:
    """Every file pgBackRest wrote is ciphertext; no passphrase or a wrong one reads nothing."""
    del history
    lab = backup_lab
    client = lab.azurite.service_client().get_container_client(CONTAINER)
    info_blob = client.download_blob("inventory/backup/main/backup.info").readall()
    assert info_blob[:8] == b"Salted__", info_blob[:200]  # OpenSSL's salted ciphertext
    manifest = next(n for n in lab.azurite.blob_names(CONTAINER, "inventory/backup/main/")
                    if n.endswith("/backup.manifest"))  # fmt: skip
    assert client.download_blob(manifest).readall()[:8] == b"Salted__"
    no_key = drill_env(lab, "no-passphrase", BACKUP_CIPHER_PASS_FILE="")
    result = lab.run_job("restore_drill", env=no_key)
    assert result.returncode == 1, result.report
    assert "encrypted with another passphrase or none" in result.stderr, result.stderr
    wrong = write_passphrase(lab.work / "wrong-cipher" / "passphrase")
    result = lab.run_job(
        "restore_drill", env=drill_env(lab, "wrong", BACKUP_CIPHER_PASS_FILE=str(wrong))
    )
    assert result.returncode == 1, result.report
    assert "encrypted with another passphrase or none" in result.stderr, result.stderr


def test_drill_fails_on_wrong_credentials(history: History, backup_lab: BackupLab) -> None:
    del history
    wrong = "d3Jvbmcta2V5LW5vdC10aGUtYWNjb3VudC1rZXk="
    result = backup_lab.run_job(
        "restore_drill", env=drill_env(backup_lab, "bad-key", PGBACKREST_REPO1_AZURE_KEY=wrong)
    )
    assert result.returncode == 1
    assert "repository unusable for stanza main" in result.stderr
    assert "403" in result.stderr


def test_drill_fails_on_missing_wal_segment(history: History, backup_lab: BackupLab) -> None:
    """Take one WAL segment after the last backup out of the repository, drill, put it back."""
    del history
    azurite = backup_lab.azurite
    client = azurite.service_client().get_container_client(CONTAINER)
    blobs = azurite.blob_names(CONTAINER, "inventory/archive/main/")
    names = sorted(name.rsplit("/", 1)[-1] for name in blobs)
    last_backup_start = [name for name in names if name.endswith(".backup")][-1][:24]
    after = [n for n in names if re.match(r"^[0-9A-F]{24}-", n) and n[:24] > last_backup_start]
    assert len(after) >= 2, names
    victim = next(blob for blob in blobs if blob.endswith(after[-2]))  # not the newest one
    saved = client.download_blob(victim).readall()
    client.delete_blob(victim)
    try:
        result = backup_lab.run_job("restore_drill", env=drill_env(backup_lab, "missing-wal"))
    finally:
        client.upload_blob(victim, saved)
    assert result.returncode == 1, result.report
    assert f"WAL segment {after[-2][:24]} is missing" in result.stderr, result.stderr
    assert result.report["status"] == "failed"


def test_entrypoint_restores_an_empty_volume_from_the_repository(
    history: History, backup_lab: BackupLab
) -> None:
    """RESTORE_FROM_BACKUP=latest: the database container's own disaster-recovery start."""
    lab = backup_lab
    root = lab.work / "entrypoint-restore"
    root.mkdir()
    (root / "hba.conf").write_text("local all all trust\n")
    port = free_port()
    # Like the chart's config, but archiving off so the copy never writes into the shared repo.
    (root / "postgresql.conf").write_text(
        f"listen_addresses = ''\nport = {port}\nunix_socket_directories = '{root}'\n"
        f"hba_file = '{root / 'hba.conf'}'\narchive_mode = off\nmax_connections = 200\n"
        "max_wal_senders = 3\n"
    )
    if owner := lab_owner():
        os.chown(root, *owner)
    env = {
        **lab.base_env,
        "PGDATA": str(root / "pgdata"),
        "PGPORT": str(port),
        "BACKUP_CONFIG": str(root / "pgbackrest.conf"),
        "BACKUP_PG_SOCKET": str(root),
        "RESTORE_FROM_BACKUP": "latest",
        "POSTGRES_CONFIG_FILE": str(root / "postgresql.conf"),
    }
    log = root / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            as_postgres(["/usr/bin/python3", "-m", "dbops.entrypoint"]),
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "database system is ready to accept connections" not in log.read_text():
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        assert "restored" in log.read_text()
        rows = subprocess.run(
            as_postgres([f"{PG_BIN}/psql", "-X", "-A", "-t", "-h", str(root), "-p", str(port),
                         "-U", "postgres", "-d", APP_DB, "-c", CANARY_MD5]),
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        count, digest = rows.split("|")
        assert (int(count), digest) == history.latest
        assert not (root / "pgdata.restore-in-progress").exists()
    finally:
        server.terminate()  # runuser passes SIGTERM on; postgres does a smart shutdown
        try:
            server.wait(timeout=60)
        finally:
            subprocess.run(
                as_postgres([f"{PG_BIN}/pg_ctl", "-D", str(root / "pgdata"), "-m", "immediate",
                             "stop"]),
                capture_output=True, check=False,
            )  # fmt: skip
