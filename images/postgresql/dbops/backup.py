"""Scheduled backup (the backup CronJobs): stanza-create, archive check, backup, retention.

Runs outside the database pod: with BACKUP_PG_HOST set it reaches the database files through
pgBackRest's TLS server (role `client`); without it, it runs next to the data (role `db`).
Under HA BACKUP_PG_HOST lists every member and the files come from a streaming standby when
one is up, else from the primary (dbops.backup_source); WAL still comes from the primary.
Expiry per the retention settings happens at the end of every backup.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from dbops import backup_source, pgbackrest_conf
from dbops.common import (
    OpsError,
    database_endpoint,
    int_setting,
    job_main,
    repo_job,
    storage_endpoint,
    tls_server_endpoint,
    wait_reachable,
)
from dbops.pgbackrest import PgBackRest

TYPES = ("full", "diff", "incr")


def backup(backup_type: str) -> dict[str, Any]:
    """Take one backup and return what the job report needs."""
    role = "client" if os.environ.get("BACKUP_PG_HOST") else "db"
    repo = int_setting("BACKUP_TARGET_REPO", 1, minimum=1)
    if repo not in pgbackrest_conf.configured_repos():
        raise OpsError(f"BACKUP_TARGET_REPO={repo} is not a configured repository")
    storage = [storage_endpoint(n) for n in pgbackrest_conf.configured_repos()]  # check: all
    # The primary first (its SQL port through the read-write Service): once that answers, the
    # network policy admits this pod, and Patroni's view of the members can be asked.
    wait_reachable([*storage, database_endpoint()])
    source = backup_source.decide(pgbackrest_conf.client_hosts()) if role == "client" else None
    if source is not None and source.leader:
        wait_reachable([tls_server_endpoint(source.leader)])
    rest = PgBackRest(pgbackrest_conf.write(role, source=source), repo)
    rest("stanza-create", what="creating or validating the stanza (pgbackrest stanza-create)")
    rest("check", what="checking WAL archiving end to end (pgbackrest check)")
    started = time.monotonic()
    rest("backup", f"--type={backup_type}", what=f"{backup_type} backup (pgbackrest backup)")
    seconds = time.monotonic() - started
    backups = rest.info().get("backup", [])
    if not backups:
        raise OpsError("the backup reported success but the repository lists no backup")
    latest = backups[-1]
    return {
        "repo": repo,
        "type": backup_type,
        "label": latest["label"],
        "seconds": round(seconds, 2),
        "database_bytes": latest["info"]["size"],
        "repository_bytes": latest["info"]["repository"]["delta"],
        "backups_retained": len(backups),
        **(source.report() if source else {}),
    }


def main(argv: list[str] | None = None) -> int:
    """CLI: `python3 -m dbops.backup --type full|diff|incr`."""
    parser = argparse.ArgumentParser(description="Take a pgBackRest backup and record it.")
    parser.add_argument("--type", choices=TYPES, required=True)
    args = parser.parse_args(argv)
    job = repo_job(f"backup-{args.type}", "BACKUP_TARGET_REPO")
    return job_main(job, lambda: backup(args.type))


if __name__ == "__main__":
    sys.exit(main())
