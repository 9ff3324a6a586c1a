"""Migration sessions carry their own timeouts over the role's defaults: a short lock_timeout so
DDL never queues behind a long transaction (and blocks every request behind itself), and a
statement_timeout long enough for an index build."""

from __future__ import annotations

import time

import pg8000.native
import pytest
from inventory_api.config import Settings
from inventory_api.migrate import MIGRATION_SESSION, migration_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from tests.support.postgres import Database


def settings_for(database: Database) -> Settings:
    return Settings(database_url=make_url(database.sqlalchemy_url), database_password_file=None)


def test_migration_sessions_override_the_role_defaults(fresh_db: Database) -> None:
    # The database role's backstop (the chart sets it per role; scoped to this database here).
    fresh_db.query(
        f'ALTER ROLE inventory IN DATABASE "{fresh_db.name}" SET statement_timeout = 1000'
    )
    engine = migration_engine(settings_for(fresh_db))
    try:
        with engine.connect() as connection:
            shown = {
                name: connection.execute(text(f"SELECT current_setting('{name}')")).scalar()
                for name in MIGRATION_SESSION
            }
    finally:
        engine.dispose()
    assert shown == {"lock_timeout": "5s", "statement_timeout": "9min"}


def test_a_migration_gives_up_on_a_held_lock(fresh_db: Database) -> None:
    holder: pg8000.native.Connection = fresh_db.connect()
    holder.run("BEGIN")
    holder.run("LOCK TABLE products IN ACCESS SHARE MODE")  # a long-running reader
    engine = migration_engine(settings_for(fresh_db))
    started = time.monotonic()
    try:
        with (
            pytest.raises((OperationalError, ProgrammingError), match="55P03"),
            engine.begin() as c,
        ):
            c.execute(text("ALTER TABLE products ADD COLUMN colour text"))
    finally:
        engine.dispose()
        holder.run("ROLLBACK")
        holder.close()
    assert 4 < time.monotonic() - started < 30
