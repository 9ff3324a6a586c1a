"""Database container entrypoint: initialise an empty volume safely, then exec postgres.

Why this shape:
- Initialisation happens in a sibling directory (`$PGDATA.initdb`) on the same volume and is
  renamed into place only when complete, so a crash mid-init never leaves a half-initialised
  PGDATA that a restart would take for real data.
- A PGDATA that holds anything but no PG_VERSION is refused, never re-initialised: it may be a
  volume with damaged data that needs a human, not a fresh empty cluster on top.
- The bootstrap server listens on a private socket only, so probes and clients see nothing
  until the real server starts.
- RESTORE_FROM_BACKUP=latest|<ISO 8601 time> makes an empty volume come from the backup
  repository instead of initdb (disaster recovery, docs/disaster-recovery.md). It restores in
  place (pgBackRest's restore_command names PGDATA), guarded by a marker file next to PGDATA:
  an interrupted restore is wiped and redone, never started.
- With backups configured (BACKUP_AZURE_ACCOUNT set) it renders the `db`-role pgbackrest.conf
  that archive_command uses. `pgbackrest-server` as the argument runs the TLS server sidecar
  (same image, same rendered config) instead of PostgreSQL; `patroni` runs PostgreSQL under
  Patroni (dbops.patroni_config), which then owns initialisation, replication and failover.
- Either way dbops.reconcile runs beside the server: configuration reloads, role settings and
  password rotation (under Patroni the last two on whichever member is the primary).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from dbops import azure_sas, pgbackrest_conf, reconcile
from dbops.common import (
    PG_BIN,
    OpsError,
    beside_the_server,
    int_setting,
    psql,
    read_password,
    run,
    setting,
    sql_literal,
)

CONFIG_FILE = "/etc/postgresql/postgresql.conf"
IDENTIFIER_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


def identifier(name: str, variable: str) -> str:
    """A role/database name restricted to lower-case letters, digits and underscores."""
    if not name or not set(name) <= IDENTIFIER_CHARS or name[0].isdigit():
        raise OpsError(f"{variable}={name!r}: use lower-case letters, digits and underscores")
    return name


def bootstrap_sql(user: str, database: str, password: str) -> str:
    """Roles, database and extensions of a new cluster."""
    return f"""
