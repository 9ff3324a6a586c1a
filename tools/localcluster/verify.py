"""Live proofs of the add-ons on the running cluster (`python -m tools.localcluster verify`).

Each proof works in its own throwaway namespace, deleted afterwards, and fails with what it
saw. Backends are our own images (Traefik answering its ping on the web port; the project's
base image with bash's /dev/tcp as the client), so nothing is pulled.

- ingress: an Ingress of class `traefik` answers through the host loopback address with its
  Host header; an unknown Host gets 404; an Ingress without a class is ignored.
- networkpolicy: a client reaches a server; after a default-deny plus allow-by-label policy,
  the labelled client still does and the unlabelled one does not.
- kube-state-metrics: its Service serves object-state series for the cluster's Deployments.
- metrics-server: `metrics.k8s.io` (through the aggregation layer) reports CPU and memory of
  the node and of the kube-system pods, what the HPA and `kubectl top` read.
- pod-security: the API server admits the add-on pods in a namespace enforcing `restricted`
  (Traefik's pod with its hostPort removed: the one control it cannot meet).
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from tools.containers.base import BASE_REFERENCE
from tools.kube.security import RESTRICTED_CONTAINER, restricted_pod
from tools.localcluster import ingress, kuberouter, metricsserver, statemetrics
from tools.localcluster.addons import manifest_list
from tools.localcluster.readiness import kubectl
from tools.localcluster.settings import Paths, detect_node_ip

SERVER_PORT = 8000
CLIENT_ATTEMPTS = 10  # one per ~3 s: a blocked client must stay blocked for all of them
PROBE_HOST = "verify.localcluster.test"
_POD_SECURITY = restricted_pod(65534)


class VerifyError(RuntimeError):
    """A proof did not hold."""


def _namespace(name: str) -> dict[str, Any]:
    labels = {"pod-security.kubernetes.io/enforce": "restricted"}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _server(namespace: str) -> list[dict[str, Any]]:
    """Traefik as a plain HTTP backend: `/ping` answers `OK` on port 8000."""
    labels = {"app": "server"}
    container = {
        "name": "server",
        "image": ingress.TRAEFIK_IMAGE,
        "imagePullPolicy": "Never",
        "args": [f"--entryPoints.web.address=:{SERVER_PORT}", "--ping.entryPoint=web"],
        "ports": [{"name": "http", "containerPort": SERVER_PORT}],
        "readinessProbe": {"httpGet": {"path": "/ping", "port": "http"}, "periodSeconds": 1},
        "securityContext": RESTRICTED_CONTAINER,
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "server", "namespace": namespace, "labels": labels},
        "spec": {"securityContext": _POD_SECURITY, "containers": [container]},
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "server", "namespace": namespace},
        "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": "http"}]},
    }
    return [pod, service]


def _ingress(namespace: str, name: str, host: str, class_name: str | None) -> dict[str, Any]:
    rule = {
        "host": host,
        "http": {
            "paths": [
                {
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": {"service": {"name": "server", "port": {"number": 80}}},
                }
            ]
        },
    }
    spec: dict[str, Any] = {"rules": [rule]}
    if class_name:
        spec["ingressClassName"] = class_name
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def _client(namespace: str, name: str, labels: dict[str, str], target: str) -> dict[str, Any]:
    """A pod that exits 0 as soon as an HTTP GET of /ping on `target` returns `OK`, trying for
    about half a minute (kube-router programs a new pod's rules a moment after it starts), and
    exits 1 when no attempt got through."""
    attempt = (
        f"exec 3<>/dev/tcp/{target}/{SERVER_PORT} && "
        "printf 'GET /ping HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q ^OK <&3"
    )
    script = (
        f"for i in $(seq {CLIENT_ATTEMPTS}); do "
        f'timeout 2 bash -c "{attempt}" && exit 0; sleep 1; done; exit 1'
    )
    container = {
        "name": "client",
        "image": BASE_REFERENCE,
        "imagePullPolicy": "Never",
        "command": ["bash", "-c", script],
        "securityContext": RESTRICTED_CONTAINER,
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": _POD_SECURITY,
            "containers": [container],
        },
    }


def _apply(paths: Paths, documents: list[dict[str, Any]]) -> None:
    kubectl(paths, "apply", "-f", "-", stdin=manifest_list(documents))


def _until(check: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise VerifyError(f"{what}: not within {timeout:.0f} s")


def _get(url: str, host: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=5)
    try:
        connection.request("GET", "/ping", headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace").strip()
    except OSError as error:
        return 0, str(error)
    finally:
        connection.close()


def _client_succeeds(paths: Paths, namespace: str, name: str, labels: dict[str, str]) -> bool:
    """Run one client pod to completion; True when it reached the server."""
    server_ip = kubectl(
        paths, "-n", namespace, "get", "pod", "server", "-o", "jsonpath={.status.podIP}"
    )
    kubectl(paths, "-n", namespace, "delete", "pod", name, "--ignore-not-found", "--wait=true")
    _apply(paths, [_client(namespace, name, labels, server_ip)])
    phase = ""

    def finished() -> bool:
        nonlocal phase
        phase = kubectl(
            paths, "-n", namespace, "get", "pod", name, "-o", "jsonpath={.status.phase}"
        )
        return phase in ("Succeeded", "Failed")

    _until(finished, f"client pod {name} to finish", 90)
    return phase == "Succeeded"


def _fresh_namespace(paths: Paths, name: str) -> None:
    kubectl(
        paths, "delete", "namespace", name, "--ignore-not-found", "--wait=true", "--timeout=120s"
    )
    _apply(paths, [_namespace(name)])


def _server_ready(paths: Paths, namespace: str) -> None:
    kubectl(paths, "-n", namespace, "wait", "--for=condition=Ready", "pod/server", "--timeout=90s")


def verify_ingress(paths: Paths) -> list[str]:
    """Prove the ingress path; returns what was observed."""
    url = paths.ingress_url.read_text(encoding="utf-8").strip()
    namespace = "localcluster-verify-ingress"
    _fresh_namespace(paths, namespace)
    try:
        _apply(
            paths,
            [
                *_server(namespace),
                _ingress(namespace, "classed", PROBE_HOST, ingress.INGRESS_CLASS),
                _ingress(namespace, "classless", f"classless.{PROBE_HOST}", None),
            ],
        )
        _server_ready(paths, namespace)
        observed: dict[str, tuple[int, str]] = {}
        lines: list[str] = []

        def routed() -> bool:
            observed[PROBE_HOST] = _get(url, PROBE_HOST)
            return observed[PROBE_HOST] == (200, "OK")

        _until(routed, f"GET {url}/ping with Host {PROBE_HOST} to answer 200 OK", 60)
        for host in (f"unknown.{PROBE_HOST}", f"classless.{PROBE_HOST}"):
            observed[host] = _get(url, host)
            if observed[host][0] != 404:
                raise VerifyError(f"Host {host} got {observed[host]}, expected 404")
        external = f"http://{detect_node_ip()}:{ingress.HOST_PORT}"
        status, answer = _get(external, PROBE_HOST)
        if status != 0:
            raise VerifyError(f"{external} answered HTTP {status}: the port is not loopback-only")
        lines.append(f"{external} (node address): no answer ({answer})")
        found = [f"{url} Host {h}: HTTP {s} {b[:20]!r}" for h, (s, b) in observed.items()]
        return found + lines
    finally:
        kubectl(paths, "delete", "namespace", namespace, "--wait=false", check=False)


def _policies(namespace: str) -> list[dict[str, Any]]:
    meta = {"namespace": namespace}
    deny = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", **meta},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    allow = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow-granted", **meta},
        "spec": {
            "podSelector": {"matchLabels": {"app": "server"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"access": "granted"}}}],
                    "ports": [{"port": SERVER_PORT, "protocol": "TCP"}],
                }
            ],
        },
    }
    return [deny, allow]


def verify_networkpolicy(paths: Paths) -> list[str]:
    """Prove enforcement; returns what was observed."""
    state = (
        paths.networkpolicy.read_text(encoding="utf-8").strip()
        if paths.networkpolicy.exists()
        else "missing"
    )
    if state != kuberouter.ENFORCED:
        raise VerifyError(f"{paths.networkpolicy}: {state}")
    namespace = "localcluster-verify-netpol"
    _fresh_namespace(paths, namespace)
    try:
        _apply(paths, _server(namespace)[:1])
        _server_ready(paths, namespace)
        granted, other = {"access": "granted"}, {"access": "none"}
        before = _client_succeeds(paths, namespace, "unlabelled-before", other)
        if not before:
            raise VerifyError("without any policy the client could not reach the server")
        _apply(paths, _policies(namespace))
        allowed = _client_succeeds(paths, namespace, "labelled", granted)
        denied = not _client_succeeds(paths, namespace, "unlabelled", other)
        if not (allowed and denied):
            raise VerifyError(
                "with default-deny + allow-by-label: "
                f"labelled reached={allowed}, unlabelled blocked={denied}"
            )
        return [
            "no policy: unlabelled client reached the server",
            "default-deny + allow access=granted: labelled client reached it",
            "default-deny + allow access=granted: unlabelled client was blocked",
        ]
    finally:
        kubectl(paths, "delete", "namespace", namespace, "--wait=false", check=False)


def verify_state_metrics(paths: Paths) -> list[str]:
    """kube-state-metrics serves a series for CoreDNS's Deployment through its Service."""
    service = json.loads(
        kubectl(
            paths, "-n", statemetrics.NAMESPACE, "get", "service", statemetrics.NAME, "-o", "json"
        )
    )
    url = f"http://{service['spec']['clusterIP']}:{statemetrics.METRICS_PORT}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    wanted = (
        'kube_deployment_status_replicas_available{namespace="kube-system",deployment="coredns"}'
    )
    lines = [line for line in text.splitlines() if line.startswith(wanted)]
    if not lines:
        raise VerifyError(f"{url}: no {wanted} series")
    return [f"{url}: {lines[0]}", f"{url}: {len(text.splitlines())} lines"]


