"""The database's reconciler (images/postgresql/dbops/reconcile.py), run as the image runs it
(Debian's python3, as the postgres OS user, on the server's Unix socket) against a real
PostgreSQL 15: it reloads what reloads, reports what needs a restart, applies role settings and
follows a rotated password file; and a rotation under a running API process that keeps
answering; and on a streaming standby (a Patroni replica) it only reloads, until promoted."""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pg8000.native
import pytest
from inventory_api.migrate import upgrade
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from tests.api.apiprocess import api_env, start_api
from tests.api.helpers import PRODUCTS, create_product
from tests.backup.lab import SCRIPTS, _chown_postgres, as_postgres
from tests.support.postgres import (
    APP_USER,
    PG_BIN,
    PostgresServer,
    free_port,
    running_postgres,
)


@dataclass
class Reconciler:
    """The running loop, the files it watches and its log."""

    process: subprocess.Popen[bytes]
    roles_file: Path
    password_file: Path
    log: Path

    def wait_for(self, text: str, timeout: float = 30) -> None:
        """Wait until `text` appears in the log for the first time since the last wait."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text():
                self.log.write_text("")  # the next wait sees only what follows
                return
            assert self.process.poll() is None, self.log.read_text()
            time.sleep(0.1)
        raise AssertionError(f"reconciler never logged {text!r}:\n{self.log.read_text()}")

    def write(self, path: Path, text: str) -> None:
        """Replace a watched file as Kubernetes does: a new file renamed over the old."""
        staged = path.with_suffix(".new")
        staged.write_text(text)
        _chown_postgres(staged)
        staged.rename(path)


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    """A server of this test's own: the tests change its configuration and its role."""
    with running_postgres(prefix="dbops-reconcile-") as pg:
        yield pg


