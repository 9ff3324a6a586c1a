"""Run `python -m inventory_api` as a real process for tests: its own port, its own log file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.support.postgres import Database, free_port


@dataclass
class ApiProcess:
    """A running API server and the file its stdout/stderr go to."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL of `path`."""
        return self.base_url + path

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request with a 30 s timeout (generous: a loaded CI machine is slow, never hung)."""
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.url(path), **kwargs)

    def log_records(self) -> list[dict[str, Any]]:
        """Every JSON log line written so far (non-JSON lines fail the parse loudly)."""
        lines = self.log_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def wait_for_logs(self, request_id: str, timeout: float = 30) -> list[dict[str, Any]]:
        """The log records of `request_id` once its access line is written (it is written
        just after the response is sent, so a client can see the answer first)."""
        deadline = time.monotonic() + timeout
        while True:
            records = [r for r in self.log_records() if r.get("request_id") == request_id]
            if any(r["message"] == "request" for r in records) or time.monotonic() > deadline:
                return records
            time.sleep(0.05)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def api_env(database: Database, **overrides: str) -> dict[str, str]:
    """Environment for the API process pointed at `database`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "DB_", "PORT", "AUTH_", "RATE_LIMIT_"))
    }
    env.update({"DATABASE_URL": database.sqlalchemy_url, "LOG_LEVEL": "INFO"})
    # Authentication and rate limits are tested on their own (test_auth*.py); off elsewhere.
    env.update({"AUTH_MODE": "off", "RATE_LIMIT_PER_SECOND": "0"})
    env.update(overrides)
    return env


def run_cli(
    env: Mapping[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m inventory_api ARGS` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "inventory_api", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_api(env: Mapping[str, str], log_dir: Path, startup_timeout: float = 60) -> ApiProcess:
    """Start the server on a free port and wait until /healthz answers."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"api-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "inventory_api"],
            env={**env, "PORT": str(port), "HOST": "127.0.0.1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    api = ApiProcess(process, port, log_path)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"API exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if api.request("GET", "/healthz", timeout=5).status_code == 200:
                return api
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or too slow to answer on a loaded machine: poll again
        time.sleep(0.1)
    api.process.kill()
    raise RuntimeError(
        f"API did not answer /healthz in {startup_timeout}s:\n{log_path.read_text()}"
    )
