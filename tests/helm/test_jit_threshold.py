"""Why `jit = off` costs the API nothing: its statements plan far below `jit_above_cost`.

A real PostgreSQL 15 runs the production environment's rendered tuning with `jit = on`, holds
the API's schema (its migration) and the benchmark's catalogue, and explains the statements the
benchmark sends (benchmarks/postgres/app_workload.py, compiled from inventory_api.service) plus
the list pages the API builds (first page, next page, search, at the largest page size). None
plans JIT, each costs at most a tenth of the threshold; with the threshold at 0 every one does,
so the check can fail. docs/postgresql-tuning.md ("JIT") carries the figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import pytest
from inventory_api import service
from inventory_api.handlers.products import LIMIT
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from benchmarks.postgres import app_workload
from benchmarks.postgres.chart_tuning import parse_conf
from tests.helm.rendering import DB, Renderer
from tests.support.postgres import FAST_SETTINGS, PostgresServer, running_postgres

pytestmark = pytest.mark.slow  # a real server and the benchmark's catalogue

ENVIRONMENT = "prod"
# At the benchmark's catalogue each statement costs at most this fraction of the threshold (the
# search page, the only one that grows, levels off near a third of it on larger catalogues).
HEADROOM = 10
VALUES = {"product_id": 4242, "delta": 3, "quantity": 1003}


class _Recorder:
    """Stands in for a connection: keeps what the API executes, answers with no rows."""

    def __init__(self) -> None:
        self.statements: list[ClauseElement] = []

    def execute(self, statement: ClauseElement, *_: Any) -> _Recorder:
        self.statements.append(statement)
        return self

    def all(self) -> list[Any]:
        return []


def _list_pages() -> dict[str, ClauseElement]:
    """The list statements the API builds, taken from service.list_products itself."""
    pages: dict[str, tuple[int | None, str | None]] = {  # after_id, query
        "list_first_page": (None, None),
        "list_next_page": (100_000, None),
        "list_search": (None, "no such product"),
        "list_search_next_page": (100_000, "widget"),
    }
    built = {}
    for name, (after_id, query) in pages.items():
        recorder = _Recorder()
        connection = cast(Connection, recorder)
        service.list_products(connection, limit=LIMIT.maximum, after_id=after_id, query=query)
        (built[name],) = recorder.statements
    return built


STATEMENTS = {**app_workload.STATEMENTS, **_list_pages()}


@pytest.fixture(scope="module")
def server(renderer: Renderer) -> Iterator[PostgresServer]:
    """The environment's computed tuning with JIT on, the API's schema and catalogue loaded."""
    data = renderer.env_render(ENVIRONMENT).one("ConfigMap", f"{DB}-config")["data"]
    tuning = parse_conf(data["10-tuning.conf"])
    assert tuning["jit"] == "off", "the chart's choice this test justifies"
    durability = {k: v for k, v in FAST_SETTINGS.items() if k not in tuning}
    with running_postgres({**tuning, **durability, "jit": "on"}, prefix="jit-") as pg:
        app_workload.load(pg, app_workload.ROWS)
        yield pg


@pytest.fixture(scope="module")
def engine(server: PostgresServer) -> Iterator[Engine]:
    """The API's driver and dialect on the loaded database."""
    created = create_engine(server.url("app"), poolclass=NullPool)
    with created.connect():  # the first connection initialises the dialect from the server
        pass  # (standard_conforming_strings decides how ESCAPE '\\' is written)
    yield created
    created.dispose()


def _explain(engine: Engine, statement: ClauseElement, *setup: str) -> dict[str, Any]:
    """EXPLAIN (FORMAT JSON) of the statement as the API sends it: compiled by its dialect
    (pg8000, initialised against this server), bound parameters passed as parameters."""
    compiled = cast(SQLCompiler, statement.compile(dialect=engine.dialect))
    values = compiled.construct_params({k: v for k, v in VALUES.items() if k in compiled.params})
    positional = tuple(values[name] for name in compiled.positiontup or ())
    with engine.connect() as connection:
        for line in setup:
            connection.exec_driver_sql(line)
        plan = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", positional)
        document = plan.scalar_one()
        connection.rollback()
    document = json.loads(document) if isinstance(document, str) else document
    return cast(dict[str, Any], document[0])


def _threshold(pg: PostgresServer) -> float:
    return float(pg.superuser_sql("SHOW jit_above_cost"))


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_api_statement_plans_no_jit(server: PostgresServer, engine: Engine, name: str) -> None:
    explained = _explain(engine, STATEMENTS[name])
    cost = explained["Plan"]["Total Cost"]
    assert "JIT" not in explained, f"{name} plans JIT at cost {cost}"
    assert cost * HEADROOM <= _threshold(server), f"{name}: cost {cost} near jit_above_cost"


def test_threshold_at_zero_plans_jit(server: PostgresServer, engine: Engine) -> None:
    """The fixture that breaks it: with jit_above_cost 0 every statement plans JIT, so the
    absence above is the threshold's doing and not a server without LLVM."""
    assert server.superuser_sql("SELECT pg_jit_available()") == "t"
    for name, statement in STATEMENTS.items():
        explained = _explain(engine, statement, "SET jit_above_cost = 0")
        assert "JIT" in explained, f"{name}: no JIT even at jit_above_cost 0"
