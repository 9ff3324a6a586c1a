"""The Azurite image (local backup storage): built from the local base, hardened, serving HTTPS.

Runs it the way the local platform does (pipelines/targets/local_platform.py): read-only root,
no capabilities, its own certificate and a random account key, and creates the backup
container over TLS with the name the cluster uses, exactly as the deploy stage does.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.targets.blob_container import Endpoint, create_container
from pipelines.targets.local_certificates import issue_set
from tests.support.postgres import free_port
from tests.support.tools import require_tool
from tools.containers import build_image, podman
from tools.localcluster import pki

pytestmark = pytest.mark.slow
SERVER_NAME = "azurite.inventory.svc"


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    require_tool("podman", "make bootstrap")
    require_tool("debootstrap", "make bootstrap")
    reference = build_image("azurite", f"test-{uuid.uuid4().hex[:8]}")
    yield reference
    podman("rmi", reference, capture=True, check=False)


def test_image_runs_as_a_numeric_non_root_user_under_tini(image: str) -> None:
    config = json.loads(podman("image", "inspect", image, capture=True).stdout)[0]["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"][0] == "/usr/bin/tini"
    assert config["Labels"]["org.opencontainers.image.source"].startswith("https://")


def test_serves_https_and_creates_the_backup_container(image: str, tmp_path: Path) -> None:
    ca, issued = issue_set(
        {"azurite": pki.CertSpec("azurite", "azurite", server=True, dns_names=(SERVER_NAME,))}
    )
    tls, data = tmp_path / "tls", tmp_path / "data"
    tls.mkdir()
    data.mkdir(mode=0o777)
    data.chmod(0o777)  # the pod gets a writable volume; the test mimics it with a bind mount
    for name, content in issued["azurite"].secret_files().items():
        (tls / name).write_bytes(content)
        (tls / name).chmod(0o644)
    key = base64.b64encode(secrets.token_bytes(64)).decode()
    port, name = free_port(), f"azurite-test-{uuid.uuid4().hex[:8]}"
    podman(
        *["run", "-d", "--name", name, "--read-only", "--cap-drop=ALL", "--network=host"],
        *["--security-opt=no-new-privileges", "-v", f"{data}:/data", "-v", f"{tls}:/tls:ro"],
        *["-e", f"AZURITE_ACCOUNTS=inventorylocal:{key}", image],
        *["--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", "/data"],
        *["--cert", "/tls/tls.crt", "--key", "/tls/tls.key", "--disableProductStyleUrl"],
        *["--disableTelemetry", "--skipApiVersionCheck"],
        capture=True,
    )
    try:
        endpoint = Endpoint("127.0.0.1", port, SERVER_NAME, ca)
        deadline = time.monotonic() + 60
        while True:
            try:
                assert create_container(endpoint, "inventorylocal", key, "pgbackrest") is True
                break
            except OSError:
                if time.monotonic() > deadline:
                    logs = podman("logs", name, capture=True, check=False)
                    pytest.fail(f"azurite did not answer: {logs.stdout}{logs.stderr}")
                time.sleep(0.5)
        assert create_container(endpoint, "inventorylocal", key, "pgbackrest") is False
        user = podman("exec", name, "id", "-u", capture=True).stdout.strip()
        assert user == "10001"
    finally:
        podman("rm", "-f", name, capture=True, check=False)
