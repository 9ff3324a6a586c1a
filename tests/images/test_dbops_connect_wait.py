"""dbops jobs wait for their first connection instead of failing on a refused one.

Why: with NetworkPolicy enforced (kube-router locally, Azure NPM/Cilium on AKS) a new pod is let
through to the database only a second or two after it starts; the heartbeat, backup and drill
jobs connect within their first second. Here the "late" side is a real PostgreSQL that starts
a few seconds after the heartbeat job.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresServer, free_port, running_postgres
from tests.support.tools import REPO_ROOT

DBOPS = REPO_ROOT / "images" / "postgresql"


@pytest.fixture(scope="module")
def stopped_server() -> Iterator[tuple[PostgresServer, str]]:
    """A server with a database for the heartbeat, stopped until a test starts it."""
    with running_postgres(prefix="dbops-wait-") as server:
        database = server.create_database().name
        server.stop()
        yield server, database


def heartbeat(server: PostgresServer, database: str, **env: str) -> subprocess.Popen[str]:
    """Start `python3 -m dbops.heartbeat` against the server, in the background."""
    return subprocess.Popen(
        ["/usr/bin/python3", "-m", "dbops.heartbeat"],
        env={
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(DBOPS),
            "PGHOST": server.host,
            "PGPORT": str(server.port),
            "PGUSER": server.user,
            "PGPASSWORD": server.password,
            "PGDATABASE": database,
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_heartbeat_waits_for_a_database_that_comes_up_late(
    stopped_server: tuple[PostgresServer, str],
) -> None:
    server, database = stopped_server
    job = heartbeat(server, database, DBOPS_CONNECT_WAIT_SECONDS="30")
    try:
        time.sleep(3)
        assert job.poll() is None, "the job gave up while the database was still down"
        server.start()
        out, err = job.communicate(timeout=60)
    finally:
        job.kill()
        if server.is_running():
            server.stop()
    assert job.returncode == 0, err
    assert out.startswith("heartbeat "), out
    waits = [line for line in err.splitlines() if line.startswith("waiting for the database")]
    assert len(waits) >= 2, err
    assert f"at {server.host}:{server.port}" in waits[0]


def test_an_unreachable_database_is_a_clear_error_after_the_limit() -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    result = subprocess.run(
        ["/usr/bin/python3", "-m", "dbops.heartbeat"],
        env={
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(DBOPS),
            "PGHOST": "127.0.0.1",
            "PGPORT": str(port),
            "DBOPS_CONNECT_WAIT_SECONDS": "2",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert f"the database at 127.0.0.1:{port} is unreachable after 2 s" in result.stderr
    assert "NetworkPolicies" in result.stderr
    assert elapsed < 20


def test_a_bad_wait_setting_is_named() -> None:
    result = subprocess.run(
        ["/usr/bin/python3", "-m", "dbops.heartbeat"],
        env={
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(DBOPS),
            "PGHOST": "127.0.0.1",
            "DBOPS_CONNECT_WAIT_SECONDS": "soon",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "DBOPS_CONNECT_WAIT_SECONDS must be an integer, got 'soon'" in result.stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"BACKUP_AZURE_ACCOUNT": "st1"}, "st1.blob.core.windows.net:443"),
        (
            {"BACKUP_AZURE_ACCOUNT": "a", "BACKUP_AZURE_ENDPOINT": "localhost",
             "BACKUP_AZURE_URI_STYLE": "path", "BACKUP_AZURE_STORAGE_PORT": "10000"},
            "localhost:10000",
        ),
        (
            {"BACKUP_AZURE_ACCOUNT": "a", "BACKUP_AZURE_URI_STYLE": "path",
             "BACKUP_AZURE_STORAGE_HOST": "azurite.inventory.svc",
             "BACKUP_AZURE_STORAGE_PORT": "10000"},
            "azurite.inventory.svc:10000",
        ),
        ({}, "None"),
    ],
)  # fmt: skip
def test_the_storage_wait_targets_the_host_pgbackrest_uses(
    env: dict[str, str], expected: str
) -> None:
    """Same host rules as pgBackRest: storage-host, else path style = endpoint, else account."""
    script = (
        "from dbops.common import storage_endpoint as s; e = s(); "
        "print(e if e is None else f'{e.host}:{e.port}')"
    )
    result = subprocess.run(
        ["/usr/bin/python3", "-c", script],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(DBOPS), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == expected
