"""What "ready" means for each part of the local cluster; `up` waits for it, `status` reports it.

A process that answers is not a component that serves: containerd answers `ctr version` before
its CRI plugin has initialised, and a kubelet started in that window exits ("server is not
initialized yet"). So every component has a signal of its own, probed the way its first client
uses it, and the next component starts only once the previous one's signal holds.
"""

from __future__ import annotations

import datetime
import json
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.kube.kubectl import Kubectl
from tools.localcluster import flux, gitserver, registry
from tools.localcluster.build import artifact_dir
from tools.localcluster.catalog import KUBERNETES
from tools.localcluster.processes import running_pid
from tools.localcluster.settings import (
    API_PORT,
    ETCD_CLIENT_PORT,
    NODE_NAME,
    REGISTRY_SERVER,
    Paths,
)
from tools.toolchain.paths import Layout

CONTROLLER_MANAGER_PORT = 10257  # upstream's secure ports; bound to loopback (components.py)
SCHEDULER_PORT = 10259
KUBELET_HEALTHZ = "http://127.0.0.1:10248/healthz"  # kubelet_config healthzBindAddress
KUBE_PROXY_HEALTHZ = "http://127.0.0.1:10256/healthz"  # kube_proxy_config healthzBindAddress
LOG_LINES = 15


@dataclass(frozen=True)
class Signal:
    """A component's readiness: what is waited for (said on timeout and by `status`)."""

    component: str
    waits_for: str
    probe: Callable[[], bool]
    timeout: float


def log_tail(log: Path, lines: int = LOG_LINES) -> str:
    """The last lines of a log, indented, for an error message."""
    tail = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else []
    return "\n".join(f"  | {line}" for line in tail) or "  | (empty)"


class NotReady(RuntimeError):
    """A component did not become ready: which, what it waited for, and its log's tail."""

    def __init__(self, component: str, reason: str, log: Path) -> None:
        super().__init__(f"{component}: {reason}; last lines of {log}:\n{log_tail(log)}")


def wait(signal: Signal, paths: Paths, log: Path | None = None) -> float:
    """Poll until `signal` holds; fail at once when the process died, or after its timeout.
    Returns the seconds waited."""
    log = log or paths.logs / f"{signal.component}.log"
    started = time.monotonic()
    deadline = started + signal.timeout
    tracked = (paths.pids / f"{signal.component}.pid").exists()
    while True:
        if tracked and running_pid(paths.pids, signal.component) is None:
            raise NotReady(signal.component, f"exited while waiting for {signal.waits_for}", log)
        if signal.probe():
            return time.monotonic() - started
        if time.monotonic() >= deadline:
            reason = f"not ready after {signal.timeout:.0f} s waiting for {signal.waits_for}"
            raise NotReady(signal.component, reason, log)
        time.sleep(0.25)


def _get(url: str, context: ssl.SSLContext | None = None) -> tuple[int, str] | None:
    try:
        with urllib.request.urlopen(url, context=context, timeout=3) as response:  # noqa: S310
            return int(response.status), response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, ""
    except (urllib.error.URLError, OSError):
        return None


def _client_tls(paths: Paths, cert: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(paths.pki / "ca.crt"))
    context.load_cert_chain(str(paths.pki / f"{cert}.crt"), str(paths.pki / f"{cert}.key"))
    return context


def _self_signed_tls() -> ssl.SSLContext:
    """controller-manager and scheduler serve /healthz with a certificate they generate
    themselves on loopback; it cannot be verified, and /healthz needs no credentials."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def etcd_healthy(paths: Paths) -> bool:
    try:
        context = _client_tls(paths, "apiserver-etcd-client")
    except OSError:  # no PKI yet: nothing can be healthy
        return False
    answer = _get(f"https://127.0.0.1:{ETCD_CLIENT_PORT}/health", context)
    if answer is None or answer[0] != 200:
        return False
    try:
        return bool(json.loads(answer[1]).get("health") == "true")
    except ValueError:
        return False


def ok_at(url: str, context: ssl.SSLContext | None = None) -> bool:
    answer = _get(url, context)
    return answer is not None and answer[0] == 200


def api_ready(paths: Paths) -> bool:
    try:
        context = _client_tls(paths, "admin")
    except OSError:
        return False
    return ok_at(f"https://127.0.0.1:{API_PORT}/readyz", context)


def cri_probe() -> Path:
    """Our CRI client (go/kubernetes/cri-ready), built with the Kubernetes binaries."""
    return artifact_dir(KUBERNETES, Layout.default()) / "cri-ready"


def cri_ready(paths: Paths) -> bool:
    """The CRI service answers Version, Status (RuntimeReady) and ImageFsInfo."""
    try:
        result = subprocess.run(
            [str(cri_probe()), f"unix://{paths.containerd_socket}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def cri_signal(paths: Paths) -> Signal:
    return Signal(
        "containerd",
        "its CRI service to answer Version, Status (RuntimeReady) and ImageFsInfo",
        lambda: cri_ready(paths),
        60,
    )


def kubectl(paths: Paths, *args: str, check: bool = True, stdin: str | None = None) -> str:
    """kubectl with the cluster's admin kubeconfig."""
    binary = str(artifact_dir(KUBERNETES, Layout.default()) / "kubectl")
    return Kubectl(binary, paths.admin_kubeconfig).run(*args, check=check, stdin=stdin).stdout


