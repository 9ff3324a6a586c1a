"""The local cluster harness as the pipeline sees it: the one module of tools/localcluster the
orchestrator imports (tests/pipeline/test_layout.py keeps it so), so the harness can change
behind it. Where the cluster keeps its state, which kubectl matches its API server, its DNS
domain, its image registry's address, the throwaway CA that issues the local target's
certificates, what a local Prometheus and its NetworkPolicy need (node address, DNS and
kube-state-metrics pods), and the name of the cert-manager controller image it builds for both
targets, and where Flux and the git server it follows serve."""

from __future__ import annotations

from pathlib import Path

from tools.localcluster.addons import DNS_PORT, DNS_SELECTOR
from tools.localcluster.build import binary
from tools.localcluster.catalog import KUBERNETES
from tools.localcluster.certmanager import REFERENCE as CERT_MANAGER_REFERENCE
from tools.localcluster.flux import NAMESPACE as FLUX_NAMESPACE
from tools.localcluster.gitserver import PUSHER as GIT_PUSHER
from tools.localcluster.gitserver import READER as GIT_READER
from tools.localcluster.gitserver import url as git_url
from tools.localcluster.pki import CertSpec, ensure_ca, issue
from tools.localcluster.settings import (
    CLUSTER_DOMAIN,
    REGISTRY_SERVER,
    Paths,
    default_state_dir,
    detect_node_ip,
)
from tools.localcluster.statemetrics import METRICS_PORT as STATE_METRICS_CONTAINER_PORT
from tools.localcluster.statemetrics import METRICS_PORT_NAME as STATE_METRICS_PORT
from tools.localcluster.statemetrics import NAME as STATE_METRICS_NAME
from tools.localcluster.statemetrics import NAMESPACE as STATE_METRICS_NAMESPACE
from tools.localcluster.statemetrics import SELECTOR as STATE_METRICS_SELECTOR


def state_paths() -> Paths:
    """The harness's state layout (`.state/localcluster/` unless INVENTORY_CLUSTER_STATE says)."""
    return Paths(default_state_dir())


def kubectl_path() -> Path:
    """The harness's own kubectl (same version as its API server); it may not be built yet."""
    return binary(KUBERNETES, "kubectl")


__all__ = [
    "CERT_MANAGER_REFERENCE",
    "CLUSTER_DOMAIN",
    "DNS_PORT",
    "DNS_SELECTOR",
    "FLUX_NAMESPACE",
    "GIT_PUSHER",
    "GIT_READER",
    "REGISTRY_SERVER",
    "STATE_METRICS_CONTAINER_PORT",
    "STATE_METRICS_NAME",
    "STATE_METRICS_NAMESPACE",
    "STATE_METRICS_PORT",
    "STATE_METRICS_SELECTOR",
    "CertSpec",
    "Paths",
    "detect_node_ip",
    "ensure_ca",
    "git_url",
    "issue",
    "kubectl_path",
    "state_paths",
]
