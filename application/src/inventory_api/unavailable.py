"""The shared database is unavailable (failover, restart, read-only): a 503 with Retry-After.

Why a status of its own: while Patroni promotes a replica (seconds), connections are refused or
reset, and a just-demoted primary answers "read-only transaction". None of that is the API's
fault or the client's, and retrying shortly succeeds, so the client gets 503 with Retry-After
instead of a 500, and the process recovers by itself (the pool's pre-ping drops dead
connections; the read-write Service routes new ones to the new primary).
"""

from __future__ import annotations

import pg8000.dbapi
import sqlalchemy.exc

from inventory_api.dberrors import SQLSTATE_FIELD, error_fields
from inventory_api.errors import ApiError

RETRY_AFTER_SECONDS = 2
# SQLSTATEs meaning "this server cannot take the write now": class 08 (connection exception),
# read_only_sql_transaction, admin/crash shutdown, cannot_connect_now.
UNAVAILABLE_SQLSTATES = frozenset({"25006", "57P01", "57P02", "57P03"})


def is_database_unavailable(error: BaseException | None) -> bool:
    """True for a refused/lost connection, a full pool, or a server that cannot write now."""
    if isinstance(error, sqlalchemy.exc.TimeoutError):  # no pooled connection became free
        return True
    if isinstance(error, ConnectionError):  # the pool's pre-ping met a reset socket as such
        return True
    if not isinstance(error, sqlalchemy.exc.DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error.orig, pg8000.dbapi.InterfaceError):
        return True  # refused, reset, or closed by the server
    state = str(error_fields(error).get(SQLSTATE_FIELD, ""))
    return state.startswith("08") or state in UNAVAILABLE_SQLSTATES


def unavailable_error() -> ApiError:
    """The answer while no primary accepts writes."""
    return ApiError(
        503,
        "database_unavailable",
        f"the database is not accepting requests right now; retry in {RETRY_AFTER_SECONDS} s",
    )
