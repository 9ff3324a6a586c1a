"""The local cluster's fixed shape (addresses, names) and where its state lives.

Everything the harness creates is under one state directory (`.state/localcluster/` in the
clone, git-ignored; override with INVENTORY_CLUSTER_STATE), except what the kernel keeps
elsewhere (processes, mounts, iptables chains, the bridge, network namespaces), which `down`
removes by the names and PIDs recorded here.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tools.toolchain.paths import REPO_ROOT

STATE_ENV = "INVENTORY_CLUSTER_STATE"

NODE_NAME = "inventory-local"
POD_CIDR = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/16"
API_SERVICE_IP = "10.96.0.1"  # first address of SERVICE_CIDR: the `kubernetes` Service
DNS_SERVICE_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
API_PORT = 6443
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
CNI_NETWORK = "inventory-localcluster"  # CNI network name: tags the iptables rules it makes
BRIDGE = "lc0"  # distinct from podman's cni-podman0 / docker0
PAUSE_IMAGE = "localhost/inventory-platform/pause:1.0.0"
# The image registry (registry.py) on the host's loopback: containerd pulls from it and the
# pipeline pushes to it, both on the host, so no pod and no other host can reach it.
REGISTRY_HOST = "localhost"
REGISTRY_PORT = 5000
REGISTRY_SERVER = f"{REGISTRY_HOST}:{REGISTRY_PORT}"  # what image references start with
# The git server Flux follows (gitserver.py), on the host's loopback like the registry: Flux's
# source-controller and the pipeline run on the host too.
GIT_HOST = "localhost"
GIT_PORT = 5443
GIT_SERVER = f"{GIT_HOST}:{GIT_PORT}"
# The bridge, the chains and the ports are host-wide, so one cluster per host: this file
# names the state directory of the cluster that owns them (cleared by a reboot, as they are).
HOST_OWNER = Path("/run/inventory-platform/localcluster.owner")


def default_state_dir() -> Path:
    override = os.environ.get(STATE_ENV)
    return Path(override).resolve() if override else REPO_ROOT / ".state" / "localcluster"


def detect_node_ip() -> str:
    """The address of the interface holding the default route (pods reach the API server on it)."""
    result = subprocess.run(
        ["ip", "-j", "-4", "route", "get", "192.0.2.255"],
        check=True,
        capture_output=True,
        text=True,
    )
    routes = json.loads(result.stdout)
    if not routes or "prefsrc" not in routes[0]:
        raise RuntimeError(f"cannot find the host's IPv4 address from: {result.stdout}")
    return str(routes[0]["prefsrc"])


@dataclass(frozen=True)
class Paths:
    """The layout of the state directory."""

    root: Path

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd"

    @property
    def containerd_root(self) -> Path:
        return self.root / "containerd" / "root"

    @property
    def containerd_state(self) -> Path:
        return self.root / "containerd" / "state"

    @property
    def containerd_socket(self) -> Path:
        return self.root / "containerd" / "containerd.sock"

    @property
    def kubelet_root(self) -> Path:
        return self.root / "kubelet"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def cni_ipam_dir(self) -> Path:
        return self.root / "cni" / "ipam"

    @property
    def volumes(self) -> Path:
        """Where the local-path provisioner creates PersistentVolume directories."""
        return self.root / "volumes"

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def registry_data(self) -> Path:
        """The registry's blobs and manifests (filesystem storage driver)."""
        return self.root / "registry" / "data"

    @property
    def registry_password(self) -> Path:
        """The registry account's password (0600), generated once."""
        return self.root / "registry" / "password"

    @property
    def registry_htpasswd(self) -> Path:
        return self.root / "registry" / "htpasswd"

    @property
    def registry_auth_file(self) -> Path:
        """podman's auth file for the registry (REGISTRY_AUTH_FILE of the publish stage)."""
        return self.root / "registry" / "auth.json"

    @property
    def registry_cert_dir(self) -> Path:
        """The CA that verifies the registry, as podman's --cert-dir wants it (ca.crt)."""
        return self.root / "registry" / "certs"

    @property
    def git_root(self) -> Path:
        """Everything the git server keeps: its repositories and its accounts."""
        return self.root / "git"

    @property
    def git_repositories(self) -> Path:
        """The bare repositories the git server serves (its GIT_PROJECT_ROOT)."""
        return self.git_root / "repositories"

    def git_password(self, user: str) -> Path:
        """A git server account's password (0600), generated once."""
        return self.git_root / "accounts" / user

    @property
    def ingress_url(self) -> Path:
        """One line, e.g. `http://127.0.0.1:8088`: where the host reaches the ingress
        controller (read by pipelines/targets/cluster.py)."""
        return self.root / "ingress-url"

    @property
    def networkpolicy(self) -> Path:
        """`enforced` or `not-enforced: <reason>` (read by the pipeline and smoke suite)."""
        return self.root / "networkpolicy"

    @property
    def admin_kubeconfig(self) -> Path:
        """The kubeconfig for people and the pipeline (cluster-admin)."""
        return self.root / "admin.kubeconfig"

    def kubeconfig(self, user: str) -> Path:
        return self.config / f"{user}.kubeconfig"
