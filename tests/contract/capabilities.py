"""What an environment's AKS cluster serves, read from its Terraform plan.

The charts switch objects on `.Capabilities` (API versions) and pick an IngressClass; rendering
them against a hand-made list proves nothing about the cluster. Here the list follows the plan:
the Kubernetes version the cluster is planned with, and the API groups and IngressClasses that
exist only because the plan turns a feature on. Each entry below is a fact about AKS (what the
add-on installs), not about an environment; a feature the plan does not enable adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.core.charts import CHARTS
from pipelines.stages.deploy import platform_api_versions
from tests.support.tools import REPO_ROOT
from tests.terraform.harness import planned_resources

CLUSTER = "azurerm_kubernetes_cluster"
APP_ROUTING_API = "approuting.kubernetes.azure.com/v1alpha1"
"""The application routing add-on's API: its NginxIngressController objects run more NGINXs."""


@dataclass(frozen=True)
class Feature:
    """A cluster attribute whose being on makes AKS serve these APIs and IngressClasses; the
    classes only while the attribute's block does not set `no_classes` (key, value)."""

    attribute: str
    api_versions: tuple[str, ...] = ()
    ingress_classes: tuple[str, ...] = ()
    no_classes: tuple[str, str] | None = None

    def classes(self, value: object) -> tuple[str, ...]:
        """The IngressClasses the planned attribute `value` makes AKS serve."""
        if self.no_classes is None or not isinstance(value, list):
            return self.ingress_classes
        key, off = self.no_classes
        return () if any(block.get(key) == off for block in value) else self.ingress_classes


FEATURES = (
    # Secrets Store CSI driver with the Azure Key Vault provider (SecretProviderClass).
    Feature("key_vault_secrets_provider", api_versions=("secrets-store.csi.x-k8s.io/v1",)),
    # Application routing: managed NGINX, its IngressClass and its controller resource; no
    # default controller (and no class) with default_nginx_controller None.
    Feature(
        "web_app_routing",
        api_versions=(APP_ROUTING_API,),
        ingress_classes=("webapprouting.kubernetes.azure.com",),
        no_classes=("default_nginx_controller", "None"),
    ),
    # Azure Managed Prometheus: the metrics add-on reads ServiceMonitors and PodMonitors of the
    # azmonitoring.coreos.com group (not monitoring.coreos.com, and no PrometheusRule).
    Feature("monitor_metrics", api_versions=("azmonitoring.coreos.com/v1",)),
    # Azure Policy: Gatekeeper's constraint templates and constraints.
    Feature(
        "azure_policy_enabled",
        api_versions=("templates.gatekeeper.sh/v1", "constraints.gatekeeper.sh/v1beta1"),
    ),
)


# APIs no planned feature provides but the deploy stage's platform releases install before the
# workloads (cert-manager.io/v1, for the pgBackRest TLS certificates): what their charts' CRDs
# serve, so a chart that stops installing an API the workloads need fails the render here.
PLATFORM_APIS = platform_api_versions(REPO_ROOT / CHARTS)


@dataclass(frozen=True)
class Capabilities:
    """What one planned cluster offers the charts."""

    kube_version: str
    api_versions: tuple[str, ...]
    ingress_classes: tuple[str, ...]

    def helm_args(self) -> list[str]:
        """`helm template` arguments that make `.Capabilities` match the cluster."""
        args = ["--kube-version", self.kube_version]
        for api in self.api_versions:
            args += ["--api-versions", api]
        return args


def planned_cluster(plan: dict[str, Any]) -> dict[str, Any]:
    """The planned values of the environment's one AKS cluster."""
    clusters = [r.values for r in planned_resources(plan) if r.type == CLUSTER]
    assert len(clusters) == 1, f"expected one {CLUSTER} in the plan, found {len(clusters)}"
    return clusters[0]


def enabled(value: object) -> bool:
    """A planned attribute that turns a feature on: true, or a block that is present."""
    return value is True or (isinstance(value, list) and len(value) > 0)


def capabilities(plan: dict[str, Any]) -> Capabilities:
    """The Kubernetes version, API versions and IngressClasses the planned cluster serves."""
    cluster = planned_cluster(plan)
    version = str(cluster["kubernetes_version"])
    on = [feature for feature in FEATURES if enabled(cluster.get(feature.attribute))]
    return Capabilities(
        kube_version=version if version.count(".") == 2 else f"{version}.0",
        api_versions=(
            *(api for feature in on for api in feature.api_versions),
            *PLATFORM_APIS,
        ),
        ingress_classes=tuple(
            cls for feature in on for cls in feature.classes(cluster.get(feature.attribute))
        ),
    )
