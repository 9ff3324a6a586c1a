"""Cross-layer: every Azure name the umbrella chart carries in an environment is the name
Terraform gives that resource there.

Terraform's naming convention (iac/modules/conventions) is the source of truth. The umbrella
chart is rendered with the real helm for each Azure environment, as the pipeline deploys it
(backups on), and every name it carries is compared with the environment's plan:
the Key Vault and secret the SecretProviderClasses read, the registry every image comes from,
and the storage account and container pgBackRest writes to. Names come from the planned
resources; an output the offline plan already knows must agree with its resource, and the
registry's login server (computed by Azure, unknown in a plan) follows Azure's
`<name>.azurecr.io` rule.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.helm.rendering import (
    AZURE_ENVIRONMENTS,
    UMBRELLA,
    Rendered,
    Renderer,
    containers,
    workloads,
)
from tests.terraform.harness import planned_resources

pytestmark = pytest.mark.slow

REGISTRY_SUFFIX = ".azurecr.io"
# IngressClass of the AKS application routing add-on's default NGINX controller.
APP_ROUTING_CLASS = "webapprouting.kubernetes.azure.com"
# Purpose -> (planned resource type, attribute, environment output carrying the same name).
PLANNED_NAMES = {
    "key vault": ("azurerm_key_vault", "name", "key_vault_name"),
    "key vault secret": ("azurerm_key_vault_secret", "name", "database_password_secret_name"),
    "backup storage account": ("azurerm_storage_account", "name", "backup_storage_account_name"),
    "backup container": ("azurerm_storage_container", "name", "backup_container_name"),
}
REGISTRY = "image registry"
# Container environment variable -> the purpose of the name it carries.
BACKUP_ENV = {
    "BACKUP_AZURE_ACCOUNT": "backup storage account",
    "BACKUP_AZURE_CONTAINER": "backup container",
}

Names = dict[str, set[str]]  # purpose -> every value the rendered chart uses for it


def _known_output(plan: dict[str, Any], output: str) -> str | None:
    """An output's planned value, or None while it is unknown (computed during apply)."""
    change = plan["output_changes"][output]
    return None if change.get("after_unknown") else str(change["after"])


def planned_name(plan: dict[str, Any], resource_type: str, attribute: str, output: str) -> str:
    """The one planned resource's name; the output of the same name must not say otherwise."""
    values = [r.values.get(attribute) for r in planned_resources(plan) if r.type == resource_type]
    assert len(values) == 1, f"expected one {resource_type} in the plan, found {len(values)}"
    (value,) = values
    assert isinstance(value, str), f"{resource_type}.{attribute} is unknown in the plan"
    known = _known_output(plan, output)
    assert known in (None, value), f"output {output} = {known!r}, resource has {value!r}"
    return value


def terraform_names(plan: dict[str, Any]) -> dict[str, str]:
    """Each Azure name the chart needs, as the environment's plan creates it."""
    names = {purpose: planned_name(plan, *source) for purpose, source in PLANNED_NAMES.items()}
    registry = planned_name(plan, "azurerm_container_registry", "name", "acr_login_server")
    names[REGISTRY] = registry + REGISTRY_SUFFIX
    login_server = _known_output(plan, "acr_login_server")
    assert login_server in (None, names[REGISTRY]), f"acr_login_server = {login_server!r}"
    return names


def chart_names(rendered: Rendered) -> Names:
    """Every Azure name in the rendered manifests, by purpose."""
    names: Names = {purpose: set() for purpose in [*PLANNED_NAMES, REGISTRY]}
    for spc in rendered.of_kind("SecretProviderClass"):
        parameters = spc["spec"]["parameters"]
        names["key vault"].add(str(parameters["keyvaultName"]))
        for entry in yaml.safe_load(parameters["objects"])["array"]:
            names["key vault secret"].add(str(yaml.safe_load(entry)["objectName"]))
    for workload in workloads(rendered):
        for container in containers(workload):
            host, _, path = str(container["image"]).partition("/")
            names[REGISTRY].add(host if path else "")
            for variable in container.get("env", []):
                if variable["name"] in BACKUP_ENV:
                    names[BACKUP_ENV[variable["name"]]].add(str(variable.get("value", "")))
    return names


