"""A throwaway PostgreSQL 15 server for tests and benchmarks: real server, free port, temp dir.

Why: every layer that talks to PostgreSQL needs a real one that starts in a second or two, can be
stopped and restarted (readiness tests), and hands out clean databases without rebuilding the
cluster. Usage from a layer's conftest:

    from tests.support.postgres import postgres_server  # noqa: F401  (session fixture)

    def test_x(postgres_server: PostgresServer) -> None:
        db = postgres_server.create_database()
        url = db.sqlalchemy_url  # postgresql+pg8000://inventory:...@127.0.0.1:PORT/NAME

The server listens on 127.0.0.1 only, with scram-sha-256 password authentication for TCP and
peer authentication on its private Unix socket directory. When the tests run as root, the server
processes run as the `postgres` user (initdb refuses root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pg8000.native
import pytest

from tests.support.tools import require_tool

PG_BIN = Path("/usr/lib/postgresql/15/bin")
INSTALL_HINT = "make bootstrap  (Debian package postgresql-15)"
APP_USER = "inventory"

# Durability off: tests need speed, not crash safety. Benchmarks pass their own settings.
FAST_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "128MB",
}


def free_port() -> int:
    """Ask the kernel for an unused TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Database:
    """One database on the server, owned by the application role."""

    server: PostgresServer
    name: str

    @property
    def sqlalchemy_url(self) -> str:
        """URL with the password inlined, for SQLAlchemy and the API's DATABASE_URL."""
        return self.server.url(self.name, with_password=True)

    @property
    def url_without_password(self) -> str:
        """URL for deployments that pass the password in DATABASE_PASSWORD_FILE."""
        return self.server.url(self.name, with_password=False)

    def connect(self) -> pg8000.native.Connection:
        """A raw pg8000 connection as the application role."""
        return self.server.connect(self.name)

    def query(self, sql: str, **params: Any) -> list[list[Any]]:
        """Run one statement as the application role and return its rows."""
        conn = self.connect()
        try:
            return list(conn.run(sql, **params) or [])
        finally:
            conn.close()


class PostgresServer:
    """A PostgreSQL 15 cluster in a temp directory, controlled with initdb and pg_ctl."""

    def __init__(
        self,
        base_dir: Path,
        port: int | None = None,
        settings: Mapping[str, str] | None = None,
        *,
        data_checksums: bool = False,
    ) -> None:
        for binary in ("initdb", "pg_ctl", "postgres"):
            if not (PG_BIN / binary).exists():
                require_tool(str(PG_BIN / binary), INSTALL_HINT)
        self.base_dir = base_dir
        self.data_dir = base_dir / "data"
        self.socket_dir = base_dir / "socket"
        self.log_file = base_dir / "postgresql.log"
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.user = APP_USER
        self.password = secrets.token_urlsafe(18)
        self.settings = dict(FAST_SETTINGS if settings is None else settings)
        self.data_checksums = data_checksums
        self._as_postgres = os.geteuid() == 0
        self._counter = 0

    # -- lifecycle -------------------------------------------------------------------------

    def init(self) -> None:
        """initdb, write the configuration and start; creates the application role."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        pwfile = self.base_dir / "superuser.pw"
        pwfile.write_text(secrets.token_urlsafe(18) + "\n")
        if self._as_postgres:
            uid, gid = pwd.getpwnam("postgres").pw_uid, pwd.getpwnam("postgres").pw_gid
            for path in (self.base_dir, self.socket_dir, pwfile):
                os.chown(path, uid, gid)
        os.chmod(self.base_dir, 0o755)  # noqa: S103 - clients must reach the socket directory
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--pwfile",
            str(pwfile),
            "--auth-local=peer",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-instructions",
            *(["--data-checksums"] if self.data_checksums else []),
        )
        pwfile.unlink()
        lines = [f"{key} = '{value}'" for key, value in self.settings.items()]
        lines += [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.socket_dir}'",
            "password_encryption = 'scram-sha-256'",
        ]
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# tests/support/postgres.py\n" + "\n".join(lines) + "\n")
        self.start()
        self.superuser_sql(f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}' CREATEDB")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (mode: smart, fast or immediate)."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def is_running(self) -> bool:
        """True while the postmaster answers pg_ctl status."""
        result = subprocess.run(
            self._command(str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "status"),
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def destroy(self) -> None:
        """Stop (if running) and remove every file."""
        if self.data_dir.exists() and self.is_running():
            self.stop("immediate")
        shutil.rmtree(self.base_dir, ignore_errors=True)

    # -- databases and connections ----------------------------------------------------------

    def url(self, dbname: str, *, with_password: bool = True) -> str:
        """SQLAlchemy URL for the application role."""
        auth = f"{self.user}:{quote(self.password, safe='')}" if with_password else self.user
        return f"postgresql+pg8000://{auth}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> pg8000.native.Connection:
        """A raw pg8000 connection as the application role over TCP."""
        return pg8000.native.Connection(
            user=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            database=dbname,
            timeout=10,
        )

    def superuser_sql(self, sql: str, dbname: str = "postgres") -> str:
        """Run SQL as the postgres superuser through psql on the private socket."""
        result = self._run(
            str(PG_BIN / "psql"),
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            dbname,
            "-c",
            sql,
        )
        return result.stdout.strip()

    def create_database(self, template: str | None = None, name: str | None = None) -> Database:
        """A fresh database owned by the application role, optionally copied from a template."""
        self._counter += 1
        dbname = name or f"test_{os.getpid()}_{self._counter}"
        conn = self.connect()
        try:
            suffix = f" TEMPLATE {pg8000.native.identifier(template)}" if template else ""
            conn.run(f"CREATE DATABASE {pg8000.native.identifier(dbname)}{suffix}")
        finally:
            conn.close()
        return Database(self, dbname)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting any remaining sessions."""
        conn = self.connect()
        try:
            conn.run(f"DROP DATABASE IF EXISTS {pg8000.native.identifier(name)} WITH (FORCE)")
        finally:
            conn.close()

    # -- helpers ----------------------------------------------------------------------------

    def _command(self, *args: str) -> list[str]:
        if self._as_postgres:
            return ["runuser", "-u", "postgres", "--", *args]
        return list(args)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self._command(*args), capture_output=True, text=True, check=False, timeout=120
        )
        if result.returncode != 0:
            log = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}\n{log}"
            )
        return result


@contextlib.contextmanager
def running_postgres(
    settings: Mapping[str, str] | None = None, prefix: str = "inventory-pg-"
) -> Iterator[PostgresServer]:
    """Start a throwaway server for the duration of the block; always removes it."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    server = PostgresServer(base, settings=settings)
    try:
        server.init()
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Session-wide PostgreSQL 15 server; use create_database() for isolation per test."""
    with running_postgres() as server:
        yield server