def metrics_usage(listing: dict[str, Any]) -> dict[str, dict[str, str]]:
    """`name -> {cpu, memory}` from a metrics.k8s.io NodeMetricsList (each node's usage) or
    PodMetricsList (each pod's first container that has a usage); items without both left out."""
    found: dict[str, dict[str, str]] = {}
    for item in listing.get("items", []):
        usage = item.get("usage") or next(
            (c.get("usage") for c in item.get("containers", []) if c.get("usage")), None
        )
        if usage and "cpu" in usage and "memory" in usage:
            found[item["metadata"]["name"]] = {"cpu": usage["cpu"], "memory": usage["memory"]}
    return found


def verify_metrics_server(paths: Paths) -> list[str]:
    """The node and the kube-system pods have CPU and memory in metrics.k8s.io."""
    base = f"/apis/{metricsserver.GROUP}/{metricsserver.VERSION}"
    lines = []
    for what, path in (
        ("nodes", f"{base}/nodes"),
        ("kube-system pods", f"{base}/namespaces/{metricsserver.NAMESPACE}/pods"),
    ):
        usage = metrics_usage(json.loads(kubectl(paths, "get", "--raw", path)))
        if not usage:
            raise VerifyError(f"{path}: no {what} with CPU and memory usage")
        name, values = sorted(usage.items())[0]
        lines.append(f"{path}: {len(usage)} {what}, e.g. {name} cpu {values['cpu']}")
    return lines