def node_ready(paths: Paths, since: datetime.datetime | None = None) -> bool:
    """True when the node is Ready (and, with `since`, has reported so after that moment:
    etcd keeps the last status, so only a fresh heartbeat proves a restarted kubelet)."""
    output = kubectl(paths, "get", "node", NODE_NAME, "-o", "json", check=False)
    try:
        conditions = json.loads(output)["status"]["conditions"]
    except (ValueError, KeyError, TypeError):
        return False
    for condition in conditions:
        if condition["type"] != "Ready" or condition["status"] != "True":
            continue
        heartbeat = datetime.datetime.fromisoformat(condition["lastHeartbeatTime"])
        return since is None or heartbeat >= since
    return False


def process_signals(paths: Paths, kubelet_since: datetime.datetime | None = None) -> list[Signal]:
    """The host processes' signals, in start order."""
    return [
        Signal("etcd", "GET /health to say {health: true}", lambda: etcd_healthy(paths), 60),
        Signal("kube-apiserver", "GET /readyz to answer 200", lambda: api_ready(paths), 180),
        Signal(
            "kube-controller-manager",
            f"GET :{CONTROLLER_MANAGER_PORT}/healthz to answer 200",
            lambda: ok_at(
                f"https://127.0.0.1:{CONTROLLER_MANAGER_PORT}/healthz", _self_signed_tls()
            ),
            60,
        ),
        Signal(
            "kube-scheduler",
            f"GET :{SCHEDULER_PORT}/healthz to answer 200",
            lambda: ok_at(f"https://127.0.0.1:{SCHEDULER_PORT}/healthz", _self_signed_tls()),
            60,
        ),
        cri_signal(paths),
        Signal(
            "registry",
            f"GET https://{REGISTRY_SERVER}/v2/ with its account to answer 200",
            lambda: registry.answers(paths),
            60,
        ),
        Signal(
            "kubelet",
            f"GET {KUBELET_HEALTHZ} to answer 200 and node {NODE_NAME} to report Ready",
            lambda: ok_at(KUBELET_HEALTHZ) and node_ready(paths, kubelet_since),
            180,
        ),
        Signal(
            "kube-proxy",
            f"GET {KUBE_PROXY_HEALTHZ} to answer 200 (rules synced)",
            lambda: ok_at(KUBE_PROXY_HEALTHZ),
            60,
        ),
        Signal(
            "git-server",
            f"GET {gitserver.url()}/info/refs with Flux's account to answer 200",
            lambda: gitserver.answers(paths),
            60,
        ),
        *(flux_signal(name) for name in flux.CONTROLLERS),
    ]


def flux_signal(name: str) -> Signal:
    """A Flux controller is ready when its probe endpoint says so (its caches synced)."""
    url = flux.health_url(name)
    return Signal(name, f"GET {url} to answer 200", lambda: ok_at(url), 120)


def _started_at(container: dict[str, Any]) -> datetime.datetime | None:
    started = container.get("state", {}).get("running", {}).get("startedAt")
    return datetime.datetime.fromisoformat(started) if isinstance(started, str) else None


def _rollout_problem(deployment: dict[str, Any]) -> str | None:
    status, wanted = deployment.get("status", {}), deployment["spec"].get("replicas", 1)
    if status.get("observedGeneration", 0) < deployment["metadata"].get("generation", 0):
        return "its latest spec is not observed yet"
    lagging = [
        f"{key} {status.get(key, 0)} of {wanted}"
        for key in ("updatedReplicas", "availableReplicas", "readyReplicas")
        if status.get(key, 0) < wanted
    ]
    if status.get("replicas", 0) > wanted:
        lagging.append(f"{status['replicas'] - wanted} old replica(s) still running")
    available = [c for c in status.get("conditions", []) if c["type"] == "Available"]
    if not available or available[0]["status"] != "True":
        lagging.append("condition Available is not True")
    return ", ".join(lagging) or None


