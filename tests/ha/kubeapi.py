"""A bare Kubernetes API (etcd + kube-apiserver, nothing else) as Patroni's DCS for host tests.

Why not the local cluster: the HA tests kill and restart database members many times a run, on
127.0.0.1-class ports, without a scheduler or kubelet. Patroni needs only the API: it keeps the
leader lock in an Endpoints object and its member state in Pod annotations. The binaries are the
ones the local cluster runs (tools.localcluster builds them); the certificates come from the
same PKI code, under a throwaway CA.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.support.postgres import free_port
from tools.localcluster import build, catalog, pki

NAMESPACE = "inventory"
KUBECONFIG_CONTEXT = "ha-test"
BUILD_HINT = (
    "the local cluster's binaries are missing; build them with `make cluster-up` "
    "(tools.localcluster builds etcd and kube-apiserver into the tool cache)"
)


@dataclass
class KubeApi:
    """A running API server: its URL, CA and an admin kubeconfig."""

    url: str
    pki_dir: Path
    admin_kubeconfig: Path
    _core: client.CoreV1Api | None = None

    def kubeconfig(self, path: Path, cert_name: str) -> Path:
        """A kubeconfig for the client certificate `<cert_name>.crt` issued by `issue_client`."""
        path.write_text(
            _kubeconfig_text(self.url, self.pki_dir / "ca.crt", self.pki_dir, cert_name)
        )
        path.chmod(0o644)
        return path

    def issue_client(
        self, name: str, common_name: str, organizations: tuple[str, ...] = ()
    ) -> None:
        """A client certificate (readable by the members' OS user) for one identity."""
        ca = pki.ensure_ca(self.pki_dir)
        pki.ensure_cert(
            self.pki_dir, pki.CertSpec(name, common_name, organizations, client=True), ca
        )
        (self.pki_dir / f"{name}.key").chmod(0o644)

    def api_client(self) -> client.ApiClient:
        """An admin client for the test's own reads and setup."""
        made: client.ApiClient = config.new_client_from_config(str(self.admin_kubeconfig))  # type: ignore[no-untyped-call]
        return made

    def core(self) -> client.CoreV1Api:
        """The admin CoreV1 client, made once (the watcher polls it ten times a second)."""
        if self._core is None:
            self._core = client.CoreV1Api(self.api_client())
        return self._core


def _kubeconfig_text(url: str, ca: Path, pki_dir: Path, cert_name: str) -> str:
    return f"""apiVersion: v1
kind: Config
clusters:
- name: ha-test
  cluster: {{server: "{url}", certificate-authority: "{ca}"}}
users:
- name: {cert_name}
  user:
    client-certificate: "{pki_dir / f"{cert_name}.crt"}"
    client-key: "{pki_dir / f"{cert_name}.key"}"
contexts:
- name: {KUBECONFIG_CONTEXT}
  context: {{cluster: ha-test, user: {cert_name}}}
current-context: {KUBECONFIG_CONTEXT}
"""


def _binary(component: catalog.Component, name: str) -> Path:
    path = build.binary(component, name)
    if not path.is_file():
        pytest.fail(f"{path} not found: {BUILD_HINT}", pytrace=False)
    return path


def _wait_ready(api: KubeApi, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    core = api.core()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"kube-apiserver exited: {log.read_text()[-3000:]}", pytrace=False)
        try:
            core.list_namespace(_request_timeout=3)
            return
        except Exception:
            time.sleep(0.5)
    pytest.fail(f"kube-apiserver not ready after 90 s: {log.read_text()[-3000:]}", pytrace=False)


@contextlib.contextmanager
def running_kube_api(work: Path) -> Iterator[KubeApi]:
    """etcd and kube-apiserver on free loopback ports; stopped and removed afterwards."""
    etcd_bin = _binary(catalog.ETCD, "etcd")
    apiserver_bin = _binary(catalog.KUBERNETES, "kube-apiserver")
    pki_dir = work / "pki"
    pki_dir.mkdir(parents=True)
    pki_dir.chmod(0o755)
    ca = pki.ensure_ca(pki_dir)
    pki.ensure_cert(
        pki_dir,
        pki.CertSpec("apiserver", "kube-apiserver", server=True, dns_names=("localhost",),
                     ip_addresses=("127.0.0.1",)),
        ca,
    )  # fmt: skip
    pki.ensure_cert(
        pki_dir, pki.CertSpec("admin", "ha-admin", ("system:masters",), client=True), ca
    )
    pki.ensure_service_account_key(pki_dir)
    client_port, peer_port, api_port = free_port(), free_port(), free_port()
    etcd_url = f"http://127.0.0.1:{client_port}"
    peer_url = f"http://127.0.0.1:{peer_port}"
    etcd_log, api_log = work / "etcd.log", work / "kube-apiserver.log"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with etcd_log.open("wb") as out:
            processes.append(subprocess.Popen(
                [str(etcd_bin), "--name=ha", f"--data-dir={work / 'etcd'}",
                 f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
                 f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
                 f"--initial-cluster=ha={peer_url}", "--unsafe-no-fsync"],
                stdout=out, stderr=subprocess.STDOUT,
            ))  # fmt: skip
        with api_log.open("wb") as out:
            processes.append(subprocess.Popen(
                [str(apiserver_bin), "--bind-address=127.0.0.1", f"--secure-port={api_port}",
                 f"--etcd-servers={etcd_url}", f"--client-ca-file={pki_dir / 'ca.crt'}",
                 f"--tls-cert-file={pki_dir / 'apiserver.crt'}",
                 f"--tls-private-key-file={pki_dir / 'apiserver.key'}",
                 "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                 f"--service-account-key-file={pki_dir / 'service-account.pub'}",
                 f"--service-account-signing-key-file={pki_dir / 'service-account.key'}",
                 "--service-cluster-ip-range=10.96.0.0/24", "--authorization-mode=RBAC",
                 "--allow-privileged=false", "--profiling=false", f"--cert-dir={work / 'certs'}"],
                stdout=out, stderr=subprocess.STDOUT,
            ))  # fmt: skip
        url = f"https://127.0.0.1:{api_port}"
        admin = work / "admin.kubeconfig"
        admin.write_text(_kubeconfig_text(url, pki_dir / "ca.crt", pki_dir, "admin"))
        api = KubeApi(url, pki_dir, admin)
        _wait_ready(api, processes[-1], api_log)
        core = api.core()
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
        # No controller-manager creates it, and pod admission needs the namespace's default SA.
        core.create_namespaced_service_account(
            NAMESPACE, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="default"))
        )
        yield api
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
