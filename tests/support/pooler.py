"""The pooler image (PgBouncer and its exporter) with the chart's own pgbouncer.ini and hba.conf,
in front of a throwaway PostgreSQL, on the host network.

Why shared: the image tests and the API benchmark must run the pooler exactly as the chart
configures it (transaction mode, the same timeouts and startup parameters it ignores), not a
hand-written configuration that could drift from the one deployed.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pg8000.native

from tests.helm.rendering import DB, NAMESPACE, Renderer
from tests.support.postgres import APP_USER, PostgresServer, free_port
from tools.containers import podman


@dataclass
class Pooler:
    """The pgbouncer and exporter containers, and the files they read."""

    server: PostgresServer
    database: str
    port: int
    metrics_port: int
    secret: Path
    names: list[str]

    @property
    def sqlalchemy_url(self) -> str:
        """The API's DATABASE_URL through the pooler (the password comes from `secret`)."""
        return f"postgresql+pg8000://{APP_USER}@127.0.0.1:{self.port}/{self.database}"

    @property
    def password_file(self) -> Path:
        return self.secret / "password"

    def connect(self, password: str | None = None) -> pg8000.native.Connection:
        return pg8000.native.Connection(
            APP_USER, password=password or self.server.password, host="127.0.0.1",
            port=self.port, database=self.database, timeout=10,
        )  # fmt: skip

    def logs(self, name: str) -> str:
        result = podman("logs", name, capture=True, check=False)
        return result.stdout + result.stderr

    def server_connections(self) -> int:
        """The application role's server connections to this pooler's database."""
        query = (  # the harness's own role and database names, no outside input
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "  # noqa: S608
            f"AND usename = '{APP_USER}' AND datname = '{self.database}'"
        )
        return int(self.server.superuser_sql(query))


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.3)


@contextmanager
def running_pooler(
    image: str,
    renderer: Renderer,
    server: PostgresServer,
    database: str,
    sets: Sequence[str] = (),
) -> Iterator[Pooler]:
    """The pooler for `database` on `server`, configured by the postgresql chart's render with
    `sets` (pooler values); its port and the exporter's are free ports of this host."""
    port, metrics_port = free_port(), free_port()
    values = ["pooler.enabled=true", f"pooler.port={port}",
              f"pooler.exporter.port={metrics_port}", *sets]  # fmt: skip
    config = renderer.render("postgresql", sets=values).one("ConfigMap", f"{DB}-pooler")
    root = Path(tempfile.mkdtemp(prefix="inventory-pooler-"))
    etc, secret, run = root / "etc", root / "secret", root / "run"
    for path in (etc, secret, run):
        path.mkdir()
    ini = (
        config["data"]["pgbouncer.ini"]
        .replace(
            f"host={DB}.{NAMESPACE}.svc port=5432 dbname=inventory",
            f"host=127.0.0.1 port={server.port} dbname={database}",
        )
        .replace("inventory = host", f"{database} = host")
    )
    (etc / "pgbouncer.ini").write_text(ini)
    (etc / "hba.conf").write_text(config["data"]["hba.conf"].replace(" inventory ", " all "))
    (secret / "password").write_text(server.password + "\n")
    for path in (etc / "pgbouncer.ini", etc / "hba.conf", secret / "password"):
        path.chmod(0o644)
    run.chmod(0o777)
    common = ["run", "-d", "--network", "host", "--read-only", "--cap-drop=ALL",
              "--security-opt=no-new-privileges", "-v", f"{run}:/var/run/pgbouncer"]  # fmt: skip
    names = [
        f"inventory-pooler-{secrets.token_hex(4)}",
        f"inventory-poolexp-{secrets.token_hex(4)}",
    ]
    pooler = Pooler(server, database, port, metrics_port, secret, names)
    try:
        podman(*common, "--name", names[0], "-v", f"{etc}:/etc/pgbouncer:ro",
               "-v", f"{secret}:/run/secrets/postgres:ro",
               "-e", f"POOLER_DATABASE_USER={APP_USER}", "-e", "POOLER_WATCH_SECONDS=1",
               "-e", "POOLER_PASSWORD_FILE=/run/secrets/postgres/password", image,
               capture=True)  # fmt: skip
        wait_for(lambda: "process up" in pooler.logs(names[0]), "pgbouncer to start")
        podman(*common, "--name", names[1], "-e", "PGBOUNCER_HOST=/var/run/pgbouncer",
               "-e", f"PGBOUNCER_PORT={port}", "-e", f"PORT={metrics_port}",
               "-e", "HOST=127.0.0.1", image, "exporter", capture=True)  # fmt: skip
        yield pooler
    finally:
        for name in names:
            podman("rm", "-f", name, capture=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
