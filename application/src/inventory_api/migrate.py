"""Apply the Alembic migrations shipped in this package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from inventory_api.config import Settings, read_password

MIGRATIONS = Path(__file__).parent / "migrations"


def migration_engine(settings: Settings) -> Engine:
    """A short-lived engine without pooling; the password may come from the password file."""
    url = settings.database_url
    if settings.database_password_file is not None:
        url = url.set(password=read_password(settings.database_password_file))
    return create_engine(
        url,
        poolclass=NullPool,
        connect_args={"timeout": settings.connect_timeout_seconds + 60},
    )


def alembic_config(connection: Connection) -> Config:
    """Alembic configuration that runs the packaged migrations on `connection`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
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
