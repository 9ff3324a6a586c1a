"""The preStop switchover (images/postgresql/dbops/switchover.py) against a stand-in for
Patroni's REST API: which member it hands over to, that in synchronous mode it waits for a
synchronous standby, and that it never blocks a pod's shutdown.

The stand-in answers GET /cluster with the members a test gives it (the shape of Patroni 4's
/cluster), GET /config with the dynamic configuration, and records POST /switchover; the hook
runs as the pod runs it (Debian's python3, `python3 -m dbops.switchover`). Real Patroni members
run the same hook in the cluster's smoke suite (a rolling update under a writer)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from dbops.switchover import choose_candidate, synchronous_mode

from tests.support.tools import REPO_ROOT

DBOPS = REPO_ROOT / "images" / "postgresql"
ME = "db-1"


@dataclass
class FakePatroni:
    """Members to report, the switchover answer, and the requests received."""

    members: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    # from the n-th GET /cluster on, report these members instead (a standby turning synchronous)
    later: tuple[int, list[dict[str, Any]]] | None = None
    cluster_reads: int = 0
    answer: tuple[int, str] = (200, 'Successfully switched over to "db-2"')
    switchovers: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0


def member(
    name: str, role: str = "replica", state: str = "streaming", **extra: Any
) -> dict[str, Any]:
    return {"name": name, "role": role, "state": state, "lag": 0, **extra}


@pytest.fixture
def patroni() -> Iterator[FakePatroni]:
    fake = FakePatroni()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, text: str) -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/config":
                self._send(200, json.dumps(fake.config))
                return
            fake.cluster_reads += 1
            if fake.later is not None and fake.cluster_reads >= fake.later[0]:
                fake.members = fake.later[1]
            self._send(200, json.dumps({"members": fake.members}))

        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            fake.switchovers.append(json.loads(self.rfile.read(length)))
            self._send(*fake.answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def run_hook(port: int, log: Path, **env: str) -> str:
    """`python3 -m dbops.switchover` as the preStop hook runs it; the container log it wrote."""
    result = subprocess.run(
        ["/usr/bin/python3", "-m", "dbops.switchover"],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(DBOPS), "HA_API_PORT": str(port),
             "HA_MEMBER_NAME": ME, "HA_HOOK_LOG": str(log), **env},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr  # never holds up or fails the pod's stop
    return log.read_text()


def test_the_primary_hands_over_to_an_already_replaced_member(
    patroni: FakePatroni, tmp_path: Path
) -> None:
    """db-2 (a higher ordinal) was already replaced by the rolling update; db-0 is still due."""
    patroni.members = [member("db-0"), member(ME, "leader", "running"), member("db-2", lag=4096)]
    log = run_hook(patroni.port, tmp_path / "log")
    assert patroni.switchovers == [{"leader": ME, "candidate": "db-2"}]
    assert "Successfully switched over" in log


def test_a_replica_hands_nothing_over(patroni: FakePatroni, tmp_path: Path) -> None:
    patroni.members = [member("db-0", "leader", "running"), member(ME), member("db-2")]
    log = run_hook(patroni.port, tmp_path / "log")
    assert patroni.switchovers == []
    assert "not the primary" in log


def test_no_streaming_replica_leaves_it_to_patronis_shutdown(
    patroni: FakePatroni, tmp_path: Path
) -> None:
    patroni.members = [member("db-0", state="starting"), member(ME, "leader", "running"),
                       member("db-2", tags={"nofailover": True})]  # fmt: skip
    log = run_hook(patroni.port, tmp_path / "log")
    assert patroni.switchovers == []
    assert "no replica is streaming" in log


def test_a_refused_switchover_does_not_block_the_stop(patroni: FakePatroni, tmp_path: Path) -> None:
    patroni.members = [member(ME, "leader", "running"), member("db-2")]
    patroni.answer = (412, "candidate name does not match with sync_standby")
    log = run_hook(patroni.port, tmp_path / "log")
    assert "not switched over" in log
    assert "412" in log


def test_an_unreachable_api_does_not_block_the_stop(tmp_path: Path) -> None:
    log = run_hook(1, tmp_path / "log")  # nothing listens on port 1
    assert "not switched over" in log


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        # in synchronous mode Patroni switches over only to a synchronous standby
        ([member("db-0", "sync_standby"), member(ME, "leader"), member("db-2")], "db-0"),
        # the highest ordinal first, whatever its lag; among equals the least lag
        ([member("db-0", lag=0), member("db-2", lag=10**6), member(ME, "leader")], "db-2"),
        ([member("db-a", lag=7), member("db-b", lag=2), member(ME, "leader")], "db-b"),
        ([member("db-0", lag="unknown"), member(ME, "leader")], "db-0"),
        ([member(ME, "leader")], None),
    ],
)
def test_candidate_choice(members: list[dict[str, Any]], expected: str | None) -> None:
    assert choose_candidate(members, ME) == expected


SYNCHRONOUS = {"synchronous_mode": True, "synchronous_mode_strict": False}


def test_in_synchronous_mode_it_waits_for_the_restarted_standby_to_become_synchronous(
    patroni: FakePatroni, tmp_path: Path
) -> None:
    """A rolling update: db-2 streams again (ready), Patroni names it synchronous a loop later."""
    patroni.config = SYNCHRONOUS
    patroni.members = [member(ME, "leader", "running"), member("db-2")]
    patroni.later = (4, [member(ME, "leader", "running"), member("db-2", "sync_standby")])
    log = run_hook(patroni.port, tmp_path / "log", HA_SWITCHOVER_TIMEOUT="30")
    assert patroni.switchovers == [{"leader": ME, "candidate": "db-2"}]
    assert patroni.cluster_reads >= 4
    assert "waits up to 30 s for a synchronous standby" in log


def test_in_synchronous_mode_it_never_hands_over_to_an_asynchronous_standby(
    patroni: FakePatroni, tmp_path: Path
) -> None:
    """Only a member in Patroni's /sync key holds every acknowledged commit."""
    patroni.config = {"synchronous_mode": "on"}
    patroni.members = [member(ME, "leader", "running"), member("db-2")]
    log = run_hook(patroni.port, tmp_path / "log", HA_SWITCHOVER_TIMEOUT="5")
    assert patroni.switchovers == []
    assert "no standby became synchronous within 5 s" in log


def test_in_synchronous_mode_without_a_streaming_standby_it_does_not_wait(
    patroni: FakePatroni, tmp_path: Path
) -> None:
    patroni.config = SYNCHRONOUS
    patroni.members = [member(ME, "leader", "running"), member("db-2", state="starting")]
    log = run_hook(patroni.port, tmp_path / "log", HA_SWITCHOVER_TIMEOUT="60")
    assert patroni.switchovers == []
    assert patroni.cluster_reads == 1
    assert "no synchronous standby is streaming" in log


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        ("on", True),
        ("quorum", True),
        ("TRUE", True),
        (False, False),
        ("off", False),
        (None, False),
    ],
)
def test_synchronous_mode_is_read_as_patroni_reads_it(value: object, expected: bool) -> None:
    assert synchronous_mode({"synchronous_mode": value}) is expected
