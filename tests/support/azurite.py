"""Azurite (the Azure Storage emulator) over HTTPS, for tests of anything that uses Blob storage.

Why: pgBackRest's Azure driver and the azure-storage-blob SDK only speak TLS to real endpoints;
testing them against plain HTTP would skip the certificate handling that breaks in production.
The `azurite` npm package is installed once, pinned, into the per-user cache; each run gets a
fresh self-signed certificate for `localhost` and its own data directory. Usage:

    with running_azurite(tmp_dir) as azurite:
        azurite.create_container("pgbackrest")
        ...  # azurite.host, azurite.port, azurite.ca_file, azurite.account, azurite.key
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.storage.blob import BlobServiceClient

from tests.support.tools import require_tool

AZURITE_VERSION = "3.35.0"  # newest release that runs on Node 20 (see docs of environment)
CACHE_ROOT = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "inventory-platform"
INSTALL_DIR = CACHE_ROOT / "azurite" / AZURITE_VERSION
# Azurite's published development account: not a secret, documented by Microsoft.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# An API version Azurite 3.35 knows; newer SDK defaults would be refused.
BLOB_API_VERSION = "2025-11-05"


def azurite_binary() -> Path:
    """Install azurite@AZURITE_VERSION into the per-user cache if missing; return azurite-blob."""
    binary = INSTALL_DIR / "node_modules" / ".bin" / "azurite-blob"
    if binary.exists():
        return binary
    npm = require_tool("npm", "make bootstrap  (Debian package npm)")
    INSTALL_DIR.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{AZURITE_VERSION}-", dir=INSTALL_DIR.parent))
    try:
        subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(staging),
                "--no-fund",
                "--no-audit",
                "--save-exact",
                f"azurite@{AZURITE_VERSION}",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
        # Rename is atomic: a concurrent or interrupted install never leaves a half tree behind.
        with contextlib.suppress(OSError):
            staging.rename(INSTALL_DIR)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not binary.exists():
        raise RuntimeError(f"npm install of azurite@{AZURITE_VERSION} did not produce {binary}")
    return binary


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost/127.0.0.1; the cert doubles as the CA file."""
    openssl = require_tool("openssl", "apt-get install -y openssl")
    cert, key = directory / "azurite.crt", directory / "azurite.key"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    cert.chmod(0o644)  # the CA file is read by pgBackRest running as `postgres`
    return cert, key


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Azurite:
    """Connection details of a running Azurite blob service."""

    host: str
    port: int
    ca_file: Path
    account: str = DEV_ACCOUNT
    key: str = DEV_KEY

    @property
    def blob_endpoint(self) -> str:
        """Path-style endpoint: Azurite serves every account under one host."""
        return f"https://{self.host}:{self.port}/{self.account}"

    @property
    def connection_string(self) -> str:
        """Connection string for the azure-storage-blob SDK."""
        return (
            f"DefaultEndpointsProtocol=https;AccountName={self.account};"
            f"AccountKey={self.key};BlobEndpoint={self.blob_endpoint};"
        )

    def service_client(self) -> Any:  # the SDK ships no type information
        """A BlobServiceClient that trusts the self-signed certificate."""
        return BlobServiceClient.from_connection_string(
            self.connection_string,
            api_version=BLOB_API_VERSION,
            connection_verify=str(self.ca_file),
        )

    def create_container(self, name: str) -> None:
        """Create a container (pgBackRest never creates its own)."""
        self.service_client().create_container(name)

    def blob_names(self, container: str, prefix: str = "") -> list[str]:
        """Names of the blobs in a container under a prefix."""
        client = self.service_client().get_container_client(container)
        return [blob.name for blob in client.list_blobs(name_starts_with=prefix or None)]

    def delete_blob(self, container: str, name: str) -> None:
        """Delete one blob, e.g. to damage a repository on purpose."""
        self.service_client().get_container_client(container).delete_blob(name)


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"azurite exited ({process.returncode}): {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.2)
    raise RuntimeError(f"azurite did not listen on {port} within 30 s: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def running_azurite(work_dir: Path, extra_args: Sequence[str] = ()) -> Iterator[Azurite]:
    """Run Azurite's blob service over HTTPS on a free loopback port for the block's duration;
    `extra_args` switch on features such as `--oauth basic`."""
    node = require_tool("node", "make bootstrap  (Debian package nodejs)")
    binary = azurite_binary()
    work_dir.mkdir(parents=True, exist_ok=True)
    cert, key = make_certificate(work_dir)
    port = _free_port()
    log = work_dir / "azurite.log"
    with log.open("wb") as log_handle:
        process = subprocess.Popen(
            [
                node,
                str(binary),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(port),
                "--location",
                str(work_dir / "data"),
                "--cert",
                str(cert),
                "--key",
                str(key),
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--silent",
                *extra_args,
            ],
            stdout=log_handle,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_listening(port, process, log)
        yield Azurite(host="localhost", port=port, ca_file=cert)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