def name_drift(chart: Names, terraform: dict[str, str]) -> list[str]:
    """Human-readable differences between the chart's names and Terraform's."""
    problems = []
    for purpose, expected in sorted(terraform.items()):
        found = chart.get(purpose, set())
        if not found:
            problems.append(f"{purpose}: the chart carries none (Terraform creates {expected!r})")
        problems += [
            f"{purpose}: the chart uses {value!r}, Terraform creates {expected!r}"
            for value in sorted(found - {expected})
        ]
    return problems


@pytest.mark.parametrize("env", AZURE_ENVIRONMENTS)
def test_every_azure_name_in_the_chart_is_what_terraform_creates(
    chart_renderer: Renderer, plans: dict[str, dict[str, Any]], env: str
) -> None:
    rendered = chart_renderer.render(UMBRELLA, env, monitoring_crds=True)
    assert name_drift(chart_names(rendered), terraform_names(plans[env])) == []


@pytest.mark.parametrize("env", AZURE_ENVIRONMENTS)
def test_the_chart_ingress_uses_the_class_of_the_clusters_routing_add_on(
    chart_renderer: Renderer, plans: dict[str, dict[str, Any]], env: str
) -> None:
    rendered = chart_renderer.render(UMBRELLA, env, monitoring_crds=True)
    classes = {ingress["spec"]["ingressClassName"] for ingress in rendered.of_kind("Ingress")}
    assert classes == {APP_ROUTING_CLASS}
    (cluster,) = [
        r.values for r in planned_resources(plans[env]) if r.type == "azurerm_kubernetes_cluster"
    ]
    assert cluster["web_app_routing"], f"{env}: no add-on serves IngressClass {APP_ROUTING_CLASS}"


def test_a_renamed_vault_and_a_local_image_are_reported() -> None:
    terraform = {"key vault": "kv-inventory-prod-weu", REGISTRY: "crinventoryprodweu.azurecr.io"}
    chart = {
        "key vault": {"kv-inventory-prod-weu", "kv-inventory-prod"},
        REGISTRY: {"crinventoryprodweu.azurecr.io", ""},
    }
    assert name_drift(chart, terraform) == [
        "image registry: the chart uses '', Terraform creates 'crinventoryprodweu.azurecr.io'",
        "key vault: the chart uses 'kv-inventory-prod', Terraform creates 'kv-inventory-prod-weu'",
    ]


def test_a_name_the_chart_does_not_carry_is_reported() -> None:
    drift = name_drift({}, {"backup container": "pgbackrest"})
    assert drift == ["backup container: the chart carries none (Terraform creates 'pgbackrest')"]


def test_names_are_read_from_every_place_the_chart_puts_them() -> None:
    objects = "array:\n  - |\n    objectName: database-password\n    objectType: secret\n"
    job = {
        "kind": "Job",
        "metadata": {"name": "backup"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "backup",
                            "image": "cr.azurecr.io/team/db:1@sha256:" + "0" * 64,
                            "env": [
                                {"name": "BACKUP_AZURE_ACCOUNT", "value": "stbak"},
                                {"name": "BACKUP_AZURE_CONTAINER", "value": "pgbackrest"},
                            ],
                        },
                        {"name": "local", "image": "db:1"},
                    ]
                }
            }
        },
    }
    spc = {
        "kind": "SecretProviderClass",
        "spec": {"parameters": {"keyvaultName": "kv-x", "objects": objects}},
    }
    assert chart_names(Rendered((spc, job))) == {
        "key vault": {"kv-x"},
        "key vault secret": {"database-password"},
        "backup storage account": {"stbak"},
        "backup container": {"pgbackrest"},
        REGISTRY: {"cr.azurecr.io", ""},
    }
