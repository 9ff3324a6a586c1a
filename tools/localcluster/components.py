"""The command lines of the cluster's processes, in start order (pure: no I/O)."""

from __future__ import annotations

from pathlib import Path

from tools.localcluster.pki import FRONT_PROXY_CA_NAME, FRONT_PROXY_CLIENT
from tools.localcluster.processes import Service
from tools.localcluster.settings import (
    API_PORT,
    ETCD_CLIENT_PORT,
    ETCD_PEER_PORT,
    NODE_NAME,
    SERVICE_CIDR,
    Paths,
)


def etcd(bin_dir: Path, paths: Paths) -> Service:
    """Single-member etcd on loopback, TLS with client-certificate authentication."""
    pki = paths.pki
    client = f"https://127.0.0.1:{ETCD_CLIENT_PORT}"
    peer = f"https://127.0.0.1:{ETCD_PEER_PORT}"
    return Service(
        "etcd",
        (
            str(bin_dir / "etcd"),
            "--name=inventory-local",
            f"--data-dir={paths.etcd_data}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=inventory-local={peer}",
            f"--cert-file={pki / 'etcd-server.crt'}",
            f"--key-file={pki / 'etcd-server.key'}",
            f"--trusted-ca-file={pki / 'ca.crt'}",
            "--client-cert-auth=true",
            f"--peer-cert-file={pki / 'etcd-server.crt'}",
            f"--peer-key-file={pki / 'etcd-server.key'}",
            f"--peer-trusted-ca-file={pki / 'ca.crt'}",
            "--peer-client-cert-auth=true",
            "--listen-metrics-urls=http://127.0.0.1:2381",
        ),
    )


def kube_apiserver(bin_dir: Path, paths: Paths, node_ip: str) -> Service:
    pki = paths.pki
    return Service(
        "kube-apiserver",
        (
            str(bin_dir / "kube-apiserver"),
            f"--advertise-address={node_ip}",
            f"--secure-port={API_PORT}",
            f"--etcd-servers=https://127.0.0.1:{ETCD_CLIENT_PORT}",
            f"--etcd-cafile={pki / 'ca.crt'}",
            f"--etcd-certfile={pki / 'apiserver-etcd-client.crt'}",
            f"--etcd-keyfile={pki / 'apiserver-etcd-client.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
            f"--kubelet-certificate-authority={pki / 'ca.crt'}",
            "--kubelet-preferred-address-types=InternalIP",
            # the aggregation layer (metrics.k8s.io from metrics-server): the proxy client and
            # the CA extension API servers verify it with; requests go to the extension's pod
            # (its endpoints), as on AKS, not through its Service's cluster IP
            f"--requestheader-client-ca-file={pki / f'{FRONT_PROXY_CA_NAME}.crt'}",
            f"--requestheader-allowed-names={FRONT_PROXY_CLIENT}",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-username-headers=X-Remote-User",
            f"--proxy-client-cert-file={pki / f'{FRONT_PROXY_CLIENT}.crt'}",
            f"--proxy-client-key-file={pki / f'{FRONT_PROXY_CLIENT}.key'}",
            "--enable-aggregator-routing=true",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'service-account.pub'}",
            f"--service-account-signing-key-file={pki / 'service-account.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=false",
            "--profiling=false",
        ),
    )


def _control_plane_auth(paths: Paths, user: str) -> tuple[str, ...]:
    kubeconfig = paths.kubeconfig(user)
    return (
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        "--leader-elect=false",
        "--profiling=false",
    )


def kube_controller_manager(bin_dir: Path, paths: Paths) -> Service:
    pki = paths.pki
    return Service(
        "kube-controller-manager",
        (
            str(bin_dir / "kube-controller-manager"),
            *_control_plane_auth(paths, "controller-manager"),
            "--use-service-account-credentials=true",
            f"--root-ca-file={pki / 'ca.crt'}",
            f"--service-account-private-key-file={pki / 'service-account.key'}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}",
            f"--cluster-signing-key-file={pki / 'ca.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allocate-node-cidrs=false",
        ),
    )


def kube_scheduler(bin_dir: Path, paths: Paths) -> Service:
    return Service(
        "kube-scheduler",
        (str(bin_dir / "kube-scheduler"), *_control_plane_auth(paths, "scheduler")),
    )


def containerd(paths: Paths) -> Service:
    return Service(
        "containerd",
        ("/usr/bin/containerd", f"--config={paths.config / 'containerd.toml'}"),
    )


def kubelet(bin_dir: Path, paths: Paths, node_ip: str) -> Service:
    return Service(
        "kubelet",
        (
            str(bin_dir / "kubelet"),
            f"--config={paths.config / 'kubelet.json'}",
            f"--kubeconfig={paths.kubeconfig('kubelet')}",
            f"--root-dir={paths.kubelet_root}",
            f"--hostname-override={NODE_NAME}",
            f"--node-ip={node_ip}",
        ),
    )


def kube_proxy(bin_dir: Path, paths: Paths) -> Service:
    return Service(
        "kube-proxy",
        (str(bin_dir / "kube-proxy"), f"--config={paths.config / 'kube-proxy.json'}"),
    )