def _fresh_ready_pods(pods: list[dict[str, Any]], since: datetime.datetime | None) -> int:
    fresh = 0
    for pod in pods:
        status = pod.get("status", {})
        ready = any(
            c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", [])
        )
        started = [_started_at(c) for c in status.get("containerStatuses", [])]
        restarted = since is None or (bool(started) and all(t and t >= since for t in started))
        fresh += ready and restarted
    return fresh


def deployment_problem(
    paths: Paths, namespace: str, name: str, since: datetime.datetime | None = None
) -> str | None:
    """Why a Deployment is not Available with every replica updated and Ready, or None.

    After a restart etcd still holds the old pods' Ready status; with `since` (when this
    kubelet started) a pod counts only once its containers run again, started after it."""
    output = kubectl(paths, "-n", namespace, "get", "deployment", name, "-o", "json", check=False)
    try:
        deployment = json.loads(output)
    except ValueError:
        return "not found"
    problem = _rollout_problem(deployment)
    if problem is not None:
        return problem
    labels = deployment["spec"]["selector"]["matchLabels"]
    selector = ",".join(f"{key}={value}" for key, value in labels.items())
    listing = kubectl(
        paths, "-n", namespace, "get", "pods", "-l", selector, "-o", "json", check=False
    )
    try:
        pods = json.loads(listing)["items"]
    except (ValueError, KeyError):
        return "its pods cannot be listed"
    wanted, fresh = deployment["spec"].get("replicas", 1), _fresh_ready_pods(pods, since)
    if fresh < wanted:
        return f"{fresh} of {wanted} pod(s) Ready" + (" since this start" if since else "")
    return None


def wait_workload(
    paths: Paths, namespace: str, name: str, since: datetime.datetime | None, timeout: float = 180
) -> float:
    """Wait for an add-on's Deployment; on timeout, say why and show its pods' last log lines."""
    waits_for = f"Deployment {name} to be Available with every replica updated and Ready"
    signal = Signal(
        f"{namespace}/{name}",
        waits_for,
        lambda: deployment_problem(paths, namespace, name, since) is None,
        timeout,
    )
    try:
        return wait(signal, paths, log=paths.logs / "kubelet.log")
    except NotReady:
        problem = deployment_problem(paths, namespace, name, since)
        logs = kubectl(
            paths, "-n", namespace, "logs", f"deployment/{name}", f"--tail={LOG_LINES}", check=False
        )
        raise RuntimeError(
            f"{namespace}/{name}: not ready after {timeout:.0f} s waiting for {waits_for}"
            f" ({problem}); last lines of its log:\n"
            + ("\n".join(f"  | {line}" for line in logs.splitlines()) or "  | (empty)")
        ) from None


def api_service_problem(document: dict[str, Any]) -> str | None:
    """Why an APIService is not Available (its condition's reason and message), or None.

    The aggregator sets Available=True only once it reached the backing Service and got its
    discovery document, so this is the signal that `kubectl top` and the HPA controller work."""
    conditions = document.get("status", {}).get("conditions", [])
    available = next((c for c in conditions if c.get("type") == "Available"), None)
    if available is None:
        return "no Available condition yet"
    if available.get("status") == "True":
        return None
    detail = ": ".join(p for p in (available.get("reason"), available.get("message")) if p)
    return f"Available={available.get('status')}" + (f" ({detail})" if detail else "")


def api_service_status(paths: Paths, name: str) -> str | None:
    """Why the APIService `name` is not Available on the live cluster, or None."""
    output = kubectl(paths, "get", "apiservice", name, "-o", "json", check=False)
    try:
        return api_service_problem(json.loads(output))
    except ValueError:
        return "not found"


def wait_api_service(paths: Paths, name: str, timeout: float = 180) -> float:
    """Wait until the APIService `name` is Available; on timeout say its last condition."""
    waits_for = f"APIService {name} to be Available"

    def problem() -> str | None:
        return api_service_status(paths, name)

    signal = Signal(f"apiservice/{name}", waits_for, lambda: problem() is None, timeout)
    try:
        return wait(signal, paths, log=paths.logs / "kube-apiserver.log")
    except NotReady as error:
        raise RuntimeError(f"{error}\n  last condition: {problem()}") from None
