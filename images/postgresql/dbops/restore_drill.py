"""Restore drill (a CronJob): prove the backups restore, and measure how long and how fresh.

Steps: read the repository (`pgbackrest info`), verify it (`pgbackrest verify`), restore the
latest backup plus all archived WAL (or a point in time) into a throwaway directory, start a
private PostgreSQL on it (no TCP, archiving off), wait for recovery to finish, then check:
- recovery replayed every WAL segment the repository held (a gap stops recovery early, which
  PostgreSQL would otherwise accept silently),
- the newest heartbeat row is at most three archive timeouts old (data age = the RPO actually
  achieved; DRILL_ARCHIVE_TIMEOUT_SECONDS is the archive_timeout the chart renders for the
  primary, so the limit cannot drift from the setting it bounds),
- each key table is readable, with its row count and a content checksum in the report,
- after a clean shutdown, `pg_checksums --check` reads every page of the restored copy: a
  page corrupted on the primary and carried into the backups fails the drill.
Any failed step exits non-zero with the reason; the outcome is recorded in dbops.job_runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dbops import pgbackrest_conf
from dbops.common import (
    PG_BIN,
    OpsError,
    int_setting,
    job_main,
    psql,
    record_job,
    repo_job,
    run,
    setting,
    storage_endpoint,
    wait_reachable,
)
from dbops.pgbackrest import PgBackRest

# Hot-standby recovery refuses settings below the primary's; pg_controldata records them.
CONTROL_SETTINGS = {
    "max_connections setting": "max_connections",
    "max_worker_processes setting": "max_worker_processes",
    "max_wal_senders setting": "max_wal_senders",
    "max_prepared_xacts setting": "max_prepared_transactions",
    "max_locks_per_xact setting": "max_locks_per_transaction",
}
# A segment is closed at most archive_timeout after its first write; one more period covers the
# heartbeat interval (at most one archive_timeout, the chart enforces it) and one the push.
ARCHIVE_TIMEOUTS_OF_DATA_AGE = 3
TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
WAL_NAME = re.compile(r"^[0-9A-F]{24}$")


def parse_target(text: str) -> dt.datetime:
    """An ISO 8601 time with an explicit offset (a zoneless time would be ambiguous)."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise OpsError(f"target time {text!r} is not ISO 8601") from None
    if value.tzinfo is None:
        raise OpsError(f"target time {text!r} needs a UTC offset, e.g. {text}+00:00")
    return value.astimezone(dt.UTC)


