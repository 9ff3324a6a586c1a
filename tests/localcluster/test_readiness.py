"""Readiness signals: a component counts as ready only on its own signal, never on its PID."""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools.localcluster import readiness
from tools.localcluster.catalog import KUBERNETES
from tools.localcluster.cluster import SERVICE_ORDER, _start_and_wait
from tools.localcluster.processes import Service, running_pid, runs_as, start, stop
from tools.localcluster.readiness import NotReady, Signal
from tools.localcluster.settings import Paths

BOOT = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "state")


def _deployment(**status: Any) -> dict[str, Any]:
    base = {
        "observedGeneration": 2,
        "replicas": 1,
        "updatedReplicas": 1,
        "availableReplicas": 1,
        "readyReplicas": 1,
        "conditions": [{"type": "Available", "status": "True"}],
    }
    return {
        "metadata": {"generation": 2},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "x"}}},
        "status": base | status,
    }


def _pod(ready: bool, started: datetime.datetime | None) -> dict[str, Any]:
    state = {"running": {"startedAt": started.isoformat()}} if started else {"waiting": {}}
    return {
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"state": state}],
        }
    }


def test_a_fully_rolled_out_deployment_has_no_problem() -> None:
    assert readiness._rollout_problem(_deployment()) is None


@pytest.mark.parametrize(
    ("status", "said"),
    [
        ({"observedGeneration": 1}, "not observed"),
        ({"updatedReplicas": 0}, "updatedReplicas 0 of 1"),
        ({"availableReplicas": 0}, "availableReplicas 0 of 1"),
        ({"replicas": 2}, "1 old replica(s) still running"),
        ({"conditions": [{"type": "Available", "status": "False"}]}, "Available is not True"),
        ({"conditions": []}, "Available is not True"),
    ],
)
def test_each_unfinished_rollout_is_named(status: dict[str, Any], said: str) -> None:
    problem = readiness._rollout_problem(_deployment(**status))
    assert problem is not None
    assert said in problem


def test_after_a_restart_only_pods_started_since_count() -> None:
    stale = _pod(ready=True, started=BOOT - datetime.timedelta(minutes=5))  # etcd's old status
    fresh = _pod(ready=True, started=BOOT + datetime.timedelta(seconds=3))
    waiting = _pod(ready=False, started=None)
    assert readiness._fresh_ready_pods([stale], BOOT) == 0
    assert readiness._fresh_ready_pods([stale], None) == 1  # `status`: no restart to wait for
    assert readiness._fresh_ready_pods([fresh, stale, waiting], BOOT) == 1


def test_wait_returns_once_the_signal_holds(paths: Paths) -> None:
    answers = iter([False, False, True])
    waited = readiness.wait(Signal("thing", "its answer", lambda: next(answers), 10), paths)
    assert 0 < waited < 5


def test_a_timeout_names_the_component_what_it_waited_for_and_its_log(paths: Paths) -> None:
    paths.logs.mkdir(parents=True)
    (paths.logs / "thing.log").write_text("".join(f"line {i}\n" for i in range(40)))
    with pytest.raises(NotReady) as raised:
        readiness.wait(Signal("thing", "GET /ready to answer 200", lambda: False, 0.5), paths)
    message = str(raised.value)
    assert message.startswith("thing: not ready after 0 s waiting for GET /ready to answer 200")
    assert "  | line 39" in message
    assert "  | line 24" not in message  # only the last lines


def test_a_component_that_dies_fails_the_wait_at_once(paths: Paths) -> None:
    service = Service("dies", (sys.executable, "-c", "print('bad flag'); raise SystemExit(3)"))
    start(service, paths.pids, paths.logs)
    with pytest.raises(NotReady, match=r"dies: exited while waiting for its port") as raised:
        readiness.wait(Signal("dies", "its port", lambda: False, 60), paths)
    assert "  | bad flag" in str(raised.value)


def test_a_running_component_without_its_signal_is_not_ready(paths: Paths) -> None:
    service = Service("idle", (sys.executable, "-c", "import time; time.sleep(60)"))
    start(service, paths.pids, paths.logs)
    try:
        with pytest.raises(NotReady, match="idle: not ready after"):
            readiness.wait(Signal("idle", "an answer", lambda: False, 1), paths)
    finally:
        stop("idle", paths.pids)


def test_cri_probe_is_built_with_kubernetes() -> None:
    assert ("cri-ready", "./cri-ready") in KUBERNETES.packages
    assert (KUBERNETES.directory / "cri-ready" / "main.go").is_file()


def test_cri_probe_refuses_a_socket_where_nothing_serves(paths: Paths, tmp_path: Path) -> None:
    probe = readiness.cri_probe()
    if not probe.exists():
        pytest.fail(f"{probe} is not built: run `python -m tools.localcluster build`")
    assert not readiness.cri_ready(paths)  # no containerd at this state's socket
    result = subprocess.run([str(probe)], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "usage: cri-ready" in result.stderr


def test_every_host_process_has_a_signal_in_start_order(paths: Paths) -> None:
    signals = readiness.process_signals(paths)
    assert [s.component for s in signals] == list(SERVICE_ORDER)


def test_signals_of_a_state_without_certificates_fail_instead_of_raising(paths: Paths) -> None:
    assert not readiness.etcd_healthy(paths)
    assert not readiness.api_ready(paths)


def test_an_api_service_is_ready_only_when_available_is_true() -> None:
    def service(*conditions: dict[str, str]) -> dict[str, Any]:
        return {"status": {"conditions": list(conditions)}}

    assert readiness.api_service_problem(service({"type": "Available", "status": "True"})) is None
    assert readiness.api_service_problem({}) == "no Available condition yet"
    missing = {
        "type": "Available",
        "status": "False",
        "reason": "MissingEndpoints",
        "message": "endpoints for service/metrics-server in kube-system have no addresses",
    }
    problem = readiness.api_service_problem(service(missing))
    assert problem is not None
    assert problem.startswith("Available=False (MissingEndpoints: endpoints")
    assert readiness.api_service_problem(service({"type": "Available", "status": "Unknown"})) == (
        "Available=Unknown"
    )


def test_a_running_component_with_other_flags_is_restarted_with_the_new_ones(
    paths: Paths,
) -> None:
    """New flags (the aggregation layer's) must reach a running cluster: `up` restarts a
    process whose command line differs, and keeps one that runs as wanted."""
    program = "import time; time.sleep(60)"
    old = Service("apiserver-like", (sys.executable, "-c", program, "--old"))
    new = Service("apiserver-like", (sys.executable, "-c", program, "--new"))
    ready = Signal("apiserver-like", "nothing", lambda: True, 5)
    first = start(old, paths.pids, paths.logs)
    try:
        assert runs_as(paths.pids, old)
        assert not runs_as(paths.pids, new)
        _start_and_wait(old, paths, ready)
        assert running_pid(paths.pids, "apiserver-like") == first  # unchanged: kept
        _start_and_wait(new, paths, ready)
        second = running_pid(paths.pids, "apiserver-like")
        assert second not in (None, first)
        assert runs_as(paths.pids, new)
    finally:
        stop("apiserver-like", paths.pids)
    assert not runs_as(paths.pids, new)  # stopped
