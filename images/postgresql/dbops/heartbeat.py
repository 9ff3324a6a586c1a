"""Heartbeat (a CronJob every minute): one timestamped row in the primary, old rows pruned.

Why: the restore drill measures data age from the newest heartbeat it finds in the restored
copy, and the steady trickle of writes lets `archive_timeout` close a WAL segment on time, so
the archive's age is a live RPO signal even when the application is idle.
"""

from __future__ import annotations

import sys
import time

from dbops.common import SCHEMA_SQL, OpsError, database_endpoint, int_setting, psql, wait_reachable


def beat() -> str:
    """Insert one heartbeat row and prune; returns the stored timestamp."""
    keep_days = int_setting("HEARTBEAT_RETENTION_DAYS", 8, minimum=1)
    wait_reachable([database_endpoint()])
    rows = psql(
        SCHEMA_SQL  # noqa: S608 - keep_days is a validated integer
        + f"DELETE FROM dbops.heartbeat WHERE beat_at < now() - interval '{keep_days} days';"  # noqa: S608
        + "INSERT INTO dbops.heartbeat DEFAULT VALUES RETURNING beat_at;",
        "writing the heartbeat row",
    )
    return rows[-1][0]


def main() -> int:
    """CLI: `python3 -m dbops.heartbeat` with libpq PG* variables for the primary."""
    started = time.monotonic()
    try:
        stamp = beat()
    except OpsError as error:
        print(f"ERROR: heartbeat: {error}", file=sys.stderr)
        return 1
    print(f"heartbeat {stamp} ({time.monotonic() - started:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
