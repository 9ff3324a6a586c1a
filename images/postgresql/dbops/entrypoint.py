"""Database container entrypoint: initialise an empty volume safely, then exec postgres.

Why this shape:
- Initialisation happens in a sibling directory (`$PGDATA.initdb`) on the same volume and is
  renamed into place only when complete, so a crash mid-init never leaves a half-initialised
  PGDATA that a restart would take for real data.
- A PGDATA that holds anything but no PG_VERSION is refused, never re-initialised: it may be a
  volume with damaged data that needs a human, not a fresh empty cluster on top.
- The bootstrap server listens on a private socket only, so probes and clients see nothing
  until the real server starts.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from dbops.common import PG_BIN, OpsError, psql, run, setting, sql_literal

CONFIG_FILE = "/etc/postgresql/postgresql.conf"
IDENTIFIER_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


def identifier(name: str, variable: str) -> str:
    """A role/database name restricted to lower-case letters, digits and underscores."""
    if not name or not set(name) <= IDENTIFIER_CHARS or name[0].isdigit():
        raise OpsError(f"{variable}={name!r}: use lower-case letters, digits and underscores")
    return name


def read_password(path: Path) -> str:
    """The application role's password from the mounted secret file."""
    try:
        password = path.read_text().rstrip("\n")
    except OSError as error:
        raise OpsError(f"cannot read POSTGRES_PASSWORD_FILE {path}: {error.strerror}") from None
    if len(password) < 12:
        raise OpsError(f"the password in {path} is shorter than 12 characters")
    return password


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


def prepare(pgdata: Path) -> None:
    """Initialise an empty volume; accept an existing cluster; refuse anything else."""
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
    initialise(pgdata)


def main() -> int:
    """Prepare PGDATA, then replace this process with postgres (tini stays PID 1)."""
    try:
        pgdata = Path(setting("PGDATA"))
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        prepare(pgdata)
        pgdata.chmod(0o700)
    except OpsError as error:
        print(f"entrypoint: ERROR: {error}", file=sys.stderr)
        return 1
    postgres = f"{PG_BIN}/postgres"
    argv = [postgres, "-D", str(pgdata), "-c", f"config_file={CONFIG_FILE}"]
    os.execv(postgres, argv)  # noqa: S606 - replace this process with the server, no shell
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
