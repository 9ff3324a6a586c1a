"""NetworkPolicy enforcement: kube-router's firewall controller, run on the host like kube-proxy.

Only the firewall runs (no BGP routing, no service proxy: the bridge routes, kube-proxy
proxies). It programs the filter table (KUBE-ROUTER-*, KUBE-POD-FW-*, KUBE-NWPLCY-* chains
matching ipsets), so it needs the host's network namespace and root, as kube-proxy does.
Its identity `system:kube-router` may only read what its informers watch; its health and
metrics ports stay closed (the health server would listen on every address).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.localcluster.processes import Service
from tools.localcluster.settings import NODE_NAME, SERVICE_CIDR, Paths

USER = "system:kube-router"
HOOK_CHAIN = "KUBE-ROUTER-FORWARD"  # exists once the controller has synced its rules
ENFORCED = "enforced"
LABELS = {"app.kubernetes.io/name": "kube-router", "app.kubernetes.io/component": "firewall"}

# kube-router starts informers for all seven kinds before it runs any controller
# (pkg/cmd/kube-router.go) and waits for their caches: each must be listable and watchable.
RULES: list[dict[str, Any]] = [
    {
        "apiGroups": [""],
        "resources": ["pods", "namespaces", "nodes", "services", "endpoints"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": ["discovery.k8s.io"],
        "resources": ["endpointslices"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["networkpolicies"],
        "verbs": ["get", "list", "watch"],
    },
]


def service(bin_dir: Path, paths: Paths) -> Service:
    """The firewall-only kube-router process."""
    return Service(
        "kube-router",
        (
            str(bin_dir / "kube-router"),
            f"--kubeconfig={paths.kubeconfig('kube-router')}",
            f"--hostname-override={NODE_NAME}",
            "--run-firewall=true",
            "--run-router=false",
            "--run-service-proxy=false",
            "--enable-cni=false",
            "--enable-ipv4=true",
            "--enable-ipv6=false",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--health-port=0",
            "--metrics-port=0",
        ),
    )


def rbac_manifests() -> list[dict[str, Any]]:
    """A read-only ClusterRole bound to kube-router's client-certificate user."""
    name = "system:kube-router-firewall"
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name, "labels": LABELS},
            "rules": RULES,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": LABELS},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": name,
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USER}],
        },
    ]


def is_hooked(filter_table: list[str]) -> bool:
    """True when `iptables-save -t filter` shows FORWARD jumping into kube-router's chain."""
    return any(
        line.startswith("-A FORWARD ") and line.rstrip().endswith(f"-j {HOOK_CHAIN}")
        for line in filter_table
    )


def not_enforced(reason: str) -> str:
    """The state-file line for a cluster running without enforcement (one line, no newlines)."""
    return "not-enforced: " + " ".join(reason.split())
