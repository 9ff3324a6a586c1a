"""The pooler image with the chart's own pgbouncer.ini, in front of a real PostgreSQL 15: clients
authenticate with SCRAM, transaction pooling keeps server connections at the pool size, the API
runs through it, parameterised reads of several clients keep their own statements only in the
API's transaction-pooler mode, the exporter sidecar reads it over the pod-local socket, and a
rotated password file is followed without a restart."""

from __future__ import annotations

import asyncio
import functools
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pg8000.native
import pytest
import requests
from inventory_api import db
from inventory_api.config import load_settings
from inventory_api.migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from tests.api.apiprocess import api_env, start_api
from tests.api.helpers import PRODUCTS, create_product
from tests.helm import rule_source
from tests.helm.rendering import Renderer
from tests.support.pooler import Pooler, running_pooler, wait_for
from tests.support.postgres import APP_USER, Database, running_postgres
from tests.support.tools import require_tool
from tools.containers import build_image

pytestmark = pytest.mark.slow
POOL_SIZE = 2
CLIENTS = 8
READS = 400
# Two statements with one parameter each, of different types: a Bind meant for one that runs the
# other answers wrongly or fails.
SHAPES = (
    ("SELECT CAST(:value AS integer) * 2 AS answer", lambda n: n * 2),
    ("SELECT 'n' || CAST(:value AS text) AS answer", lambda n: f"n{n}"),
)


@pytest.fixture(scope="module")
def image() -> str:
    return build_image("pgbouncer", "test")


@pytest.fixture(scope="module")
def pooler(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pooler]:
    renderer = Renderer(helm=require_tool("helm"), workdir=tmp_path_factory.mktemp("helm"))
    renderer.prepare()
    with running_postgres(prefix="pooler-image-") as server:
        database = server.create_database()
        sets = [f"pooler.poolSize={POOL_SIZE}"]
        with running_pooler(image, renderer, server, database.name, sets) as pooler:
            upgrade(create_engine(database.sqlalchemy_url, poolclass=NullPool))
            yield pooler


def test_transaction_pooling_keeps_server_connections_at_the_pool_size(pooler: Pooler) -> None:
    clients = [pooler.connect() for _ in range(8)]
    try:
        for client in clients:
            assert client.run("SELECT 1") == [[1]]
        assert 1 <= pooler.server_connections() <= POOL_SIZE
    finally:
        for client in clients:
            client.close()


def test_a_wrong_password_is_refused(pooler: Pooler) -> None:
    with pytest.raises(pg8000.exceptions.DatabaseError, match="SASL authentication failed"):
        pooler.connect(password="not-the-password")


def test_the_api_works_through_the_pooler(pooler: Pooler, tmp_path: Path) -> None:
    env = api_env(
        Database(pooler.server, pooler.database), DATABASE_URL=pooler.sqlalchemy_url,
        DATABASE_PASSWORD_FILE=str(pooler.password_file), DB_TRANSACTION_POOLER="true",
    )  # fmt: skip
    api = start_api(env, tmp_path / "logs")
    try:
        product = create_product(api)
        for _ in range(20):
            assert api.request("GET", f"{PRODUCTS}/{product['id']}").status_code == 200
    finally:
        api.stop()


def read_problems(pooler: Pooler, transaction_pooler: bool) -> list[str]:
    """READS parameterised reads of both SHAPES from CLIENTS connections of the API's own
    Database (autocommit reads) through the pooler; every wrong answer or error, as text."""
    settings = load_settings({
        "DATABASE_URL": pooler.sqlalchemy_url,
        "DATABASE_PASSWORD_FILE": str(pooler.password_file),
        "DB_POOL_SIZE": str(CLIENTS),
        "DB_TRANSACTION_POOLER": str(transaction_pooler).lower(),
    })  # fmt: skip
    database = db.Database(
        db.make_engine(settings), CLIENTS, transaction_pooler=settings.transaction_pooler
    )

    def read(number: int, connection: Connection) -> str | None:
        statement, answer = SHAPES[number % len(SHAPES)]
        got = connection.execute(text(statement), {"value": number}).scalar_one()
        return None if got == answer(number) else f"read {number} answered {got!r}"

    async def all_reads() -> list[str | BaseException | None]:
        calls = (database.read(functools.partial(read, n)) for n in range(READS))
        return await asyncio.gather(*calls, return_exceptions=True)

    try:
        outcomes = asyncio.run(all_reads())
    finally:
        database.close()
    return [str(outcome) for outcome in outcomes if outcome is not None]


def test_reads_keep_their_statements_in_transaction_pooler_mode(pooler: Pooler) -> None:
    assert read_problems(pooler, transaction_pooler=True) == []


def test_without_transaction_pooler_mode_reads_cross_server_connections(pooler: Pooler) -> None:
    """Why the mode exists: pg8000's Syncs between Parse, Describe and Bind let the pooler move
    an autocommit read to another server connection, where another client's statement waits."""
    problems = read_problems(pooler, transaction_pooler=False)
    assert problems, "every read kept its server connection: the mode would not be needed"


def test_the_exporter_reports_the_pools(pooler: Pooler) -> None:
    pooler.connect().close()
    url = f"http://127.0.0.1:{pooler.metrics_port}/metrics"
    deadline = time.monotonic() + 60
    while True:
        try:
            body = requests.get(url, timeout=5).text
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline, pooler.logs(pooler.names[1])
            time.sleep(0.5)
    labels = f'database="{pooler.database}",user="{APP_USER}"'
    assert re.search(r"^pgbouncer_up 1\.0$", body, re.MULTILINE), body
    assert re.search(rf"^pgbouncer_pools_cl_waiting{{{labels}}} ", body, re.MULTILINE), body
    assert re.search(rf"^pgbouncer_pools_sv_active{{{labels}}} ", body, re.MULTILINE), body
    served = {line.split("{")[0].split(" ")[0] for line in body.splitlines() if line[:1] != "#"}
    unseen = {
        rule: sorted(names - served - rule_source.NON_EXPORTER_SERIES.keys())
        for rule, names in rule_source.series_read("postgresql", rule_source.POOLER_GROUPS).items()
    }
    assert not {rule: names for rule, names in unseen.items() if names}, "pooler alerts' series"
    stats = rf'^pgbouncer_stats_total_xact_count{{database="{pooler.database}"}} (\d+)'
    match = re.search(stats, body, re.MULTILINE)
    assert match, body
    assert float(match.group(1)) >= 1


def test_a_rotated_password_file_is_followed(pooler: Pooler) -> None:
    new = secrets.token_urlsafe(18)
    pooler.server.superuser_sql(f"ALTER ROLE {APP_USER} PASSWORD '{new}'")
    staged = pooler.secret / "password.new"
    staged.write_text(new + "\n")
    staged.chmod(0o644)
    staged.rename(pooler.secret / "password")
    wait_for(lambda: "auth file rewritten" in pooler.logs(pooler.names[0]), "the reload")
    client = pooler.connect(password=new)
    try:
        assert client.run("SELECT 1") == [[1]]
    finally:
        client.close()
    pooler.server.superuser_sql(f"ALTER ROLE {APP_USER} PASSWORD '{pooler.server.password}'")
