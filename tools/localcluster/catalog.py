"""The pinned components of the local cluster and how each binary is built from source.

Kubernetes is pinned at one minor version AKS supports; its staging modules are replaced by
the published `k8s.io/*` releases cut from the same tag (see go/kubernetes/go.mod). etcd is
built from source because Debian bookworm ships 3.4, older than Kubernetes 1.34 supports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tools.localcluster.trim import TRAEFIK_COPIES, PreparedCopy

GO_DIR = Path(__file__).resolve().parent / "go"

KUBERNETES_VERSION = "1.34.2"
ETCD_VERSION = "3.6.4"
COREDNS_VERSION = "1.12.1"  # what kubeadm 1.34 deploys
LOCAL_PATH_VERSION = "0.0.30"  # the only release the Go module proxy serves
PAUSE_VERSION = "1.0.0"  # our own pause program (go/pause), not upstream's
TRAEFIK_VERSION = "3.7.13"  # newest of the 3.7 releases the proxy serves (3.7.11-3.7.13)
KUBE_ROUTER_VERSION = "2.1.0"  # the only v2 release the Go module proxy serves
KUBE_STATE_METRICS_VERSION = "2.18.0"  # built against client-go 0.34 (Kubernetes 1.34)
# 0.8.0 is the only 0.8 release the proxy serves (0.8.1 is refused); its k8s.io/* are raised
# from 0.33.2 to the 0.34.2 the Kubernetes build uses (0.9.0 would need 0.36)
METRICS_SERVER_VERSION = "0.8.0"
REGISTRY_VERSION = "3.1.2"  # newest of the v3 releases the proxy serves (3.0.0, 3.1.1, 3.1.2)
# Flux 2.7.3's controllers (the versions its release pins). The flux CLI is not built: the
# pipeline drives Flux through its objects (kubectl), as the AKS extension is driven through
# Terraform
FLUX_VERSION = "2.7.3"
FLUX_CONTROLLERS = {
    "source-controller": "1.7.3",
    "kustomize-controller": "1.7.2",
    "helm-controller": "1.4.3",
}
CERT_MANAGER_VERSION = "1.21.2"  # newest of the 1.21.0-1.21.2 the proxy serves


def _version_ldflags(version: str) -> tuple[str, ...]:
    """What upstream's hack/lib/version.sh stamps, so `kubectl version` and the node report it."""
    major, minor, _ = version.split(".")
    flags: list[str] = []
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion=v{version}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
            f"-X {package}.buildDate=1970-01-01T00:00:00Z",  # reproducible
        ]
    return tuple(flags)


@dataclass(frozen=True)
class Component:
    """A set of binaries built from one tools module and cached together under one version."""

    name: str  # cache key: ~/.cache/inventory-platform/tools/<name>/<version>/
    version: str
    module_dir: str  # directory under go/
    module: str  # what go.mod must require at `module_version` (checked before building)
    module_version: str
    packages: tuple[tuple[str, str], ...]  # (binary name, main package)
    ldflags: tuple[str, ...] = ()
    # dependencies go.mod replaces with prepared copies the build makes (trim.py)
    prepared: tuple[PreparedCopy, ...] = ()
    tags: tuple[str, ...] = ()  # Go build tags

    @property
    def directory(self) -> Path:
        return GO_DIR / self.module_dir

    @property
    def binaries(self) -> tuple[str, ...]:
        return tuple(binary for binary, _ in self.packages)


KUBERNETES_BINARIES = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
)

KUBERNETES = Component(
    name="kubernetes",
    version=KUBERNETES_VERSION,
    module_dir="kubernetes",
    module="k8s.io/kubernetes",
    module_version=f"v{KUBERNETES_VERSION}",
    packages=(
        *((name, f"k8s.io/kubernetes/cmd/{name}") for name in KUBERNETES_BINARIES),
        # our CRI readiness probe (go/kubernetes/cri-ready), on the same cri-api and grpc
        ("cri-ready", "./cri-ready"),
    ),
    ldflags=_version_ldflags(KUBERNETES_VERSION),
)

ETCD = Component(
    name="etcd",
    version=ETCD_VERSION,
    module_dir="etcd",
    module="go.etcd.io/etcd/server/v3",
    module_version=f"v{ETCD_VERSION}",
    packages=(("etcd", "go.etcd.io/etcd/server/v3"),),
)

PAUSE = Component(
    name="localcluster-pause",
    version=PAUSE_VERSION,
    module_dir="pause",
    module="",  # our own module: nothing upstream to pin
    module_version="",
    packages=(("pause", "."),),
)

COREDNS = Component(
    name="coredns",
    version=COREDNS_VERSION,
    module_dir="coredns",
    module="github.com/coredns/coredns",
    module_version=f"v{COREDNS_VERSION}",
    packages=(("coredns", "github.com/coredns/coredns"),),
    ldflags=("-X github.com/coredns/coredns/coremain.GitCommit=v" + COREDNS_VERSION,),
)

