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
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
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
from tests.helm.rendering import DB, NAMESPACE, Renderer
from tests.support.postgres import (
    APP_USER,
    Database,
    PostgresServer,
    free_port,
    running_postgres,
)
from tests.support.tools import require_tool
from tools.containers import build_image, podman

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


@dataclass
class Pooler:
    """The pgbouncer and exporter containers, on the host network, and their files."""

    server: PostgresServer
    database: str
    port: int
    metrics_port: int
    secret: Path
    names: list[str]

    def connect(self, password: str | None = None) -> pg8000.native.Connection:
        return pg8000.native.Connection(
            APP_USER, password=password or self.server.password, host="127.0.0.1",
            port=self.port, database=self.database, timeout=10,
        )  # fmt: skip

    def logs(self, name: str) -> str:
        result = podman("logs", name, capture=True, check=False)
        return result.stdout + result.stderr

    def server_connections(self) -> int:
        return int(
            self.server.superuser_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                "AND usename = 'inventory' AND datname LIKE 'test_%'"
            )
        )


def wait_for(condition: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def image() -> str:
    return build_image("pgbouncer", "test")


@pytest.fixture(scope="module")
def pooler(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pooler]:
    renderer = Renderer(helm=require_tool("helm"), workdir=tmp_path_factory.mktemp("helm"))
    renderer.prepare()
    port, metrics_port = free_port(), free_port()
    sets = ["pooler.enabled=true", f"pooler.port={port}", f"pooler.poolSize={POOL_SIZE}",
            f"pooler.exporter.port={metrics_port}"]  # fmt: skip
    config = renderer.render("postgresql", sets=sets).one("ConfigMap", f"{DB}-pooler")
    with running_postgres(prefix="pooler-image-") as server:
        database = server.create_database()
        root = Path(tempfile.mkdtemp(prefix="inventory-pooler-"))
        etc, secret, run = root / "etc", root / "secret", root / "run"
        for path in (etc, secret, run):
            path.mkdir()
        ini = (
            config["data"]["pgbouncer.ini"]
            .replace(
                f"host={DB}.{NAMESPACE}.svc port=5432 dbname=inventory",
                f"host=127.0.0.1 port={server.port} dbname={database.name}",
            )
            .replace("inventory = host", f"{database.name} = host")
        )
        (etc / "pgbouncer.ini").write_text(ini)
        (etc / "hba.conf").write_text(config["data"]["hba.conf"].replace(" inventory ", " all "))
        (secret / "password").write_text(server.password + "\n")
        for path in (etc / "pgbouncer.ini", etc / "hba.conf", secret / "password"):
            path.chmod(0o644)
        run.chmod(0o777)
        common = ["run", "-d", "--network", "host", "--read-only", "--cap-drop=ALL",
                  "--security-opt=no-new-privileges",
                  "-v", f"{run}:/var/run/pgbouncer"]  # fmt: skip
        names = [
            f"inventory-pooler-{secrets.token_hex(4)}",
            f"inventory-poolexp-{secrets.token_hex(4)}",
        ]
        podman(*common, "--name", names[0], "-v", f"{etc}:/etc/pgbouncer:ro",
               "-v", f"{secret}:/run/secrets/postgres:ro",
               "-e", f"POOLER_DATABASE_USER={APP_USER}", "-e", "POOLER_WATCH_SECONDS=1",
               "-e", "POOLER_PASSWORD_FILE=/run/secrets/postgres/password", image,
               capture=True)  # fmt: skip
        pooler = Pooler(server, database.name, port, metrics_port, secret, names)
        try:
            wait_for(lambda: "process up" in pooler.logs(names[0]), "pgbouncer to start")
            podman(*common, "--name", names[1], "-e", "PGBOUNCER_HOST=/var/run/pgbouncer",
                   "-e", f"PGBOUNCER_PORT={port}", "-e", f"PORT={metrics_port}",
                   "-e", "HOST=127.0.0.1", image, "exporter", capture=True)  # fmt: skip
            upgrade(create_engine(database.sqlalchemy_url, poolclass=NullPool))
            yield pooler
        finally:
            for name in names:
                podman("rm", "-f", name, capture=True, check=False)
            shutil.rmtree(root, ignore_errors=True)


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
    url = f"postgresql+pg8000://{APP_USER}@127.0.0.1:{pooler.port}/{pooler.database}"
    env = api_env(
        Database(pooler.server, pooler.database), DATABASE_URL=url,
        DATABASE_PASSWORD_FILE=str(pooler.secret / "password"),
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
        "DATABASE_URL": f"postgresql+pg8000://{APP_USER}@127.0.0.1:{pooler.port}/{pooler.database}",
        "DATABASE_PASSWORD_FILE": str(pooler.secret / "password"),
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
