"""Backup throughput, restore time, and measured RPO/RTO for a ~1 GiB database.

Uses the backup lab of tests/backup (Azurite over HTTPS, pgBackRest TLS server, the image's own
job scripts) with durable, chart-tuned settings and the chart's archive_timeout:
1. pgbench data of about 1 GiB, then a full backup through the backup job (throughput);
2. a writer commits one timestamped row every 50 ms (and the heartbeat job runs every 10 s);
   after a random 90-150 s (more than one archive_timeout) the primary crashes
   (immediate stop) and its volume counts as lost;
3. the restore drill restores the latest state from the repository (restore + recovery time);
4. PostgreSQL starts on the restored directory and the inventory API is started against it;
   RTO ends when the API's /readyz answers 200.
RPO = commit time of the last acknowledged row - commit time of the newest restored row.

    .venv/bin/python -m benchmarks.postgres.backup_recovery [--scale 68] [--archive-timeout 60]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pg8000.native
import requests

from benchmarks.postgres.chart_tuning import chart_tuning
from tests.backup.lab import APP_DB, BackupLab, as_postgres, running_backup_lab
from tests.support.postgres import PG_BIN, free_port
from tests.support.tools import REPO_ROOT

T = TypeVar("T")


class Writer(threading.Thread):
    """Commits one row per interval; remembers the last commit the server acknowledged."""

    def __init__(self, lab: BackupLab) -> None:
        super().__init__(daemon=True)
        self.lab, self.stop_event = lab, threading.Event()
        self.last_id, self.last_at = 0, 0.0

    def run(self) -> None:
        conn = self.lab.primary.connect(APP_DB)
        try:
            while not self.stop_event.is_set():
                row = conn.run(
                    "INSERT INTO rpo_probe (at) VALUES (clock_timestamp()) "
                    "RETURNING id, extract(epoch FROM at)"
                )
                self.last_id, self.last_at = int(row[0][0]), float(row[0][1])
                time.sleep(0.05)
        except pg8000.native.InterfaceError:
            return  # the crash
        except pg8000.native.DatabaseError:
            return


def timed(label: str, func: Callable[[], T]) -> tuple[T, float]:
    """Run func(), print and return (result, seconds)."""
    start = time.monotonic()
    result = func()
    seconds = time.monotonic() - start
    print(f"{label}: {seconds:.1f} s", flush=True)
    return result, seconds


def start_restored(data_dir: Path, port: int) -> None:
    """Start PostgreSQL on the drill's restored directory, on TCP for the API."""
    log = data_dir.parent / "restored.log"
    subprocess.run(
        as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data_dir), "-l", str(log), "-w",
                     "-o", f"-p {port} -c listen_addresses=127.0.0.1 "
                     f"-c unix_socket_directories={data_dir.parent} -c archive_mode=off", "start"]),
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip


