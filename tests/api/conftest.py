"""Fixtures of the API layer: one PostgreSQL server, a migrated template database, API processes.

Every test that writes gets either its own database (copied from the migrated template, ~0.1 s)
or unique SKUs on the shared session API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from inventory_api.migrate import upgrade
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from tests.api.apiprocess import ApiProcess, api_env, start_api
from tests.support.postgres import Database, PostgresServer, postgres_server

__all__ = ["postgres_server"]

TEMPLATE = "api_template"


@pytest.fixture(scope="session")
def template_db(postgres_server: PostgresServer) -> str:
    """A database migrated to head, used as the template of every test database."""
    database = postgres_server.create_database(name=TEMPLATE)
    engine = create_engine(database.sqlalchemy_url, poolclass=NullPool)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return TEMPLATE


@pytest.fixture
def fresh_db(postgres_server: PostgresServer, template_db: str) -> Database:
    """A migrated database of this test's own."""
    return postgres_server.create_database(template=template_db)


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where API processes write their logs."""
    return tmp_path_factory.mktemp("api-logs")


@pytest.fixture(scope="session")
def api(postgres_server: PostgresServer, template_db: str, log_dir: Path) -> Iterator[ApiProcess]:
    """The API serving a migrated database for the whole session."""
    database = postgres_server.create_database(template=template_db)
    process = start_api(api_env(database), log_dir)
    yield process
    process.stop()


@pytest.fixture
def api_factory(log_dir: Path) -> Iterator[Callable[..., ApiProcess]]:
    """Start extra API processes (own settings or database); all are stopped afterwards."""
    started: list[ApiProcess] = []

    def start(database: Database, **env: str) -> ApiProcess:
        process = start_api(api_env(database, **env), log_dir)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()
