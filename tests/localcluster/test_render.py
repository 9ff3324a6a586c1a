"""Rendered component configs honour the host's traps (cgroupfs, no negative OOM scores)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from tools.localcluster import components, pki, render
from tools.localcluster.settings import (
    BRIDGE,
    CNI_NETWORK,
    PAUSE_IMAGE,
    POD_CIDR,
    REGISTRY_SERVER,
    Paths,
)

PATHS = Paths(Path("/state"))


def test_containerd_restricts_oom_scores_and_uses_cgroupfs() -> None:
    config = tomllib.loads(render.containerd_config(PATHS, "user", "secret"))
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["restrict_oom_score_adj"] is True
    assert cri["sandbox_image"] == PAUSE_IMAGE
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc["options"]["SystemdCgroup"] is False
    assert cri["cni"]["conf_dir"] == "/state/cni/net.d"
    assert config["grpc"]["address"] == "/state/containerd/containerd.sock"


def test_containerd_pulls_from_the_registry_with_its_ca_and_account() -> None:
    config = tomllib.loads(render.containerd_config(PATHS, "puller", 'p"w\\d'))
    registry = config["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["configs"]
    assert set(registry) == {REGISTRY_SERVER}
    assert registry[REGISTRY_SERVER]["tls"] == {"ca_file": str(PATHS.registry_cert_dir / "ca.crt")}
    assert registry[REGISTRY_SERVER]["auth"] == {"username": "puller", "password": 'p"w\\d'}
    mirrors = config["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["mirrors"]
    assert mirrors == {REGISTRY_SERVER: {"endpoint": [f"https://{REGISTRY_SERVER}"]}}, "not http"


def test_kubelet_uses_cgroupfs_webhook_auth_and_no_oom_adjustment() -> None:
    config = json.loads(render.kubelet_config(PATHS))
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["oomScoreAdj"] == 0
    assert config["authentication"]["anonymous"]["enabled"] is False
    assert config["authorization"]["mode"] == "Webhook"
    assert config["readOnlyPort"] == 0
    assert config["containerRuntimeEndpoint"] == "unix:///state/containerd/containerd.sock"


def test_kube_proxy_leaves_host_sysctls_and_oom_score_alone() -> None:
    config = json.loads(render.kube_proxy_config(PATHS))
    assert config["oomScoreAdj"] == 0
    assert config["conntrack"]["maxPerCore"] == 0
    assert config["clusterCIDR"] == POD_CIDR


def test_cni_network_is_named_so_its_iptables_rules_can_be_found() -> None:
    config = json.loads(render.cni_conflist(PATHS))
    assert config["name"] == CNI_NETWORK
    bridge = config["plugins"][0]
    assert bridge["bridge"] == BRIDGE
    assert bridge["ipam"]["dataDir"] == "/state/cni/ipam"


def test_kubeconfig_names_the_client_certificate() -> None:
    config = json.loads(
        render.kubeconfig(
            "https://127.0.0.1:6443", Path("/p/ca.crt"), "admin", Path("/p/a.crt"), Path("/p/a.key")
        )
    )
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert config["users"][0]["user"]["client-certificate"] == "/p/a.crt"
    assert config["current-context"] == "inventory-local"


def test_api_server_is_secure_by_default() -> None:
    argv = components.kube_apiserver(Path("/bin"), PATHS, "192.0.2.7").argv
    assert "--authorization-mode=Node,RBAC" in argv
    assert "--allow-privileged=false" in argv
    assert not any(arg.startswith("--insecure") for arg in argv)
    etcd = components.etcd(Path("/bin"), PATHS).argv
    assert "--client-cert-auth=true" in etcd
    assert "--listen-client-urls=https://127.0.0.1:2379" in etcd


def test_api_server_aggregation_layer_trusts_only_the_front_proxy_client() -> None:
    """The requestheader CA is the front-proxy CA (not the cluster CA), the allowed name is the
    proxy client certificate's CN, and that certificate is what the API server presents."""
    argv = components.kube_apiserver(Path("/bin"), PATHS, "192.0.2.7").argv
    flags = dict(arg.removeprefix("--").split("=", 1) for arg in argv[1:])
    assert flags["requestheader-client-ca-file"] == str(
        PATHS.pki / f"{pki.FRONT_PROXY_CA_NAME}.crt"
    )
    assert flags["requestheader-client-ca-file"] != flags["client-ca-file"]
    (client,) = pki.front_proxy_specs()
    assert flags["requestheader-allowed-names"] == client.common_name
    assert flags["proxy-client-cert-file"] == str(PATHS.pki / f"{client.name}.crt")
    assert flags["proxy-client-key-file"] == str(PATHS.pki / f"{client.name}.key")
    assert flags["requestheader-username-headers"] == "X-Remote-User"
    assert flags["requestheader-group-headers"] == "X-Remote-Group"
    assert flags["requestheader-extra-headers-prefix"] == "X-Remote-Extra-"