def _pod_of(documents: list[dict[str, Any]], namespace: str) -> dict[str, Any]:
    """The Deployment's pod template as a Pod in `namespace`, without its hostPort."""
    (deployment,) = [d for d in documents if d["kind"] == "Deployment"]
    spec = json.loads(json.dumps(deployment["spec"]["template"]["spec"]))
    for container in spec["containers"]:
        for port in container.get("ports", []):
            port.pop("hostPort", None)
            port.pop("hostIP", None)
    name = deployment["metadata"]["name"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def verify_pod_security(paths: Paths) -> list[str]:
    """The API server's own Pod Security admission (server-side dry run, namespace enforcing
    `restricted`) accepts the add-on pods; Traefik's only exception is its loopback hostPort."""
    namespace = "localcluster-verify-podsecurity"
    _fresh_namespace(paths, namespace)
    try:
        lines = []
        for name, documents in (
            ("traefik", ingress.manifests()),
            ("kube-state-metrics", statemetrics.manifests()),
        ):
            account = {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": namespace},
            }
            _apply(paths, [account])
            pod = _pod_of(documents, namespace)
            kubectl(paths, "apply", "--dry-run=server", "-f", "-", stdin=json.dumps(pod))
            aside = " (without its loopback hostPort)" if name == "traefik" else ""
            lines.append(f"{name}: admitted under enforce=restricted{aside}")
        return lines
    finally:
        kubectl(paths, "delete", "namespace", namespace, "--wait=false", check=False)


PROOFS: dict[str, Callable[[Paths], list[str]]] = {
    "ingress": verify_ingress,
    "networkpolicy": verify_networkpolicy,
    "kube-state-metrics": verify_state_metrics,
    "metrics-server": verify_metrics_server,
    "pod-security": verify_pod_security,
}
