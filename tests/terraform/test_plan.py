"""Plan every environment (offline with mocked providers, or against Azure) and assert what matters.

INVENTORY_PLAN_MODE=azure switches to real plans with the environment's backend (Jenkins).
"""

from __future__ import annotations

import re
from typing import Any

import hcl2
import pytest

from tests.terraform.conftest import ENVIRONMENTS, IAC, PLATFORM
from tests.terraform.harness import (
    PLAN_MODE_VARIABLE,
    PlannedResource,
    plan_mode,
    planned_resources,
    schema_attributes,
    walk,
)

pytestmark = pytest.mark.slow

REQUIRED_TAGS = ("environment", "owner", "cost-center", "managed-by")
GEO_REDUNDANT = {"GRS", "RAGRS", "GZRS", "RAGZRS"}
TOTAL_COUNTS = {"dev": 50, "staging": 59, "prod": 60}
# Resources whose planned counts differ by environment; everything else is the same everywhere.
EXPECTED_COUNTS: dict[str, dict[str, int]] = {
    "dev": {
        "azurerm_private_endpoint": 0,
        "azurerm_private_dns_zone": 0,
        "azurerm_management_lock": 0,
    },
    "staging": {
        "azurerm_private_endpoint": 3,
        "azurerm_private_dns_zone": 3,
        "azurerm_management_lock": 0,
    },
    "prod": {
        "azurerm_private_endpoint": 3,
        "azurerm_private_dns_zone": 3,
        "azurerm_management_lock": 1,
    },
}
COMMON_COUNTS = {
    "azurerm_resource_group": 1,
    "azurerm_kubernetes_cluster": 1,
    "azurerm_kubernetes_cluster_node_pool": 1,
    "azurerm_container_registry": 1,
    "azurerm_key_vault": 1,
    "azurerm_key_vault_secret": 1,
    "azurerm_storage_account": 1,
    "azurerm_user_assigned_identity": 5,  # control plane, kubelet, api, database, backup
    # api: inventory-api + migrations; database: postgresql + backup; backup: backup
    "azurerm_federated_identity_credential": 5,
    "azurerm_monitor_metric_alert": 3,
    "azurerm_monitor_scheduled_query_rules_alert_v2": 2,
    "azurerm_monitor_diagnostic_setting": 4,
}
NAME_PREFIXES = {
    "azurerm_resource_group": "rg-",
    "azurerm_virtual_network": "vnet-",
    "azurerm_subnet": "snet-",
    "azurerm_network_security_group": "nsg-",
    "azurerm_kubernetes_cluster": "aks-",
    "azurerm_user_assigned_identity": "id-",
    "azurerm_container_registry": "cr",
    "azurerm_key_vault": "kv-",
    "azurerm_storage_account": "st",
    "azurerm_log_analytics_workspace": "log-",
    "azurerm_monitor_workspace": "amw-",
    "azurerm_monitor_action_group": "ag-",
    "azurerm_monitor_data_collection_endpoint": "dce-",
    "azurerm_monitor_data_collection_rule": "dcr-",
    "azurerm_private_endpoint": "pe-",
    "azurerm_monitor_metric_alert": "alert-",
    "azurerm_monitor_scheduled_query_rules_alert_v2": "alert-",
}
FIXED_NAMES = {
    "azurerm_kubernetes_cluster_node_pool": re.compile(r"^user$"),
    "azurerm_key_vault_secret": re.compile(r"^database-password$"),
    "azurerm_storage_container": re.compile(r"^pgbackrest$"),
    "azurerm_private_dns_zone": re.compile(r"^privatelink\.[a-z.]+$"),
    "azurerm_federated_identity_credential": re.compile(r"^inventory-[a-z0-9-]+$"),
}


def _resources(
    plans: dict[str, dict[str, Any]], env: str, resource_type: str | None = None
) -> list[PlannedResource]:
    return [
        r for r in planned_resources(plans[env]) if resource_type is None or r.type == resource_type
    ]


def _one(plans: dict[str, dict[str, Any]], env: str, resource_type: str) -> dict[str, Any]:
    (resource,) = _resources(plans, env, resource_type)
    return resource.values


