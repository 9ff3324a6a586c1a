"""Patroni's post_bootstrap step: the application role, database and exporter role.

Patroni runs it once, on the member that initialised a new cluster, with a superuser connection
string as its only argument; replicas receive the result by replication. The SQL is the one the
single-server entrypoint uses (dbops.entrypoint.bootstrap_sql), so both paths create the same
roles.

Patroni runs it after a bootstrap from the backup repository too (RESTORE_FROM_BACKUP, the
disaster-recovery path), where the restored catalogue already holds the roles and the database:
creating them again would fail the script, and Patroni would discard the restored data. So an
existing application database means "restored": nothing is created (the reconciler sets the
password from the mounted file once the member leads).
"""

from __future__ import annotations

import sys
from pathlib import Path

from dbops.common import OpsError, read_password, run, setting, sql_literal
from dbops.entrypoint import bootstrap_sql, identifier


def database_exists(connstring: str, database: str) -> bool:
    """Whether the cluster behind `connstring` already has `database`."""
    found = run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", connstring, "-c",
         f"SELECT 1 FROM pg_database WHERE datname = {sql_literal(database)}"],  # noqa: S608
        "looking for the application database",
        timeout=60,
    )  # fmt: skip
    return found.strip() == "1"


def main(argv: list[str] | None = None) -> int:
    """`python3 -m dbops.patroni_bootstrap CONNSTRING` (as Patroni calls it)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        if len(args) != 1:
            raise OpsError(f"expected one argument (the connection string), got {len(args)}")
        user = identifier(setting("POSTGRES_USER", "inventory"), "POSTGRES_USER")
        database = identifier(setting("POSTGRES_DB", "inventory"), "POSTGRES_DB")
        password = read_password(Path(setting("POSTGRES_PASSWORD_FILE")))
        if database_exists(args[0], database):
            print(
                f"post_bootstrap: database {database} exists (restored from the repository): "
                "nothing to create",
                flush=True,
            )
            return 0
        run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", args[0], "-f", "-"],
            "creating roles and database after bootstrap",
            stdin=bootstrap_sql(user, database, password),
            timeout=120,
        )
    except OpsError as error:
        print(f"post_bootstrap: ERROR: {error}", file=sys.stderr)
        return 1
    print(f"post_bootstrap: created role {user} and database {database}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