@contextlib.contextmanager
def reconciling(server: PostgresServer, first: str) -> Iterator[Reconciler]:
    """`python3 -m dbops.reconcile` every second on the server's own configuration directory,
    once it has logged `first` (its first tick)."""
    files = server.base_dir / "mounted"
    files.mkdir()
    _chown_postgres(files)
    log = files / "reconcile.log"
    log.write_text("")
    _chown_postgres(log)
    watched = Reconciler(None, files / "roles.json", files / "password", log)  # type: ignore[arg-type]
    watched.write(watched.password_file, server.password + "\n")
    env = {"PATH": "/usr/lib/postgresql/15/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "PYTHONPATH": str(SCRIPTS),
           "PGHOST": str(server.socket_dir), "PGPORT": str(server.port),
           "POSTGRES_CONFIG_FILE": str(server.data_dir / "postgresql.conf"),
           "POSTGRES_ROLES_FILE": str(watched.roles_file),
           "POSTGRES_PASSWORD_FILE": str(watched.password_file), "POSTGRES_USER": APP_USER,
           "DBOPS_RECONCILE_SECONDS": "1"}  # fmt: skip
    with log.open("ab") as out:
        watched.process = subprocess.Popen(
            as_postgres(["/usr/bin/python3", "-m", "dbops.reconcile"]),
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        watched.wait_for(first)
        yield watched
    finally:
        watched.process.terminate()
        watched.process.wait(10)


@pytest.fixture
def reconciler(server: PostgresServer) -> Iterator[Reconciler]:
    """The reconciler on a primary: its first tick sets the password."""
    with reconciling(server, f"set the password of role {APP_USER}") as watched:
        yield watched


@contextlib.contextmanager
def standby_of(primary: PostgresServer) -> Iterator[PostgresServer]:
    """A streaming replica of `primary` (pg_basebackup -R), on its own port and socket: a
    Patroni replica as the reconciler sees it."""
    standby = PostgresServer(Path(tempfile.mkdtemp(prefix="dbops-standby-")), port=free_port())
    standby.password = primary.password  # the application role replicates with its password
    standby.socket_dir.mkdir()
    _chown_postgres(standby.base_dir, standby.socket_dir)
    standby.base_dir.chmod(0o755)
    try:
        subprocess.run(
            as_postgres([f"{PG_BIN}/pg_basebackup", "-h", str(primary.socket_dir),
                         "-p", str(primary.port), "-U", "postgres", "-D", str(standby.data_dir),
                         "-R", "-X", "stream", "-c", "fast"]),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        append_setting(standby, f"port = {standby.port}")
        append_setting(standby, f"unix_socket_directories = '{standby.socket_dir}'")
        standby.start()
        assert standby.superuser_sql("SELECT pg_is_in_recovery()") == "t"
        yield standby
    finally:
        standby.destroy()


def as_app(server: PostgresServer, sql: str, password: str | None = None) -> str:
    """One value from a new session of the application role."""
    conn = pg8000.native.Connection(
        user=APP_USER, password=password or server.password, host=server.host,
        port=server.port, database="postgres", timeout=10,
    )  # fmt: skip
    try:
        return str(conn.run(sql)[0][0])
    finally:
        conn.close()


def append_setting(server: PostgresServer, line: str) -> None:
    with (server.data_dir / "postgresql.conf").open("a") as conf:
        conf.write(line + "\n")


def test_a_reloadable_change_is_applied_without_a_restart(
    server: PostgresServer, reconciler: Reconciler
) -> None:
    started = server.superuser_sql("SELECT pg_postmaster_start_time()")
    append_setting(server, "work_mem = '7MB'")
    reconciler.wait_for("reconcile: reloaded the configuration")
    assert as_app(server, "SHOW work_mem") == "7MB"
    assert server.superuser_sql("SELECT pg_postmaster_start_time()") == started


def test_a_restart_only_change_is_reported_not_applied(
    server: PostgresServer, reconciler: Reconciler
) -> None:
    append_setting(server, "max_connections = 150")
    reconciler.wait_for("reconcile: needs a restart for: max_connections")
    assert as_app(server, "SHOW max_connections") == "200"


def test_role_settings_follow_the_file(server: PostgresServer, reconciler: Reconciler) -> None:
    spec = {"roles": {APP_USER: {"statement_timeout": "30000", "lock_timeout": "10000",
                                 "idle_session_timeout": "3600000"}}}  # fmt: skip
    reconciler.write(reconciler.roles_file, json.dumps(spec))
    reconciler.wait_for(f"applied role settings from {reconciler.roles_file}")
    assert as_app(server, "SHOW statement_timeout") == "30s"
    assert as_app(server, "SHOW lock_timeout") == "10s"
    assert as_app(server, "SHOW idle_session_timeout") == "1h"
    del spec["roles"][APP_USER]["lock_timeout"]
    reconciler.write(reconciler.roles_file, json.dumps(spec))
    reconciler.wait_for("applied role settings")
    assert as_app(server, "SHOW lock_timeout") == "0"  # a removed setting does not linger


def test_bad_role_settings_are_refused(server: PostgresServer, reconciler: Reconciler) -> None:
    bad = {"roles": {APP_USER: {"statement_timeout = 0; DROP": "1"}}}
    reconciler.write(reconciler.roles_file, json.dumps(bad))
    reconciler.wait_for("reconcile: ERROR: role settings: bad setting name")
    assert as_app(server, "SELECT 1") == "1"


def test_the_password_follows_the_file(server: PostgresServer, reconciler: Reconciler) -> None:
    new = secrets.token_urlsafe(18)
    reconciler.write(reconciler.password_file, new + "\n")
    reconciler.wait_for(f"reconcile: set the password of role {APP_USER}")
    assert as_app(server, "SELECT 1", password=new) == "1"
    with pytest.raises(pg8000.exceptions.DatabaseError, match="28P01"):
        as_app(server, "SELECT 1", password=server.password)
    assert new not in server.log_file.read_text()  # never in the server log


def test_a_short_password_file_is_refused_and_the_old_password_kept(
    server: PostgresServer, reconciler: Reconciler
) -> None:
    reconciler.write(reconciler.password_file, "short\n")
    reconciler.wait_for("reconcile: ERROR: the password in")
    assert as_app(server, "SELECT 1") == "1"


def test_rotation_under_a_running_api_keeps_it_answering(
    server: PostgresServer, reconciler: Reconciler, tmp_path: Path
) -> None:
    """Key Vault rotation as the pods see it: the mounted file changes, the database side sets
    the role's password, open sessions end (terminated here, as a restarted server or the
    pool's recycle would end them), and the API opens new ones with the password it reads from
    its file for every new connection."""
    database = server.create_database()
    engine = create_engine(database.sqlalchemy_url, poolclass=NullPool)
    upgrade(engine)
    engine.dispose()
    env = api_env(database, DATABASE_URL=database.url_without_password,
                  DATABASE_PASSWORD_FILE=str(reconciler.password_file))  # fmt: skip
    api = start_api(env, tmp_path / "logs")
    product = create_product(api)
    statuses: list[int] = []
    stop = threading.Event()

    def keep_reading() -> None:
        while not stop.is_set():
            statuses.append(api.request("GET", f"{PRODUCTS}/{product['id']}").status_code)

    reader = threading.Thread(target=keep_reading)
    reader.start()
    try:
        new = secrets.token_urlsafe(18)
        reconciler.write(reconciler.password_file, new + "\n")
        reconciler.wait_for(f"reconcile: set the password of role {APP_USER}")
        server.superuser_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE usename = 'inventory' AND application_name = 'inventory-api'"
        )
        before = len(statuses)
        rotated = create_product(api)  # a write on a connection opened with the new password
        assert api.request("GET", f"{PRODUCTS}/{rotated['id']}").status_code == 200
        stop.wait(1.0)
    finally:
        stop.set()
        reader.join()
        api.stop()
    assert len(statuses) > before > 0
    # A request whose pooled connection was just terminated gets 503 with Retry-After (never a
    # 500); the API recovers by itself: reads after the rotation succeed again.
    assert set(statuses) <= {200, 503}, sorted(set(statuses))
    assert statuses[-1] == 200, statuses[before:]
    with pytest.raises(pg8000.exceptions.DatabaseError, match="28P01"):
        as_app(server, "SELECT 1", password=server.password)


def test_a_standby_reloads_and_leaves_role_settings_and_password_to_the_primary(
    server: PostgresServer,
) -> None:
    """A replica under Patroni: its configuration reloads, but its catalogue is read-only, so
    role settings and the password wait (no error, nothing recorded as applied) and are applied
    on the first tick after it is promoted."""
    spec = {"roles": {APP_USER: {"statement_timeout": "30000"}}}
    new = secrets.token_urlsafe(18)
    with (
        standby_of(server) as standby,
        reconciling(standby, "standby: role settings and the password come from") as watched,
    ):
        watched.write(watched.roles_file, json.dumps(spec))
        watched.write(watched.password_file, new + "\n")
        append_setting(standby, "work_mem = '7MB'")
        watched.wait_for("reconcile: reloaded the configuration")
        assert standby.superuser_sql("SHOW work_mem") == "7MB"
        time.sleep(2.5)  # more ticks on the standby
        log = watched.log.read_text()
        assert "ERROR" not in log, log
        assert "applied role settings" not in log, log
        assert as_app(standby, "SHOW statement_timeout") == "0"
        assert as_app(standby, "SELECT 1") == "1"  # still the password the primary set
        subprocess.run(
            as_postgres([f"{PG_BIN}/pg_ctl", "promote", "-D", str(standby.data_dir), "-w"]),
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        watched.wait_for(f"reconcile: set the password of role {APP_USER}")
        assert as_app(standby, "SHOW statement_timeout", password=new) == "30s"
        with pytest.raises(pg8000.exceptions.DatabaseError, match="28P01"):
            as_app(standby, "SELECT 1", password=server.password)
