"""A running local git server for tests: the harness's own program, argv and environment, on a
free port with a throwaway state directory and CA."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.postgres import free_port
from tools.localcluster import gitserver, pki
from tools.localcluster.registry import Credentials
from tools.localcluster.settings import GIT_HOST, Paths


@dataclass(frozen=True)
class Running:
    paths: Paths
    server: str
    accounts: dict[str, Credentials]
    log: Path

    @property
    def url(self) -> str:
        return gitserver.url(self.server)


def prepare(root: Path) -> tuple[Paths, dict[str, Credentials]]:
    """A state directory as `up` leaves it: the cluster CA, the serving certificate, the
    accounts and the bare repository."""
    paths = Paths(root)
    ca = pki.ensure_ca(paths.pki)
    pki.ensure_cert(paths.pki, gitserver.SERVING_CERT, ca)
    accounts = gitserver.ensure_accounts(paths)
    gitserver.ensure_repository(paths)
    return paths, accounts


@contextlib.contextmanager
def serve(paths: Paths, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The server started with exactly the argv and environment the harness uses (only the
    port differs), until it answers; stopped with SIGTERM afterwards."""
    service = gitserver.service(paths, port)
    assert service.env is not None
    with log.open("ab") as output:
        process = subprocess.Popen(
            service.argv,
            env=dict(service.env),  # processes.start replaces the environment likewise
            cwd=paths.root,  # and sets no working directory: imports must not depend on it
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = f"{GIT_HOST}:{port}"
    try:
        deadline = time.monotonic() + 30
        while not gitserver.answers(paths, server):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(log.read_text(errors="replace")[-2000:])
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def running_server(root: Path) -> Iterator[Running]:
    """A prepared state directory under `root` and the server on a free port, until exit."""
    paths, accounts = prepare(root)
    port = free_port()
    log = paths.root / "git-server.log"
    with serve(paths, port, log):
        yield Running(paths, f"{GIT_HOST}:{port}", accounts, log)