def _hcl(relative: str) -> dict[str, Any]:
    text = (IAC / relative).read_text(encoding="utf-8")
    options = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
    result: dict[str, Any] = hcl2.loads(text, serialization_options=options)
    return result


def _tfvars(env: str) -> dict[str, Any]:
    return _hcl(f"environments/{env}/terraform.tfvars")


def test_every_environment_folder_has_its_expected_counts() -> None:
    """A new folder in iac/environments is planned by every test here; this names what to add."""
    for table in (TOTAL_COUNTS, EXPECTED_COUNTS):
        missing = sorted(set(ENVIRONMENTS) - set(table))
        assert not missing, f"no expected resource counts for {missing}: add them to test_plan.py"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_resource_counts(plans: dict[str, dict[str, Any]], env: str) -> None:
    counts: dict[str, int] = {}
    for resource in _resources(plans, env):
        counts[resource.type] = counts.get(resource.type, 0) + 1
    expected = {**COMMON_COUNTS, **EXPECTED_COUNTS[env]}
    assert {t: counts.get(t, 0) for t in expected} == expected
    assert sum(counts.values()) == TOTAL_COUNTS[env]


def test_environments_differ_in_size_by_exactly_the_private_endpoint_stack(
    plans: dict[str, dict[str, Any]],
) -> None:
    dev, staging, prod = (len(_resources(plans, env)) for env in ("dev", "staging", "prod"))
    # 3 private endpoints + 3 private DNS zones + 3 zone links; prod adds the resource group lock.
    assert staging - dev == 9
    assert prod - staging == 1


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_zones(plans: dict[str, dict[str, Any]], env: str) -> None:
    cluster = _one(plans, env, "azurerm_kubernetes_cluster")
    user_pool = _one(plans, env, "azurerm_kubernetes_cluster_node_pool")
    expected = ["1", "2", "3"] if env in ("staging", "prod") else []
    assert sorted(cluster["default_node_pool"][0].get("zones") or []) == expected
    assert sorted(user_pool.get("zones") or []) == expected


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cluster_baseline(plans: dict[str, dict[str, Any]], env: str) -> None:
    cluster = _one(plans, env, "azurerm_kubernetes_cluster")
    assert cluster["local_account_disabled"] is True
    assert cluster["oidc_issuer_enabled"] is True
    assert cluster["workload_identity_enabled"] is True
    assert (
        cluster["azure_active_directory_role_based_access_control"][0]["azure_rbac_enabled"] is True
    )
    assert cluster["default_node_pool"][0]["only_critical_addons_enabled"] is True
    assert cluster["network_profile"][0]["network_plugin_mode"] == "overlay"
    assert cluster["network_profile"][0]["network_policy"] == "cilium"
    assert cluster["key_vault_secrets_provider"][0]["secret_rotation_enabled"] is True
    (routing,) = cluster["web_app_routing"]  # the add-on behind the charts' IngressClass
    assert routing["default_nginx_controller"] == "External"
    assert cluster["automatic_upgrade_channel"] == "patch"
    assert cluster["maintenance_window_auto_upgrade"][0]["frequency"] == "Weekly"


