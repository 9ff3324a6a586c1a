"""A second repository in the paired region (repo2: its own storage service, key and passphrase):
WAL is archived to both, a full backup goes to each, and a drill restores from repo2 alone, even
with repo1 unreachable (the region-loss case). Its own lab: two Azurite services."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.backup.lab import (
    APP_DB,
    CONTAINER,
    PAIRED_CONTAINER,
    BackupLab,
    chart_archive_timeout,
    running_backup_lab,
)
from tests.support.azurite import Azurite
from tests.support.postgres import free_port

pytestmark = pytest.mark.slow

CANARY = (
    "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
    "FROM public.canary t"
)


@dataclass(frozen=True)
class Paired:
    lab: BackupLab
    second: Azurite
    latest: tuple[int, str]


@pytest.fixture(scope="module")
def paired() -> Iterator[Paired]:
    """Rows, a full backup to each repository, more rows, everything archived."""
    with running_backup_lab(paired=True) as lab:
        env = lab.job_env()
        lab.app_sql("CREATE TABLE canary (id int PRIMARY KEY, note text)")
        lab.app_sql("INSERT INTO canary SELECT i, 'before' FROM generate_series(1, 50) i")
        assert lab.run_job("heartbeat", env=env).returncode == 0
        for repo in ("1", "2"):
            result = lab.run_job(
                "backup", "--type", "full", env={**env, "BACKUP_TARGET_REPO": repo}
            )
            assert result.returncode == 0, result.stderr
            assert result.report["repo"] == int(repo)
        lab.app_sql("INSERT INTO canary SELECT i, 'after' FROM generate_series(51, 80) i")
        assert lab.run_job("heartbeat", env=env).returncode == 0
        lab.wait_archived()
        count, digest = lab.app_sql(CANARY)[0]
        yield Paired(lab, lab.notes["paired_azurite"], (int(count), str(digest)))


def drill_env(lab: BackupLab, name: str, **overrides: str) -> dict[str, str]:
    return lab.job_env(
        DRILL_WORK_DIR=str(lab.work / f"drill-{name}"),
        DRILL_DATABASE=APP_DB,
        DRILL_TABLES="public.canary,dbops.heartbeat",
        DRILL_ARCHIVE_TIMEOUT_SECONDS=str(chart_archive_timeout()),
        **overrides,
    )


def test_both_repositories_hold_backups_and_wal(paired: Paired) -> None:
    for azurite, container in ((paired.lab.azurite, CONTAINER), (paired.second, PAIRED_CONTAINER)):
        names = azurite.blob_names(container, "inventory/")
        assert any(n.endswith("/backup.manifest") for n in names), (container, names)
        assert any("/archive/main/" in n and n.endswith(".lz4") for n in names), (container, names)


def test_each_repository_records_its_backups_under_its_own_job_name(paired: Paired) -> None:
    """The backup alerts watch each repository's own series (job_name backup-full-repo2), so
    a repo1 backup can never hide a missing repo2 one."""
    rows = paired.lab.app_sql(
        "SELECT job, succeeded FROM dbops.job_runs WHERE job LIKE 'backup-%' ORDER BY id"
    )
    assert rows == [["backup-full", True], ["backup-full-repo2", True]]


def test_drill_restores_from_the_paired_repository_with_the_primary_region_gone(
    paired: Paired,
) -> None:
    """repo1 unreachable (closed port, wrong key): the repo2 drill needs nothing from it, and
    records itself and its verify under repo2's own job names."""
    gone = {"BACKUP_AZURE_STORAGE_PORT": str(free_port()), "PGBACKREST_REPO1_AZURE_KEY": "bm9uZQ=="}
    result = paired.lab.run_job(
        "restore_drill", env=drill_env(paired.lab, "repo2", DRILL_REPO="2", **gone)
    )
    assert result.returncode == 0, result.stderr
    assert result.report["repo"] == 2
    canary = result.report["tables"]["public.canary"]
    assert (canary["rows"], canary["md5"]) == paired.latest
    assert result.report["checksum_blocks_verified"] > 0
    recorded = paired.lab.app_sql(
        "SELECT job, succeeded FROM dbops.job_runs WHERE job LIKE '%-repo2' "
        "AND job NOT LIKE 'backup-%' ORDER BY id DESC LIMIT 2"
    )
    assert sorted(map(tuple, recorded)) == [
        ("repository-verify-repo2", True),
        ("restore-drill-repo2", True),
    ]


def test_paired_repository_has_its_own_passphrase(paired: Paired) -> None:
    lab = paired.lab
    repo1_passphrase = lab.base_env["BACKUP_CIPHER_PASS_FILE"]
    env = drill_env(
        lab, "repo2-wrong-key", DRILL_REPO="2", BACKUP_REPO2_CIPHER_PASS_FILE=repo1_passphrase
    )
    result = lab.run_job("restore_drill", env=env)
    assert result.returncode == 1, result.report
    assert "encrypted with another passphrase or none" in result.stderr, result.stderr


def test_drill_of_an_unconfigured_repository_is_refused(paired: Paired) -> None:
    result = paired.lab.run_job("restore_drill", env=drill_env(paired.lab, "repo3", DRILL_REPO="3"))
    assert result.returncode == 1
    assert "DRILL_REPO=3 is not configured (set BACKUP_REPO3_AZURE_ACCOUNT)" in result.stderr