class PrivateServer:
    """A PostgreSQL on the restored directory: Unix socket in the work dir only, no archiving."""

    def __init__(self, work_dir: Path, data_dir: Path, database: str) -> None:
        self.work_dir, self.data_dir, self.database = work_dir, data_dir, database
        self.port = int_setting("DRILL_PORT", 55432, minimum=1)
        self.log = work_dir / "drill-postgresql.log"
        self.conf = work_dir / "drill-postgresql.conf"
        hba = work_dir / "drill-pg_hba.conf"
        ident = work_dir / "drill-pg_ident.conf"
        # trust is safe here: the socket directory is private (0700) to the drill's own user.
        hba.write_text("local all all trust\n")
        control = run([f"{PG_BIN}/pg_controldata", str(data_dir)], "reading pg_controldata")
        primary_settings = [
            f"{CONTROL_SETTINGS[key.strip()]} = {value.strip()}"
            for key, _, value in (line.partition(":") for line in control.splitlines())
            if key.strip() in CONTROL_SETTINGS
        ]
        ident.write_text("")
        self.conf.write_text(
            "\n".join(
                [
                    "listen_addresses = ''",
                    f"port = {self.port}",
                    f"unix_socket_directories = '{work_dir}'",
                    f"hba_file = '{hba}'",
                    f"ident_file = '{ident}'",
                    f"shared_buffers = '{setting('DRILL_SHARED_BUFFERS', '128MB')}'",
                    *primary_settings,
                    "archive_mode = off",
                    "logging_collector = off",
                ]
            )
            + "\n"
        )
        self.env: Mapping[str, str] = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PG")},
            "PGHOST": str(work_dir),
            "PGPORT": str(self.port),
            "PGUSER": "postgres",
            "PGDATABASE": database,
        }

    def start(self, timeout: int) -> None:
        """Start and wait until recovery has finished and the server is promoted."""
        try:
            run(
                [
                    f"{PG_BIN}/pg_ctl",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log),
                    "-o",
                    f"-c config_file={self.conf}",
                    "-w",
                    "-t",
                    str(timeout),
                    "start",
                ],
                "starting PostgreSQL on the restored data",
                timeout=timeout + 30,
            )
        except OpsError as error:
            raise OpsError(f"{error}\nserver log:\n{self.log_tail()}") from None
        deadline = time.monotonic() + timeout
        while self.sql("SELECT pg_is_in_recovery()")[0][0] == "t":
            if time.monotonic() > deadline:
                raise OpsError(f"recovery did not finish within {timeout} s\n{self.log_tail()}")
            time.sleep(0.5)

    def stop(self) -> None:
        """Fast shutdown; ignores a server that is not running."""
        if (self.data_dir / "postmaster.pid").exists():
            run(
                [f"{PG_BIN}/pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
                "stopping the drill server",
                timeout=120,
            )

    def sql(self, query: str) -> list[list[str]]:
        """Run SQL as postgres in the drill database."""
        return psql(query, "querying the restored database", env=self.env)

    def log_tail(self) -> str:
        """The end of the server log, for error messages."""
        return self.log.read_text()[-2000:] if self.log.exists() else "(no log)"


def wal_segment(name: str, segment_size: int) -> tuple[int, int]:
    """(timeline, segment number) of a WAL file name."""
    if not WAL_NAME.match(name):
        raise OpsError(f"unexpected WAL file name {name!r}")
    per_id = 0x1_0000_0000 // segment_size
    return int(name[:8], 16), int(name[8:16], 16) * per_id + int(name[16:24], 16)


def check_wal_replayed(server: PrivateServer, archive_max: str) -> str:
    """Fail when recovery stopped before the newest WAL segment the repository held."""
    lsn_text, size_text = server.sql(
        "SELECT pg_last_wal_replay_lsn(), setting FROM pg_settings WHERE name = 'wal_segment_size'"
    )[0]
    high, low = (int(part, 16) for part in lsn_text.split("/"))
    segment_size = int(size_text)
    replayed_segment = ((high << 32) + low - 1) // segment_size
    timeline, archived_segment = wal_segment(archive_max, segment_size)
    if replayed_segment < archived_segment:
        missing = f"{timeline:08X}{(replayed_segment + 1) * segment_size >> 32:08X}"
        missing += f"{(replayed_segment + 1) % (0x1_0000_0000 // segment_size):08X}"
        raise OpsError(
            f"recovery stopped at {lsn_text} but the repository holds WAL up to {archive_max}: "
            f"WAL segment {missing} is missing or unreadable, so the restore lost data"
        )
    return lsn_text


def table_report(server: PrivateServer, tables: list[str]) -> dict[str, dict[str, Any]]:
    """Row count and an md5 over every row (ordered text form) of each key table."""
    report: dict[str, dict[str, Any]] = {}
    for table in tables:
        if not TABLE_NAME.match(table):
            raise OpsError(f"DRILL_TABLES entry {table!r} is not schema.table in lower case")
        rows = server.sql(
            "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "  # noqa: S608 - table matched TABLE_NAME
            f"FROM {table} t"
        )
        report[table] = {"rows": int(rows[0][0]), "md5": rows[0][1]}
    return report


def heartbeat_age(server: PrivateServer, reference: dt.datetime, max_age: int) -> float:
    """Seconds between the newest heartbeat and `reference`; fails above `max_age`."""
    exists = server.sql("SELECT to_regclass('dbops.heartbeat') IS NOT NULL")[0][0]
    if exists != "t":
        raise OpsError("the restored database has no dbops.heartbeat table: no heartbeat ran")
    newest = server.sql("SELECT extract(epoch FROM max(beat_at)) FROM dbops.heartbeat")[0][0]
    if not newest:
        raise OpsError("dbops.heartbeat is empty in the restored database")
    age = reference.timestamp() - float(newest)
    if age > max_age:
        raise OpsError(
            f"newest heartbeat in the restore is {age:.0f} s older than {reference.isoformat()}, "
            f"above the limit of {max_age} s ({ARCHIVE_TIMEOUTS_OF_DATA_AGE} x archive_timeout): "
            "WAL archiving is behind or broken, or the heartbeat stopped"
        )
    return age


def max_data_age() -> int:
    """The data-age limit: ARCHIVE_TIMEOUTS_OF_DATA_AGE x the primary's archive_timeout."""
    setting("DRILL_ARCHIVE_TIMEOUT_SECONDS")  # required: no default may drift from the chart
    return ARCHIVE_TIMEOUTS_OF_DATA_AGE * int_setting("DRILL_ARCHIVE_TIMEOUT_SECONDS", 0, minimum=1)


def check_page_checksums(data_dir: Path) -> int:
    """pg_checksums --check on the stopped restored copy; returns the number of blocks read."""
    try:
        out = run(
            [f"{PG_BIN}/pg_checksums", "--check", "-D", str(data_dir)],
            "verifying the page checksums of the restored copy (pg_checksums --check)",
        )
    except OpsError as error:
        if "data checksums are not enabled" in str(error):
            raise OpsError(
                "the restored cluster has data checksums off, so its pages cannot be verified "
                "(the image initialises with --data-checksums; enable them with pg_checksums "
                "--enable on the stopped primary)"
            ) from None
        raise OpsError(f"corrupt pages in the restored copy: {error}") from None
    blocks = re.search(r"^Blocks scanned:\s+(\d+)$", out, re.MULTILINE)
    if blocks is None:
        raise OpsError(f"pg_checksums printed no block count: {out[-500:]}")
    return int(blocks[1])


def _record_verify(started: float, succeeded: bool, detail: dict[str, Any]) -> None:
    """Record the verify outcome; an unreachable primary must not stop a restore (DR)."""
    try:
        record_job(repo_job("repository-verify", "DRILL_REPO"), started, succeeded, detail)
    except OpsError as error:
        print(f"WARNING: {error}", file=sys.stderr)


def _verify(rest: PgBackRest) -> None:
    """pgbackrest verify, recorded as its own job (the repository-unverifiable alert)."""
    started = time.time()
    try:
        rest("verify", what="verifying the repository (pgbackrest verify)")
    except OpsError as error:
        _record_verify(started, False, {"error": str(error)})
        raise
    _record_verify(started, True, {})


def _restore(rest: PgBackRest, info: dict[str, Any], target: dt.datetime | None) -> float:
    """Check the target against the oldest backup, restore, and return the seconds it took."""
    backups = info.get("backup", [])
    if not backups:
        raise OpsError("the repository holds no backup to restore")
    first_consistent = dt.datetime.fromtimestamp(backups[0]["timestamp"]["stop"], dt.UTC)
    if target is not None and target < first_consistent:
        raise OpsError(
            f"target time {target.isoformat()} is before the end of the oldest backup "
            f"({backups[0]['label']}, consistent from {first_consistent.isoformat()}): "
            "nothing in the repository can restore to it"
        )
    _verify(rest)
    options = ["--archive-mode=off"]  # the throwaway copy must never archive into the repo
    if target is not None:
        stamp = target.strftime("%Y-%m-%d %H:%M:%S.%f+00")
        options += ["--type=time", f"--target={stamp}", "--target-action=promote"]
    clock = time.monotonic()
    rest("restore", *options, what="restoring into the drill directory (pgbackrest restore)")
    return time.monotonic() - clock


def drill(target: dt.datetime | None, keep: bool) -> dict[str, Any]:
    """Run the whole drill; returns the report."""
    drill_started = dt.datetime.now(dt.UTC)
    # Our own subdirectory: the volume's root belongs to root (fsGroup), we cannot chmod it.
    work_dir = Path(setting("DRILL_WORK_DIR", "/restore")) / "drill"
    data_dir = work_dir / "pgdata"
    os.environ["DRILL_DATA_DIR"] = str(data_dir)
    timeout = int_setting("DRILL_RECOVERY_TIMEOUT_SECONDS", 3600, minimum=10)
    max_age = max_data_age()
    database = setting("DRILL_DATABASE", os.environ.get("POSTGRES_DB", "inventory"))
    tables = [t.strip() for t in setting("DRILL_TABLES", "dbops.heartbeat").split(",") if t.strip()]

    work_dir.mkdir(parents=True, exist_ok=True)
    work_dir.chmod(0o700)
    shutil.rmtree(data_dir, ignore_errors=True)  # only ever our own subdirectory
    repo = pgbackrest_conf.drill_repo()  # the only repository in the drill's file, as its repo1
    if repo != 1:  # pgBackRest prefers the environment: repo1's own key must not override it
        for name in [name for name in os.environ if name.startswith("PGBACKREST_REPO1_")]:
            del os.environ[name]
    rest = PgBackRest(pgbackrest_conf.write("drill", work_dir / "pgbackrest.conf"))
    wait_reachable([storage_endpoint(repo)])  # not the primary: a drill must work without it
    info = rest.info()
    archive_max = info["archive"][-1]["max"] if info.get("archive") else None
    restore_seconds = _restore(rest, info, target)

    server = PrivateServer(work_dir, data_dir, database)
    clock = time.monotonic()
    try:
        server.start(timeout)
        report: dict[str, Any] = {
            "repo": repo,
            "target": target.isoformat() if target else "latest",
            "newest_backup": info["backup"][-1]["label"],
            "restore_seconds": round(restore_seconds, 2),
            "recovery_seconds": round(time.monotonic() - clock, 2),
        }
        if target is None and archive_max is not None:
            report["replayed_to_lsn"] = check_wal_replayed(server, archive_max)
        age = heartbeat_age(server, target or drill_started, max_age)
        report["data_age_seconds"] = round(age, 1)
        report["max_data_age_seconds"] = max_age
        report["tables"] = table_report(server, tables)
        server.stop()  # pg_checksums needs a cleanly shut down cluster
        report["checksum_blocks_verified"] = check_page_checksums(data_dir)
    finally:
        try:
            server.stop()
        finally:
            if not keep:
                shutil.rmtree(data_dir, ignore_errors=True)
    return report


def main(argv: list[str] | None = None) -> int:
    """CLI: `python3 -m dbops.restore_drill [--target-time ISO8601] [--keep]`."""
    parser = argparse.ArgumentParser(description="Restore the backups and prove they work.")
    parser.add_argument("--target-time", help="point-in-time target, ISO 8601 with offset")
    parser.add_argument("--keep", action="store_true", help="leave the restored data directory")
    args = parser.parse_args(argv)

    def body() -> dict[str, Any]:
        target = parse_target(args.target_time) if args.target_time else None
        return drill(target, args.keep)

    return job_main(repo_job("restore-drill", "DRILL_REPO"), body)


if __name__ == "__main__":
    sys.exit(main())
