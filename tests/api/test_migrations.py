"""Migrations: apply from scratch through the CLI, match the models, downgrade cleanly."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from inventory_api.migrate import alembic_config, current_revision, upgrade, wait_for_database
from inventory_api.models import Base
from sqlalchemy import create_engine, inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from tests.api.apiprocess import run_cli
from tests.support.postgres import Database, PostgresServer, free_port

HEAD = "0001"


def test_cli_migrates_an_empty_database_with_the_password_from_a_file(
    postgres_server: PostgresServer, tmp_path: object
) -> None:
    database = postgres_server.create_database()
    password_file = postgres_server.base_dir / f"{database.name}.pw"
    password_file.write_text(postgres_server.password + "\n")
    env = {
        "DATABASE_URL": database.url_without_password,
        "DATABASE_PASSWORD_FILE": str(password_file),
    }
    for _ in range(2):  # the second run is a no-op
        result = run_cli(env, "migrate")
        assert result.returncode == 0, result.stderr
    assert '"revision": "0001"' in result.stdout
    engine = create_engine(database.sqlalchemy_url, poolclass=NullPool)
    assert current_revision(engine) == HEAD
    assert set(inspect(engine).get_table_names()) >= {
        "products",
        "stock_movements",
        "idempotency_keys",
        "alembic_version",
    }


def test_cli_reports_an_unreachable_database_in_one_line() -> None:
    env = {
        "DATABASE_URL": "postgresql+pg8000://u:p@127.0.0.1:1/d",
        "DB_CONNECT_TIMEOUT_SECONDS": "1",
    }
    result = run_cli(env, "migrate")
    assert result.returncode == 1
    assert result.stderr.startswith("migration failed: Can't create a connection to host")
    assert len(result.stderr.strip().splitlines()) == 1


UNREACHABLE = "postgresql+pg8000://u:p@127.0.0.1:1/d"


class FakeClock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_waiting_retries_a_refused_connection_until_the_deadline() -> None:
    clock = FakeClock()
    engine = create_engine(UNREACHABLE, poolclass=NullPool, connect_args={"timeout": 1})
    with pytest.raises(DBAPIError, match="Can't create a connection"):
        wait_for_database(engine, 5, pause=2, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [2, 2, 1]  # attempts at 0, 2, 4 and 5 s


def _relay(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        target.close()


@contextmanager
def late_database(port: int, server: PostgresServer) -> Iterator[None]:
    """The test server reachable on `port` from now on: a database that came up late."""
    listener = socket.create_server(("127.0.0.1", port))

    def accept() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", server.port))
            for pair in ((client, upstream), (upstream, client)):
                threading.Thread(target=_relay, args=pair, daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield
    finally:
        listener.close()


def test_waiting_connects_once_the_database_comes_up(fresh_db: Database) -> None:
    clock = FakeClock()
    port = free_port()
    url = create_engine(fresh_db.sqlalchemy_url).url.set(port=port)
    engine = create_engine(url, poolclass=NullPool)
    with ExitStack() as stack:

        def sleep(seconds: float) -> None:
            clock.sleep(seconds)
            if len(clock.sleeps) == 2:  # refused twice, then the server is up
                stack.enter_context(late_database(port, fresh_db.server))

        assert wait_for_database(engine, 60, pause=2, clock=clock, sleep=sleep) == 3
    assert clock.sleeps == [2, 2]


def test_waiting_returns_at_once_when_the_database_accepts(fresh_db: Database) -> None:
    clock = FakeClock()
    engine = create_engine(fresh_db.sqlalchemy_url, poolclass=NullPool)
    assert wait_for_database(engine, 60, clock=clock, sleep=clock.sleep) == 1
    assert clock.sleeps == []


def test_a_refused_password_is_not_waited_for(fresh_db: Database) -> None:
    clock = FakeClock()
    url = create_engine(fresh_db.sqlalchemy_url).url.set(password="not-the-password")
    engine = create_engine(url, poolclass=NullPool)
    with pytest.raises(DBAPIError, match="password authentication failed"):
        wait_for_database(engine, 60, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == []


def test_cli_logs_each_wait_then_reports_the_refusal_in_one_line() -> None:
    env = {"DATABASE_URL": UNREACHABLE, "DB_CONNECT_TIMEOUT_SECONDS": "1"}
    result = run_cli(env, "migrate", "--wait-seconds", "3")
    assert result.returncode == 1
    assert result.stderr.startswith("migration failed: Can't create a connection to host")
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout.count("waiting for the database") >= 2


@pytest.mark.parametrize("value", ["-1", "soon", "3601"])
def test_cli_refuses_a_wait_that_is_not_seconds(value: str) -> None:
    result = run_cli({"DATABASE_URL": UNREACHABLE}, "migrate", "--wait-seconds", value)
    assert result.returncode == 2
    assert f"{value!r} is not a number of seconds from 0 to 3600" in result.stderr


def test_migrated_schema_matches_the_models(fresh_db: Database) -> None:
    engine = create_engine(fresh_db.sqlalchemy_url, poolclass=NullPool)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_downgrade_to_base_and_upgrade_again(fresh_db: Database) -> None:
    engine = create_engine(fresh_db.sqlalchemy_url, poolclass=NullPool)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert current_revision(engine) is None
    assert "products" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert current_revision(engine) == HEAD