def api_ready_seconds(lab: BackupLab, db_port: int) -> float:
    """Start the inventory API against the restored database; seconds until /readyz is 200."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql+pg8000://{lab.primary.user}:{lab.primary.password}"
        f"@127.0.0.1:{db_port}/{APP_DB}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PYTHONPATH": str(REPO_ROOT / "application" / "src"),
    }
    start = time.monotonic()
    api = subprocess.Popen([sys.executable, "-m", "inventory_api"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        while time.monotonic() - start < 120:
            try:
                if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    return time.monotonic() - start
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the API did not become ready within 120 s")
    finally:
        api.terminate()
        api.wait(timeout=10)


def migrate(lab: BackupLab) -> None:
    """The API's schema in the primary, so the restored copy can serve the API."""
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql+pg8000://{lab.primary.user}:{lab.primary.password}"
        f"@127.0.0.1:{lab.primary.port}/{APP_DB}",
        "PYTHONPATH": str(REPO_ROOT / "application" / "src"),
    }
    subprocess.run([sys.executable, "-m", "inventory_api", "migrate"], env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip


def crash_during_writes(
    lab: BackupLab, env: dict[str, str], seconds: float
) -> tuple[Writer, float]:
    """Write (and heartbeat every 10 s) for `seconds`, then crash the primary; (writer, time)."""
    writer = Writer(lab)
    writer.start()
    beat_stop = threading.Event()

    def heartbeats() -> None:
        while not beat_stop.wait(10):
            lab.run_job("heartbeat", env=env)

    threading.Thread(target=heartbeats, daemon=True).start()
    time.sleep(seconds)
    lab.primary.stop("immediate")  # the crash; the volume is considered lost from here
    crash_at = time.time()
    beat_stop.set()
    writer.stop_event.set()
    writer.join(timeout=10)
    print(f"crashed after {seconds:.1f} s of writes", flush=True)
    return writer, crash_at


def main(argv: list[str] | None = None) -> int:
    """Run the scenario and print the numbers (text and JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=68, help="pgbench scale; 68 is ~1 GiB")
    parser.add_argument("--archive-timeout", type=int, default=60, help="chart default: 60 s")
    parser.add_argument("--write-seconds", type=float, default=0.0, help="0 = random 90-150 s")
    args = parser.parse_args(argv)
    settings = {
        **chart_tuning(),
        "max_wal_senders": "3",
        "huge_pages": "off",
        "archive_timeout": str(args.archive_timeout),
    }
    report: dict[str, Any] = {"archive_timeout_seconds": args.archive_timeout}
    with running_backup_lab(settings) as lab:
        env = lab.job_env(
            DRILL_WORK_DIR=str(lab.work / "drill"),
            DRILL_DATABASE=APP_DB,
            DRILL_TABLES="public.rpo_probe",
            DRILL_ARCHIVE_TIMEOUT_SECONDS=str(args.archive_timeout),
        )
        migrate(lab)
        load = [str(PG_BIN / "pgbench"), "-i", "-q", "-s", str(args.scale), "-h", "127.0.0.1",
                "-p", str(lab.primary.port), "-U", lab.primary.user, APP_DB]  # fmt: skip
        pw = {**os.environ, "PGPASSWORD": lab.primary.password}
        _, load_s = timed("pgbench -i", lambda: subprocess.run(load, env=pw, check=True))
        size = int(lab.app_sql(f"SELECT pg_database_size('{APP_DB}')")[0][0])
        report["database_bytes"] = size
        lab.app_sql("CREATE TABLE rpo_probe (id bigserial PRIMARY KEY, at timestamptz)")
        assert lab.run_job("heartbeat", env=env).returncode == 0
        full, _ = timed("full backup", lambda: lab.run_job("backup", "--type", "full", env=env))
        if full.returncode != 0:
            raise RuntimeError(full.stderr)
        report["backup"] = full.report
        report["backup_mb_per_s"] = round(size / 1e6 / full.report["seconds"], 1)

        writer, crash_at = crash_during_writes(
            lab, env, args.write_seconds or random.uniform(90, 150)
        )
        report["last_acknowledged_id"] = writer.last_id
        # The primary is gone: the drill runs without recording its result there.
        drill_env = {k: v for k, v in env.items() if k != "PGHOST"}
        drill, _ = timed(
            "restore drill", lambda: lab.run_job("restore_drill", "--keep", env=drill_env)
        )
        if drill.returncode != 0:
            raise RuntimeError(drill.stderr)
        report["drill"] = drill.report
        data_dir = lab.work / "drill" / "drill" / "pgdata"
        port = free_port()
        _, start_s = timed("start restored server", lambda: start_restored(data_dir, port))
        conn = pg8000.native.Connection(lab.primary.user, password=lab.primary.password,
                                        host="127.0.0.1", port=port, database=APP_DB)  # fmt: skip
        # The newest commit in the restore: a probe row, or a heartbeat if no probe row survived.
        newest = conn.run(
            "SELECT coalesce(max(id), 0), extract(epoch FROM greatest(max(at), "
            "(SELECT max(beat_at) FROM dbops.heartbeat))) FROM rpo_probe"
        )
        conn.close()
        restored_id, restored_at = int(newest[0][0]), float(newest[0][1] or 0)
        ready_s = api_ready_seconds(lab, port)
        report.update(
            {
                "restored_last_id": restored_id,
                "rows_lost": writer.last_id - restored_id,
                "rpo_seconds": round(writer.last_at - restored_at, 2),
                "restore_seconds": drill.report["restore_seconds"],
                "recovery_seconds": drill.report["recovery_seconds"],
                "server_start_seconds": round(start_s, 2),
                "api_ready_seconds": round(ready_s, 2),
                "rto_seconds": round(
                    drill.report["restore_seconds"]
                    + drill.report["recovery_seconds"]
                    + start_s
                    + ready_s,
                    2,
                ),
                "load_seconds": round(load_s, 1),
                "seconds_since_crash": round(time.time() - crash_at, 1),
            }
        )
        subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data_dir), "-m", "fast",
                                    "stop"]), check=False, capture_output=True)  # fmt: skip
    print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