CREATE ROLE {user} LOGIN PASSWORD {sql_literal(password)};
CREATE DATABASE {database} OWNER {user};
CREATE ROLE postgres_exporter LOGIN;
GRANT pg_monitor TO postgres_exporter;
\\connect {database}
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
"""


def initialise(pgdata: Path) -> None:
    """initdb into a staging directory, create roles and database, then move into place."""
    user = identifier(setting("POSTGRES_USER", "inventory"), "POSTGRES_USER")
    database = identifier(setting("POSTGRES_DB", "inventory"), "POSTGRES_DB")
    password = read_password(Path(setting("POSTGRES_PASSWORD_FILE")))
    staging = pgdata.with_name(pgdata.name + ".initdb")
    shutil.rmtree(staging, ignore_errors=True)  # an interrupted earlier attempt, never live
    run(
        [f"{PG_BIN}/initdb", "-D", str(staging), "-U", "postgres", "--data-checksums",
         "--auth-local=peer", "--auth-host=scram-sha-256", "--encoding=UTF8",
         "--locale=C.UTF-8", "--no-instructions"],
        "initdb",
    )  # fmt: skip
    socket_dir = tempfile.mkdtemp(prefix="pg-bootstrap-")
    options = f"-c listen_addresses='' -c unix_socket_directories='{socket_dir}'"
    options += (
        " -c password_encryption=scram-sha-256 -c shared_preload_libraries=pg_stat_statements"
    )
    pg_ctl = [f"{PG_BIN}/pg_ctl", "-D", str(staging), "-w", "-t", "120"]
    # -l: the server must not inherit our pipes, or waiting for pg_ctl's output never ends.
    log = f"{socket_dir}/bootstrap.log"
    run([*pg_ctl, "-l", log, "-o", options, "start"], "starting the bootstrap server")
    try:
        env = {"PATH": os.environ.get("PATH", ""), "PGHOST": socket_dir, "PGUSER": "postgres",
               "PGDATABASE": "postgres"}  # fmt: skip
        psql(bootstrap_sql(user, database, password), "creating roles and database", env=env)
    finally:
        run([*pg_ctl, "-m", "fast", "stop"], "stopping the bootstrap server")
        shutil.rmtree(socket_dir, ignore_errors=True)
    staging.rename(pgdata)
    print(f"entrypoint: initialised {pgdata} (data checksums on, scram-sha-256)", flush=True)


def restore_marker(pgdata: Path) -> Path:
    """Present while a restore into PGDATA is incomplete."""
    return pgdata.with_name(pgdata.name + ".restore-in-progress")


def restore_target_options(target: str) -> list[str]:
    """pgbackrest restore options for RESTORE_FROM_BACKUP: latest, or an ISO 8601 time."""
    if target == "latest":
        return []
    try:
        when = dt.datetime.fromisoformat(target)
    except ValueError:
        raise OpsError(f"RESTORE_FROM_BACKUP={target!r}: use latest or ISO 8601") from None
    if when.tzinfo is None:
        raise OpsError(f"RESTORE_FROM_BACKUP={target!r} needs a UTC offset")
    stamp = when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
    return ["--type=time", f"--target={stamp}", "--target-action=promote"]


def restore_from_backup(pgdata: Path, target: str) -> None:
    """pgbackrest restore (latest, or to a point in time) into the empty PGDATA.

    PostgreSQL then replays the archived WAL through pgBackRest's restore_command and promotes;
    the restored copy keeps archiving to the same stanza (a new timeline).
    """
    options = restore_target_options(target)
    marker = restore_marker(pgdata)
    marker.touch()
    config = pgbackrest_conf.write("db")
    run(
        ["pgbackrest", f"--config={config}", f"--stanza={setting('BACKUP_STANZA', 'main')}",
         *options, "restore"],
        "restoring the empty volume from the backup repository (pgbackrest restore)",
    )  # fmt: skip
    marker.unlink()
    print(f"entrypoint: restored {pgdata} ({target}) from the repository", flush=True)


def prepare(pgdata: Path) -> None:
    """Initialise an empty volume; accept an existing cluster; refuse anything else."""
    if restore_marker(pgdata).exists():
        if not os.environ.get("RESTORE_FROM_BACKUP"):
            raise OpsError(
                f"{pgdata} holds an interrupted restore; set RESTORE_FROM_BACKUP to redo it"
            )
        shutil.rmtree(pgdata, ignore_errors=True)
    if (pgdata / "PG_VERSION").exists():
        print(f"entrypoint: existing cluster in {pgdata}, not initialising", flush=True)
        return
    if pgdata.exists() and any(pgdata.iterdir()):
        raise OpsError(
            f"{pgdata} is not empty but has no PG_VERSION: refusing to initialise over it "
            "(restore it from backup or inspect it; see docs/disaster-recovery.md)"
        )
    if pgdata.exists():
        pgdata.rmdir()
    if target := os.environ.get("RESTORE_FROM_BACKUP"):
        restore_from_backup(pgdata, target)
    else:
        initialise(pgdata)


def render_backup_config() -> None:
    """Write the db-role pgbackrest.conf when backups are configured; keep a minted SAS fresh."""
    if not os.environ.get("BACKUP_AZURE_ACCOUNT"):
        return
    path = pgbackrest_conf.write("db")
    print(f"entrypoint: pgBackRest configuration written to {path}", flush=True)
    if os.environ.get("PGBACKREST_REPO1_AZURE_KEY") or not azure_sas.workload_identity_available():
        return
    beside_the_server(refresh_sas)


def refresh_sas() -> None:
    """Re-render the configuration with a fresh SAS every BACKUP_SAS_REFRESH_MINUTES."""
    refresh_minutes = int_setting("BACKUP_SAS_REFRESH_MINUTES", 360, minimum=5)
    while True:
        time.sleep(refresh_minutes * 60)
        try:
            pgbackrest_conf.write("db")
        except OpsError as error:  # keep the old SAS; the archive alerts will tell
            print(f"entrypoint: SAS refresh failed: {error}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Prepare PGDATA, then replace this process with postgres (tini stays PID 1)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        render_backup_config()
        if args == ["pgbackrest-server"]:
            config = setting("BACKUP_CONFIG", "/tmp/pgbackrest/pgbackrest.conf")  # noqa: S108
            os.execvp("pgbackrest", ["pgbackrest", f"--config={config}", "server"])  # noqa: S606
        if args == ["patroni"]:
            # Imported here: patroni_config imports this module (the restore targets).
            from dbops import patroni_config  # noqa: PLC0415

            patroni_file = patroni_config.write()
            print(f"entrypoint: Patroni configuration written to {patroni_file}", flush=True)
            # Every member reloads its configuration; the primary also applies role settings
            # and the password (dbops.reconcile), whichever member that is at the time.
            beside_the_server(reconcile.main)
            patroni = patroni_config.PATRONI_BIN
            os.execv(patroni, [patroni, str(patroni_file)])  # noqa: S606
        if args:
            raise OpsError(
                f"unknown arguments {args}: expected none, 'patroni' or 'pgbackrest-server'"
            )
        pgdata = Path(setting("PGDATA"))
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        prepare(pgdata)
        pgdata.chmod(0o700)
        # Role settings, password rotation and configuration reloads while postgres runs.
        beside_the_server(reconcile.main)
    except OpsError as error:
        print(f"entrypoint: ERROR: {error}", file=sys.stderr)
        return 1
    postgres = f"{PG_BIN}/postgres"
    config_file = setting("POSTGRES_CONFIG_FILE", CONFIG_FILE)
    argv = [postgres, "-D", str(pgdata), "-c", f"config_file={config_file}"]
    os.execv(postgres, argv)  # noqa: S606 - replace this process with the server, no shell
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
