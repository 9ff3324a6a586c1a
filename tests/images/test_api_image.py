"""The API image: built from the local debootstrap base, hardened, and serving /readyz for real.

Runs the image the way the chart does: read-only root filesystem, non-root, no capabilities,
the password in a mounted file, tini as PID 1; migrations run from the same image.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.postgres import Database, free_port, running_postgres
from tests.support.tools import require_tool
from tools.containers import build_image, podman

pytestmark = pytest.mark.slow

HARDENING = (
    "--read-only",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
    "--network=host",
)


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    """Build the API image once for this module (layer cache makes rebuilds fast); untag after."""
    require_tool("podman", "make bootstrap")
    require_tool("debootstrap", "make bootstrap")
    reference = build_image("api", f"test-{uuid.uuid4().hex[:8]}")
    yield reference
    podman("rmi", reference, capture=True, check=False)


@pytest.fixture(scope="module")
def inspected(image: str) -> dict[str, Any]:
    """`podman image inspect` of the image."""
    out = podman("image", "inspect", image, capture=True).stdout
    config: dict[str, Any] = json.loads(out)[0]
    return config


@pytest.fixture(scope="module")
def database() -> Iterator[Database]:
    """A throwaway PostgreSQL server and database for the container."""
    with running_postgres() as server:
        yield server.create_database()


@pytest.fixture(scope="module")
def password_file(database: Database) -> Path:
    """The database password as the Key Vault CSI driver would mount it."""
    path = database.server.base_dir / "db-password"
    path.write_text(database.server.password + "\n")
    path.chmod(0o644)
    return path


def _env(database: Database, port: int) -> list[str]:
    return [
        "--env",
        f"DATABASE_URL={database.url_without_password}",
        "--env",
        "DATABASE_PASSWORD_FILE=/run/secrets/db-password",
        "--env",
        f"PORT={port}",
        "--env",
        "HOST=127.0.0.1",
        "--env",
        "AUTH_MODE=off",  # token validation has its own tests (tests/api/test_auth*.py)
    ]


def test_image_is_non_root_with_tini_entrypoint_and_oci_labels(
    inspected: dict[str, Any],
) -> None:
    config = inspected["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"][:2] == ["/usr/bin/tini", "--"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.source"].startswith("https://github.com/")
    assert len(labels["org.opencontainers.image.revision"]) in (40, len("unknown"))
    assert labels["org.opencontainers.image.created"].endswith("Z")


def test_runtime_stage_has_no_compiler_pip_or_package_lists(image: str) -> None:
    script = (
        "for tool in gcc cc make pip pip3; do command -v $tool && exit 1; done; "
        'test ! -e /opt/venv/bin/pip && test -z "$(ls /var/lib/apt/lists)"'
    )
    result = podman(
        "run", "--rm", "--entrypoint", "/bin/sh", image, "-c", script, capture=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_bad_configuration_exits_2_with_one_line(image: str) -> None:
    result = podman(
        "run",
        "--rm",
        *HARDENING,
        "--env",
        "DATABASE_URL=mysql://x@y/z",
        image,
        capture=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "invalid configuration: DATABASE_URL: scheme must be postgresql+pg8000://, got mysql://"
    ]


def test_migrates_then_serves_readyz_read_only_and_stops_cleanly_on_sigterm(
    image: str, database: Database, password_file: Path
) -> None:
    port = free_port()
    secret = ["--volume", f"{password_file}:/run/secrets/db-password:ro"]
    migrate = podman(
        "run",
        "--rm",
        *HARDENING,
        *secret,
        *_env(database, port),
        image,
        "migrate",
        capture=True,
        check=False,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr
    name = f"inventory-api-test-{port}"
    podman(
        "run",
        "--detach",
        "--name",
        name,
        *HARDENING,
        *secret,
        *_env(database, port),
        image,
        capture=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline:
            try:
                status = requests.get(f"{base}/readyz", timeout=10).status_code
            except (requests.ConnectionError, requests.Timeout):
                status = None  # still starting, or slow on a loaded machine: poll again
            if status == 200:
                break
            time.sleep(0.3)
        logs = podman("logs", name, capture=True, check=False)
        assert status == 200, logs.stdout + logs.stderr
        created = requests.post(
            f"{base}/api/v1/products",
            json={"sku": "IMG-1", "name": "From the container", "price_cents": 1},
            timeout=30,
        )
        assert created.status_code == 201
        uid = podman("exec", name, "/bin/sh", "-c", "id -u; id -g", capture=True).stdout.split()
        assert uid == ["10001", "10001"]
        write = podman(
            "exec", name, "/bin/sh", "-c", "touch /opt/venv/x", capture=True, check=False
        )
        assert write.returncode != 0
        assert "Read-only file system" in write.stderr

        podman("stop", "--time", "20", name, capture=True)
        state = json.loads(podman("inspect", name, capture=True).stdout)[0]["State"]
        assert state["ExitCode"] == 0
        last = podman("logs", name, capture=True).stdout.strip().splitlines()[-1]
        assert json.loads(last)["message"] == "stopped"
    finally:
        podman("rm", "--force", name, capture=True, check=False)
