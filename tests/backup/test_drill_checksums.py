"""The drill reads every page of the restored copy (pg_checksums --check) and fails on a bad one.

A page corrupted on the primary travels into the backups (pgBackRest only warns about it), and
nothing reads it until a query touches the table: the drill is where it must show. The test uses
its own lab, because the corruption stays in its primary for good.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backup.lab import APP_DB, BackupLab, chart_archive_timeout, running_backup_lab

pytestmark = pytest.mark.slow

PAGE = 8192


@pytest.fixture(scope="module")
def corrupt_lab() -> Iterator[BackupLab]:
    """A lab whose primary has one corrupted heap page in public.damaged, then a full backup."""
    with running_backup_lab() as lab:
        lab.app_sql(
            "CREATE TABLE damaged AS SELECT i, md5(i::text) AS v FROM generate_series(1, 2000) i"
        )
        lab.app_sql("CREATE TABLE intact (i int)")
        relpath = lab.primary.superuser_sql("SELECT pg_relation_filepath('damaged')", APP_DB)
        lab.primary.stop()  # the shutdown checkpoint writes every page; then flip bytes in one
        flip(lab.primary.data_dir / relpath, page=1)
        lab.primary.start()
        env = lab.job_env()
        assert lab.run_job("heartbeat", env=env).returncode == 0
        full = lab.run_job("backup", "--type", "full", env=env)
        assert full.returncode == 0, full.stderr
        assert lab.run_job("heartbeat", env=env).returncode == 0
        lab.wait_archived()
        yield lab


def flip(path: Path, page: int) -> None:
    """Invert 16 bytes in the middle of a page's tuple area: its checksum no longer matches."""
    with path.open("r+b") as data:
        data.seek(page * PAGE + PAGE // 2)
        chunk = data.read(16)
        data.seek(page * PAGE + PAGE // 2)
        data.write(bytes(b ^ 0xFF for b in chunk))


def drill(lab: BackupLab, name: str, tables: str) -> tuple[int, dict[str, object], str]:
    env = lab.job_env(
        DRILL_WORK_DIR=str(lab.work / f"drill-{name}"),
        DRILL_DATABASE=APP_DB,
        DRILL_TABLES=tables,
        DRILL_ARCHIVE_TIMEOUT_SECONDS=str(chart_archive_timeout()),
    )
    result = lab.run_job("restore_drill", env=env)
    return result.returncode, result.report, result.stderr


def test_drill_fails_on_a_corrupt_page_no_query_reads(corrupt_lab: BackupLab) -> None:
    """The key tables read fine; only pg_checksums over the whole copy finds the damage."""
    code, report, stderr = drill(corrupt_lab, "corrupt", "public.intact,dbops.heartbeat")
    assert code == 1, report
    assert "corrupt pages in the restored copy" in stderr, stderr
    assert "checksum verification failed" in stderr, stderr
    assert "block 1" in stderr, stderr
    assert report["status"] == "failed"