LOCAL_PATH = Component(
    name="local-path-provisioner",
    version=LOCAL_PATH_VERSION,
    module_dir="local-path-provisioner",
    module="github.com/rancher/local-path-provisioner",
    module_version=f"v{LOCAL_PATH_VERSION}",
    packages=(("local-path-provisioner", "github.com/rancher/local-path-provisioner"),),
    ldflags=(f"-X main.VERSION=v{LOCAL_PATH_VERSION}",),
)

TRAEFIK = Component(
    name="traefik",
    version=TRAEFIK_VERSION,
    module_dir="traefik",
    module="github.com/traefik/traefik/v3",
    module_version=f"v{TRAEFIK_VERSION}",
    packages=(("traefik", "github.com/traefik/traefik/v3/cmd/traefik"),),
    ldflags=(
        f"-X github.com/traefik/traefik/v3/pkg/version.Version=v{TRAEFIK_VERSION}",
        "-X github.com/traefik/traefik/v3/pkg/version.BuildDate=1970-01-01T00:00:00Z",
    ),
    prepared=TRAEFIK_COPIES,
)

KUBE_ROUTER = Component(
    name="kube-router",
    version=KUBE_ROUTER_VERSION,
    module_dir="kube-router",
    module="github.com/cloudnativelabs/kube-router/v2",
    module_version=f"v{KUBE_ROUTER_VERSION}",
    packages=(("kube-router", "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"),),
    ldflags=(
        f"-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=v{KUBE_ROUTER_VERSION}",
        "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate=1970-01-01T00:00:00Z",
    ),
)

KUBE_STATE_METRICS = Component(
    name="kube-state-metrics",
    version=KUBE_STATE_METRICS_VERSION,
    module_dir="kube-state-metrics",
    module="k8s.io/kube-state-metrics/v2",
    module_version=f"v{KUBE_STATE_METRICS_VERSION}",
    packages=(("kube-state-metrics", "k8s.io/kube-state-metrics/v2"),),
    ldflags=(
        f"-X github.com/prometheus/common/version.Version=v{KUBE_STATE_METRICS_VERSION}",
        "-X github.com/prometheus/common/version.BuildDate=1970-01-01T00:00:00Z",
    ),
    # The image is FROM scratch: embed the zone database, or a CronJob schedule with
    # CRON_TZ=... makes the cronjob collector panic ("unknown time zone Etc/UTC").
    tags=("timetzdata",),
)

METRICS_SERVER = Component(
    name="metrics-server",
    version=METRICS_SERVER_VERSION,
    module_dir="metrics-server",
    module="sigs.k8s.io/metrics-server",
    module_version=f"v{METRICS_SERVER_VERSION}",
    packages=(("metrics-server", "sigs.k8s.io/metrics-server/cmd/metrics-server"),),
    # what upstream's Makefile stamps (client-go's version package, read by /version)
    ldflags=(
        f"-X k8s.io/client-go/pkg/version.gitVersion=v{METRICS_SERVER_VERSION}",
        "-X k8s.io/client-go/pkg/version.buildDate=1970-01-01T00:00:00Z",
    ),
)

# Our own main (go/registry) over distribution's registry package: filesystem storage and
# htpasswd authentication only, where upstream's cmd/registry links every cloud storage SDK.
REGISTRY = Component(
    name="registry",
    version=REGISTRY_VERSION,
    module_dir="registry",
    module="github.com/distribution/distribution/v3",
    module_version=f"v{REGISTRY_VERSION}",
    packages=(("registry", "."),),
    ldflags=(f"-X github.com/distribution/distribution/v3/version.version=v{REGISTRY_VERSION}",),
)

# GitOps on the local cluster as on AKS (flux.py): one tools module for the three controllers,
# so their shared packages (controller-runtime, Helm, the cloud SDKs) compile once.
FLUX = Component(
    name="flux",
    version=FLUX_VERSION,
    module_dir="flux",
    module="github.com/fluxcd/source-controller",
    module_version=f"v{FLUX_CONTROLLERS['source-controller']}",
    packages=tuple((name, f"github.com/fluxcd/{name}") for name in FLUX_CONTROLLERS),
)

# The proxy serves cert-manager's main module but not its cmd/controller module (in no version),
# so go/cert-manager is our own main over the main module's exported controller packages. Not
# in COMPONENTS: the pipeline's build stage builds it, for the local cluster and AKS alike
# (certmanager.py), and the chart helm-charts/cert-manager installs it.
CERT_MANAGER = Component(
    name="cert-manager",
    version=CERT_MANAGER_VERSION,
    module_dir="cert-manager",
    module="github.com/cert-manager/cert-manager",
    module_version=f"v{CERT_MANAGER_VERSION}",
    packages=(("cert-manager-controller", "."),),
    ldflags=(
        # what upstream's make/00_mod.mk stamps: the version in the User-Agent and field manager
        f"-X github.com/cert-manager/cert-manager/pkg/util.AppVersion=v{CERT_MANAGER_VERSION}",
    ),
)

COMPONENTS = (
    ETCD,
    KUBERNETES,
    PAUSE,
    COREDNS,
    LOCAL_PATH,
    TRAEFIK,
    KUBE_ROUTER,
    KUBE_STATE_METRICS,
    METRICS_SERVER,
    REGISTRY,
    FLUX,
)
