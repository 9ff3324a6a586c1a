"""Flux on the local cluster: the controllers AKS's `microsoft.flux` extension runs, from source.

source-controller fetches the repository from the harness's git server (gitserver.py) and
serves each revision as an artefact; kustomize-controller applies a folder of it; helm-controller
installs the HelmReleases that folder holds. They run as host processes like the rest of the
control plane, each a client of the API server with one client certificate bound to
cluster-admin (the extension grants its controllers the same), on loopback ports only: the
artefacts source-controller serves to the other two never leave the host. Their CRDs come from
the modules the build compiled, so the APIs the cluster serves are the controllers' own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.localcluster.catalog import FLUX_CONTROLLERS
from tools.localcluster.pki import CertSpec
from tools.localcluster.processes import Service
from tools.localcluster.settings import Paths
from tools.toolchain.gobuild import module_source
from tools.toolchain.paths import Layout

NAMESPACE = "flux-system"
USER = "inventory-flux"
CLIENT_CERT = CertSpec("flux", USER, client=True)
KUBECONFIG_USER = "flux"
ARTIFACT_ADDRESS = "127.0.0.1:9790"  # source-controller's artefact server, for the other two
PORTS = {  # controller -> (metrics, health probes), loopback only
    "source-controller": (9791, 9792),
    "kustomize-controller": (9793, 9794),
    "helm-controller": (9795, 9796),
}
CONTROLLERS = tuple(FLUX_CONTROLLERS)
LABELS = {"app.kubernetes.io/part-of": "inventory-localcluster", "app.kubernetes.io/name": "flux"}


def crd_files(layout: Layout) -> list[Path]:
    """Each controller's CRDs, as its module at the built version ships them."""
    files: list[Path] = []
    for name, version in FLUX_CONTROLLERS.items():
        source = module_source(f"github.com/fluxcd/{name}", f"v{version}", layout)
        files += sorted((source / "config" / "crd" / "bases").glob("*.yaml"))
    return files


def crd_names(files: list[Path]) -> list[str]:
    """`<plural>.<group>` of each CRD file (upstream names them `<group>_<plural>.yaml`)."""
    names = []
    for path in files:
        group, _, plural = path.stem.partition("_")
        names.append(f"{plural}.{group}")
    return names


def manifests() -> list[dict[str, Any]]:
    """The namespace the controllers serve from, and their identity's binding."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": LABELS},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": USER, "labels": LABELS},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USER}],
        },
    ]


def state_dir(paths: Paths) -> Path:
    return paths.root / "flux"


def services(bin_dir: Path, paths: Paths) -> list[Service]:
    """The three controllers; source-controller first (the others fetch its artefacts)."""
    state = state_dir(paths)
    result = []
    for name in CONTROLLERS:
        metrics, health = PORTS[name]
        argv = [
            str(bin_dir / name),
            f"--metrics-addr=127.0.0.1:{metrics}",
            f"--health-addr=127.0.0.1:{health}",
            "--enable-leader-election=false",
            "--watch-all-namespaces=true",
            "--log-encoding=json",
            "--events-addr=",  # no notification-controller: events go to the API only
        ]
        if name == "source-controller":
            argv += [
                f"--storage-path={state / 'artifacts'}",
                f"--storage-addr={ARTIFACT_ADDRESS}",
                f"--storage-adv-addr={ARTIFACT_ADDRESS}",
            ]
        home = state / name
        env = {
            "KUBECONFIG": str(paths.kubeconfig(KUBECONFIG_USER)),
            "RUNTIME_NAMESPACE": NAMESPACE,
            "HOME": str(home),
            "TMPDIR": str(home / "tmp"),
        }
        result.append(Service(name, tuple(argv), env=env))
    return result


def prepare_dirs(paths: Paths) -> None:
    """The controllers' working directories (their HOME and TMPDIR), owner-only."""
    for name in CONTROLLERS:
        (state_dir(paths) / name / "tmp").mkdir(mode=0o700, parents=True, exist_ok=True)
    (state_dir(paths) / "artifacts").mkdir(mode=0o700, parents=True, exist_ok=True)


def health_url(name: str) -> str:
    return f"http://127.0.0.1:{PORTS[name][1]}/readyz"
