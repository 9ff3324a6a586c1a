"""Reading PostgreSQL's error fields from a driver exception.

Why: the server names the SQLSTATE and the violated constraint in separate fields of its error
response; matching words in the message text would misread an error whose text merely quotes a
constraint name (a failing row echoed in DETAIL, for one). pg8000 passes those fields through
as the first argument of its exception, a dict keyed by the protocol's one-letter field codes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError

UNIQUE_VIOLATION = "23505"
SQLSTATE_FIELD = "C"
CONSTRAINT_FIELD = "n"


def error_fields(exc: DBAPIError) -> dict[str, Any]:
    """The server's error fields, empty when the failure did not come from the server."""
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], dict) else {}


def violated_unique_constraint(exc: DBAPIError) -> str | None:
    """The name of the unique constraint `exc` violated; None for any other failure."""
    fields = error_fields(exc)
    if fields.get(SQLSTATE_FIELD) != UNIQUE_VIOLATION:
        return None
    name = fields.get(CONSTRAINT_FIELD)
    return name if isinstance(name, str) else None
