"""Backup, restore and recovery time against database size, on data that does not compress.

pgbench data compresses about 8.7x with lz4, which flatters every backup figure. Here each size
is random bytea (pgcrypto's gen_random_bytes, TOAST storage EXTERNAL so PostgreSQL does not try
to compress it either), so the repository holds about as many bytes as the database. Per size,
in a fresh backup lab (tests/backup/lab.py: Azurite over HTTPS, the pgBackRest TLS server, the
image's own job scripts, encrypted repository, durable chart-tuned settings):
1. load SIZE of random rows, wait until its WAL is archived (timed: the asynchronous push
   catching up), heartbeat, full backup through the backup job;
2. write another `--wal-share` of SIZE in random rows after the backup (WAL the restore must
   replay), heartbeat, wait until it is archived;
3. the restore drill: pgbackrest restore, recovery to the end of the archive, the checks,
   pg_checksums over the copy. Restore, recovery and the whole drill are timed.

    .venv/bin/python -m benchmarks.dr.size_curve [--sizes 256,1024,2048] [--wal-share 0.1]

Prints one table row per size and a JSON report last. Disk: about 4 x the largest size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from benchmarks.postgres.chart_tuning import chart_tuning
from tests.backup.lab import (
    APP_DB,
    BackupLab,
    as_postgres,
    chart_archive_timeout,
    running_backup_lab,
)

ROW_BYTES = 8 * 1024  # eight gen_random_bytes(1024) calls per row
MIB = 1024 * 1024
COLUMNS = (
    ("size_mib", "size MiB", 8),
    ("database_mb", "db MB", 8),
    ("repository_mb", "repo MB", 8),
    ("compression", "ratio", 6),
    ("archive_catch_up_s", "archive s", 10),
    ("backup_s", "backup s", 9),
    ("backup_mb_s", "MB/s", 6),
    ("wal_mb", "WAL MB", 7),
    ("restore_s", "restore s", 10),
    ("recovery_s", "recover s", 10),
    ("drill_s", "drill s", 8),
    ("load_1m", "load", 5),
)


def insert_random(lab: BackupLab, first: int, rows: int, batch: int = 4096) -> None:
    """Insert `rows` rows of ROW_BYTES random bytes, in committed batches."""
    for start in range(first, first + rows, batch):
        count = min(batch, first + rows - start)
        lab.app_sql(
            "INSERT INTO noise (id, payload) SELECT i, "  # noqa: S608 - integers only
            + " || ".join(["gen_random_bytes(1024)"] * (ROW_BYTES // 1024))
            + f" FROM generate_series({start}, {start + count - 1}) i"
        )


def measure(size_mib: int, wal_share: float, settings: dict[str, str]) -> dict[str, Any]:
    """One size in its own lab: load, full backup, more writes, drill."""
    rows = size_mib * MIB // ROW_BYTES
    extra = max(1, int(rows * wal_share))
    with running_backup_lab(settings) as lab:
        lab.primary.superuser_sql("CREATE EXTENSION IF NOT EXISTS pgcrypto", APP_DB)
        lab.app_sql("CREATE TABLE noise (id int PRIMARY KEY, payload bytea NOT NULL)")
        lab.app_sql("ALTER TABLE noise ALTER COLUMN payload SET STORAGE EXTERNAL")
        env = lab.job_env()
        # The stanza first (the backup job would create it), or the load's WAL cannot archive.
        subprocess.run(
            as_postgres(["pgbackrest", f"--config={lab.work / 'db' / 'pgbackrest.conf'}",
                         "--stanza=main", "stanza-create"]),
            check=True, capture_output=True,
        )  # fmt: skip
        started = time.monotonic()
        insert_random(lab, 1, rows)
        load_s = time.monotonic() - started
        # The load's WAL is pushed asynchronously; the backup's `check` waits only 60 s for it.
        started = time.monotonic()
        lab.wait_archived(timeout=3600)
        archive_s = time.monotonic() - started
        lab.primary.superuser_sql("CHECKPOINT")
        database = int(lab.app_sql(f"SELECT pg_database_size('{APP_DB}')")[0][0])
        assert lab.run_job("heartbeat", env=env).returncode == 0
        full = lab.run_job("backup", "--type", "full", env=env)
        if full.returncode != 0:
            raise RuntimeError(f"full backup failed: {full.stderr[-2000:]}")
        lsn_before = lab.primary.superuser_sql("SELECT pg_current_wal_lsn()")
        insert_random(lab, rows + 1, extra)
        assert lab.run_job("heartbeat", env=env).returncode == 0
        wal = int(
            lab.primary.superuser_sql(
                f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{lsn_before}')"
            )
        )
        lab.wait_archived(timeout=600)
        drill_env = lab.job_env(
            DRILL_WORK_DIR=str(lab.work / "drill"),
            DRILL_DATABASE=APP_DB,
            DRILL_TABLES="dbops.heartbeat",
            DRILL_ARCHIVE_TIMEOUT_SECONDS=settings["archive_timeout"],
            # Restoring gigabytes on a shared machine takes longer than three archive timeouts.
            DRILL_RECOVERY_TIMEOUT_SECONDS="3600",
        )
        started = time.monotonic()
        drill = lab.run_job("restore_drill", env=drill_env)
        drill_s = time.monotonic() - started
        report = drill.report
        if drill.returncode != 0:
            raise RuntimeError(f"drill failed: {drill.stderr[-2000:]}")
        repository = int(full.report["repository_bytes"])
        return {
            "size_mib": size_mib,
            "load_s": round(load_s, 1),
            "archive_catch_up_s": round(archive_s, 1),
            "database_mb": round(database / 1e6),
            "repository_mb": round(repository / 1e6),
            "compression": round(database / repository, 2),
            "backup_s": full.report["seconds"],
            "backup_mb_s": round(database / 1e6 / full.report["seconds"], 1),
            "wal_mb": round(wal / 1e6),
            "restore_s": report["restore_seconds"],
            "recovery_s": report["recovery_seconds"],
            "drill_s": round(drill_s, 1),
            "data_age_s": report["data_age_seconds"],
            "checksum_blocks": report["checksum_blocks_verified"],
            "load_1m": round(os.getloadavg()[0], 1),
        }


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a fixed-width text table."""
    lines = [" ".join(title.rjust(width) for _, title, width in COLUMNS)]
    lines += [" ".join(str(row[key]).rjust(width) for key, _, width in COLUMNS) for row in rows]
    return "\n".join(lines)


def sizes(text: str) -> list[int]:
    """Comma-separated MiB sizes, each at least 16."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--sizes {text!r}: comma-separated MiB, e.g. 256,1024"
        ) from None
    if not values or min(values) < 16:
        raise argparse.ArgumentTypeError(f"--sizes {text!r}: every size must be >= 16 MiB")
    return values


def main(argv: list[str] | None = None) -> int:
    """Run every size and print the table and the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=sizes, default=[256, 1024, 2048], help="MiB each")
    parser.add_argument("--wal-share", type=float, default=0.1, help="writes after the backup")
    args = parser.parse_args(argv)
    if not 0 < args.wal_share <= 1:
        parser.error("--wal-share must be in (0, 1]")
    settings = {
        **chart_tuning(),
        "max_wal_senders": "3",
        "huge_pages": "off",
        "archive_timeout": str(chart_archive_timeout()),
    }
    rows = []
    for size in args.sizes:
        print(f"measuring {size} MiB ...", flush=True)
        rows.append(measure(size, args.wal_share, settings))
        print(table(rows[-1:]), flush=True)
    print(table(rows))
    print(json.dumps({"cores": os.cpu_count(), "rows": rows}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
