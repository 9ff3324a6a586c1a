"""The database and exporter images: built from the local base, run like the chart runs them.

The database container must initialise an empty volume (data checksums on, scram-sha-256, the
roles the chart expects), restart on the same volume without re-initialising, shut down
cleanly, and refuse a non-empty volume that is not a cluster. The exporter container must reach
it over the shared socket by peer authentication, as the pod's sidecar does.
"""

from __future__ import annotations

import os
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

from tests.support.postgres import free_port
from tools.containers import build_image, podman

pytestmark = pytest.mark.slow
TAG = "test"


@dataclass(frozen=True)
class Volumes:
    """Host directories standing in for the pod's PVC, socket emptyDir and password Secret."""

    root: Path
    data: Path
    socket: Path
    secret: Path
    password: str

    def mounts(self) -> list[str]:
        return [
            "-v", f"{self.data}:/var/lib/postgresql/data",
            "-v", f"{self.socket}:/var/run/postgresql",
            "-v", f"{self.secret}:/run/secrets/postgres:ro",
        ]  # fmt: skip


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    """Both images, built through the project's container module."""
    return {name: build_image(name, TAG) for name in ("postgresql", "postgres-exporter")}


@pytest.fixture
def volumes() -> Iterator[Volumes]:
    root = Path(tempfile.mkdtemp(prefix="inventory-dbimage-"))
    data, socket, secret = root / "data", root / "socket", root / "secret"
    for path in (data, socket, secret):
        path.mkdir()
        if os.geteuid() == 0:
            os.chown(path, 999, 999)  # the image's postgres uid, as fsGroup does in the pod
    password = secrets.token_urlsafe(18)
    (secret / "password").write_text(password + "\n")
    (secret / "password").chmod(0o644)
    yield Volumes(root, data, socket, secret, password)
    shutil.rmtree(root, ignore_errors=True)


class Container:
    """One detached container run with the chart's security settings."""

    def __init__(self, image: str, args: list[str]) -> None:
        self.name = f"inventory-test-{secrets.token_hex(4)}"
        podman("run", "-d", "--name", self.name, "--read-only", "--cap-drop=ALL",
               "--security-opt=no-new-privileges", *args, image, capture=True)  # fmt: skip

    def logs(self) -> str:
        result = podman("logs", self.name, capture=True, check=False)
        return result.stdout + result.stderr

    def wait_log(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.logs():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not logged within {timeout} s:\n{self.logs()}")
            time.sleep(0.3)

    def stop(self) -> int:
        """podman stop (the image's STOPSIGNAL) and return the exit code."""
        podman("stop", "-t", "30", self.name, capture=True)
        state = podman("inspect", "-f", "{{.State.ExitCode}}", self.name, capture=True)
        return int(state.stdout.strip())

    def remove(self) -> None:
        podman("rm", "-f", self.name, capture=True, check=False)


def connect(port: int, password: str) -> pg8000.native.Connection:
    deadline = time.monotonic() + 30
    while True:
        try:
            return pg8000.native.Connection(
                "inventory", password=password, host="127.0.0.1", port=port, database="inventory"
            )
        except (pg8000.native.InterfaceError, pg8000.native.DatabaseError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_database_image_initialises_restarts_and_stops_cleanly(
    images: dict[str, str], volumes: Volumes
) -> None:
    port = free_port()
    args = [*volumes.mounts(), "-p", f"127.0.0.1:{port}:5432"]
    first = Container(images["postgresql"], args)
    try:
        first.wait_log("database system is ready to accept connections")
        assert "initialised /var/lib/postgresql/data/pgdata" in first.logs()
        conn = connect(port, volumes.password)
        assert conn.run("SHOW data_checksums") == [["on"]]
        assert conn.run("SHOW password_encryption") == [["scram-sha-256"]]
        assert conn.run("SELECT extname FROM pg_extension WHERE extname = 'pg_stat_statements'")
        assert conn.run("SELECT pg_has_role('postgres_exporter', 'pg_monitor', 'member')") == [
            [True]
        ]
        conn.run("CREATE TABLE marker (id int)")
        conn.run("INSERT INTO marker VALUES (42)")
        conn.close()
        assert first.stop() == 0
        assert "database system is shut down" in first.logs()
    finally:
        first.remove()

    second = Container(images["postgresql"], args)
    try:
        second.wait_log("database system is ready to accept connections")
        logs = second.logs()
        assert "existing cluster" in logs
        assert "initialised" not in logs
        assert "not properly shut down" not in logs  # the first stop was clean
        conn = connect(port, volumes.password)
        assert conn.run("SELECT id FROM marker") == [[42]]
        # A rotated secret (renamed into place, as the kubelet does): the role follows it while
        # the server runs, and the open session is not disturbed.
        second.wait_log("reconcile: set the password of role inventory")
        rotated = secrets.token_urlsafe(18)
        staged = volumes.secret / "password.new"
        staged.write_text(rotated + "\n")
        staged.chmod(0o644)
        staged.rename(volumes.secret / "password")
        deadline = time.monotonic() + 60
        while second.logs().count("reconcile: set the password of role inventory") < 2:
            assert time.monotonic() < deadline, second.logs()
            time.sleep(0.3)
        assert conn.run("SELECT 1") == [[1]]
        conn.close()
        connect(port, rotated).close()
        with pytest.raises(pg8000.native.DatabaseError, match="28P01"):
            pg8000.native.Connection(
                "inventory", password=volumes.password, host="127.0.0.1", port=port,
                database="inventory",
            )  # fmt: skip
        assert second.stop() == 0
    finally:
        second.remove()


def test_database_image_refuses_a_volume_that_is_not_a_cluster(
    images: dict[str, str], volumes: Volumes
) -> None:
    pgdata = volumes.data / "pgdata"
    pgdata.mkdir()
    (pgdata / "important.dat").write_text("not a cluster")
    container = Container(images["postgresql"], volumes.mounts())
    try:
        deadline = time.monotonic() + 30
        while "refusing to initialise" not in container.logs():
            assert time.monotonic() < deadline, container.logs()
            time.sleep(0.3)
        state = podman("wait", container.name, capture=True)
        assert state.stdout.strip() == "1"
        assert (pgdata / "important.dat").read_text() == "not a cluster"
    finally:
        container.remove()


def test_exporter_image_scrapes_over_the_shared_socket(
    images: dict[str, str], volumes: Volumes
) -> None:
    database = Container(images["postgresql"], volumes.mounts())
    exporter_port = free_port()
    try:
        database.wait_log("database system is ready to accept connections")
        exporter = Container(
            images["postgres-exporter"],
            ["-v", f"{volumes.socket}:/var/run/postgresql", "-p", f"127.0.0.1:{exporter_port}:9187",
             "-e", "DATA_SOURCE_NAME=host=/var/run/postgresql port=5432 user=postgres_exporter "
             "dbname=inventory sslmode=disable"],
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    body = requests.get(f"http://127.0.0.1:{exporter_port}/metrics", timeout=5).text
                    break
                except requests.ConnectionError:
                    assert time.monotonic() < deadline, exporter.logs()
                    time.sleep(0.3)
            assert "\npg_up 1\n" in body, exporter.logs()
            assert "pg_database_xid_frozen_xid_age" in body
        finally:
            exporter.remove()
    finally:
        database.remove()