def test_prod_is_private_and_dev_is_firewalled(plans: dict[str, dict[str, Any]]) -> None:
    prod_cluster = _one(plans, "prod", "azurerm_kubernetes_cluster")
    assert prod_cluster["private_cluster_enabled"] is True
    assert not prod_cluster.get("api_server_access_profile")
    for resource_type in (
        "azurerm_key_vault",
        "azurerm_container_registry",
        "azurerm_storage_account",
    ):
        assert _one(plans, "prod", resource_type)["public_network_access_enabled"] is False, (
            resource_type
        )
        assert _one(plans, "dev", resource_type)["public_network_access_enabled"] is True, (
            resource_type
        )
    endpoints = _resources(plans, "prod", "azurerm_private_endpoint")
    subresources = sorted(
        e.values["private_service_connection"][0]["subresource_names"][0] for e in endpoints
    )
    assert subresources == ["blob", "registry", "vault"]

    dev_cluster = _one(plans, "dev", "azurerm_kubernetes_cluster")
    assert dev_cluster["private_cluster_enabled"] is False
    ranges = dev_cluster["api_server_access_profile"][0]["authorized_ip_ranges"]
    assert sorted(ranges) == sorted(_tfvars("dev")["ci_ip_ranges"])
    assert _one(plans, "dev", "azurerm_key_vault")["network_acls"][0]["default_action"] == "Deny"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_backup_storage(plans: dict[str, dict[str, Any]], env: str) -> None:
    account = _one(plans, env, "azurerm_storage_account")
    backup = _tfvars(env)["backup"]
    assert account["account_replication_type"] == backup["replication_type"]
    assert account["shared_access_key_enabled"] is False
    assert account["blob_properties"][0]["versioning_enabled"] is True
    policy = account["immutability_policy"][0]
    assert policy["period_since_creation_in_days"] == backup["immutability_days"]
    if env == "prod":
        assert account["account_replication_type"] in GEO_REDUNDANT
        assert policy["state"] == "Locked"
    if env == "dev":
        assert account["account_replication_type"] == "LRS"
        assert policy["state"] == "Unlocked"
    roles = [
        r.values["role_definition_name"] for r in _resources(plans, env, "azurerm_role_assignment")
    ]
    assert roles.count("Storage Blob Data Contributor") == 1
    assert "Storage Account Contributor" not in roles
    assert "Owner" not in roles


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_the_api_and_database_identities_read_the_password(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    readers = sorted(
        r.address
        for r in _resources(plans, env, "azurerm_role_assignment")
        if r.values["role_definition_name"] == "Key Vault Secrets User"
    )
    assert readers == [
        'module.key_vault.azurerm_role_assignment.secret_readers["api"]',
        'module.key_vault.azurerm_role_assignment.secret_readers["database"]',
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_taggable_resource_carries_the_standard_tags(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    tfvars = _tfvars(env)
    expected = {
        "environment": env,
        "owner": tfvars["owner"],
        "cost-center": tfvars["cost_center"],
        "managed-by": "terraform",
    }
    untagged = []
    taggable = 0
    for resource in _resources(plans, env):
        if "tags" not in schema_attributes(plans[env], resource.type):
            continue
        taggable += 1
        tags = resource.values.get("tags") or {}
        if {key: tags.get(key) for key in REQUIRED_TAGS} != expected:
            untagged.append(f"{resource.address}: {tags}")
    assert untagged == []
    assert taggable >= 25


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_names_follow_the_convention(plans: dict[str, dict[str, Any]], env: str) -> None:
    suffix, compact = f"inventory-{env}-weu", f"inventory{env}weu"
    wrong = []
    for resource in _resources(plans, env):
        name = resource.values.get("name")
        if not isinstance(name, str):
            continue
        if resource.type in FIXED_NAMES:
            ok = bool(FIXED_NAMES[resource.type].match(name))
        else:
            ok = (suffix in name or compact in name) and name.startswith(
                NAME_PREFIXES.get(resource.type, "")
            )
        if not ok:
            wrong.append(f"{resource.address}: {name}")
    assert wrong == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_declared_output_is_planned(plans: dict[str, dict[str, Any]], env: str) -> None:
    declared = {name for block in _hcl(f"{PLATFORM}/outputs.tf")["output"] for name in block}
    assert set(plans[env]["output_changes"]) == declared


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_database_password_never_appears_in_the_plan(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    secret = _one(plans, env, "azurerm_key_vault_secret")
    assert secret.get("value") in (None, "")
    assert secret.get("value_wo") is None
    assert secret["value_wo_version"] == _tfvars(env)["key_vault"].get(
        "database_password_version", 1
    )
    assert not [
        path
        for path, _ in walk(plans[env].get("resource_changes", []))
        if "random_password" in path
    ]


@pytest.mark.parametrize(("value", "mode"), [(None, "mock"), ("mock", "mock"), ("azure", "azure")])
def test_plan_mode_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, mode: str
) -> None:
    if value is None:
        monkeypatch.delenv(PLAN_MODE_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(PLAN_MODE_VARIABLE, value)
    assert plan_mode() == mode


def test_unknown_plan_mode_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PLAN_MODE_VARIABLE, "aws")
    with pytest.raises(
        ValueError, match="INVENTORY_PLAN_MODE must be 'mock' or 'azure', not 'aws'"
    ):
        plan_mode()
