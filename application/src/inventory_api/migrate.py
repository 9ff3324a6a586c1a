"""Apply the Alembic migrations shipped in this package, and write new ones from the models."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.operations.ops import MigrationScript
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.pool import NullPool

from inventory_api.config import Settings, read_password

MIGRATIONS = Path(__file__).parent / "migrations"
# Session settings of a migration, over the role's defaults (the API's are for short queries).
# lock_timeout: a DDL statement queued behind a long transaction would block every request
# queued behind it; it gives up after 5 s instead and the Job retries (backoffLimit).
# statement_timeout: a long index build may run, but ends before the Job's 600 s deadline.
MIGRATION_SESSION = {"lock_timeout": "5000", "statement_timeout": "540000"}


def migration_engine(settings: Settings) -> Engine:
    """A short-lived engine without pooling; the password may come from the password file."""
    url = settings.database_url
    if settings.database_password_file is not None:
        url = url.set(password=read_password(settings.database_password_file))
    return create_engine(
        url,
        poolclass=NullPool,
        connect_args={
            "timeout": settings.connect_timeout_seconds + 60,
            "application_name": "inventory-api-migrations",
            "startup_params": MIGRATION_SESSION,
        },
    )


def wait_for_database(
    engine: Engine,
    seconds: float,
    *,
    pause: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Connect until the database accepts, for at most `seconds`; returns the attempts made.

    A database the same release creates, or one failing over, refuses connections for a while:
    waiting here keeps the Job's retries for real failures. After the deadline the last
    connection error is raised."""
    deadline = clock() + seconds
    attempts = 0
    while True:
        attempts += 1
        try:
            with engine.connect():
                return attempts
        except DBAPIError as exc:
            left = deadline - clock()
            if left <= 0 or not _not_accepting_yet(exc):
                raise
            reason = (str(exc.orig or exc).strip().splitlines() or ["refused"])[0]
            logging.getLogger("inventory_api.migrate").info(
                "waiting for the database", extra={"reason": reason, "seconds_left": round(left)}
            )
            sleep(min(pause, left))


def _not_accepting_yet(exc: DBAPIError) -> bool:
    """No server listening or reachable, or one still starting (SQLSTATE 57P03); a refused
    password or a missing database fails at once."""
    if isinstance(exc, (InterfaceError, OperationalError)):
        return True
    details = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
    return isinstance(details, dict) and details.get("C") == "57P03"


def alembic_config(connection: Connection) -> Config:
    """Alembic configuration that runs the packaged migrations on `connection`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (idempotent; concurrent runs are serialised)."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, None when unmigrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


class NothingToGenerate(Exception):
    """The models and the migrated database agree: a revision would be empty."""


def _next_revision_id(config: Config) -> str | None:
    """Numbered revisions (0001, 0002, ...) while the history is numbered; else Alembic's own."""
    heads = ScriptDirectory.from_config(config).get_heads()
    if len(heads) == 1 and heads[0].isdigit():
        return f"{int(heads[0]) + 1:0{len(heads[0])}d}"
    return None


def _refuse_empty(_context: Any, _revision: Any, directives: list[MigrationScript]) -> None:
    script = directives[0]
    if all(ops.is_empty() for ops in script.upgrade_ops_list):
        directives.clear()


def revision(engine: Engine, message: str) -> Path:
    """Write a migration for what the models have and the database lacks; returns its file.

    The database is brought to head first, so the revision holds the models' changes only.
    Raises NothingToGenerate when there is nothing to write."""
    upgrade(engine)
    with engine.begin() as connection:
        config = alembic_config(connection)
        config.attributes["process_revision_directives"] = _refuse_empty
        written = command.revision(
            config, message=message, autogenerate=True, rev_id=_next_revision_id(config)
        )
    scripts: Iterable[Any] = written if isinstance(written, list) else [written]
    paths = [Path(script.path) for script in scripts if script is not None]
    if not paths:
        raise NothingToGenerate("the models match the migrated database; no revision written")
    return paths[0]
