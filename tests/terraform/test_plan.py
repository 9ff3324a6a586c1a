"""Plan every environment (offline with mocked providers, or against Azure) and assert what matters.

INVENTORY_PLAN_MODE=azure switches to real plans with the environment's backend (Jenkins).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest

from pipelines.core import contract
from tests.helm import rule_source
from tests.terraform.conftest import ENVIRONMENTS, IAC, PLATFORM
from tests.terraform.harness import (
    PLAN_MODE_VARIABLE,
    PlannedResource,
    Workspace,
    plan_mode,
    planned_resources,
    schema_attributes,
)

pytestmark = pytest.mark.slow

REQUIRED_TAGS = ("environment", "owner", "cost-center", "managed-by")
GEO_REDUNDANT = {"GRS", "RAGRS", "GZRS", "RAGZRS"}
# One Azure Prometheus rule group per group of the charts' rule files (backups are on everywhere;
# the second repository's groups where it is).
RULE_GROUPS = sum(
    len(doc["groups"]) + len(doc.get("backup_groups", []))
    for doc in map(rule_source.source, rule_source.RULE_FILES)
)
REPO2_RULE_GROUPS = len(rule_source.source("postgresql")["repo2_backup_groups"])
# The database rule file's Patroni, synchronous-standby and pooler group lists each environment's
# values turn on: Patroni and the pooler run everywhere; dev's one member has no standby to wait
# for, staging (on) and prod (strict) replicate synchronously.
DATABASE_VALUE_GROUPS = {
    "dev": ("ha_groups", "pooler_groups"),
    "staging": ("ha_groups", "ha_sync_groups", "pooler_groups"),
    "prod": ("ha_groups", "ha_sync_groups", "pooler_groups"),
}
VALUE_RULE_GROUPS = {
    env: [group["name"] for key in keys for group in rule_source.source("postgresql")[key]]
    for env, keys in DATABASE_VALUE_GROUPS.items()
}
"""Per environment, the names of those groups."""
PLANNED_RULE_GROUPS = {
    "dev": RULE_GROUPS + len(VALUE_RULE_GROUPS["dev"]),
    "staging": RULE_GROUPS + REPO2_RULE_GROUPS + len(VALUE_RULE_GROUPS["staging"]),
    "prod": RULE_GROUPS + REPO2_RULE_GROUPS + len(VALUE_RULE_GROUPS["prod"]),
}
"""Azure Prometheus rule groups per environment (the second repository's in staging and prod)."""
REPO2_MODULE = "module.backup_repo2[0]"
"""Address of the second backup repository's module instance (backup.secondary_location)."""
GITOPS_RESOURCES = ("azurerm_kubernetes_cluster_extension", "azurerm_kubernetes_flux_configuration")
"""What an environment delivered by Flux plans (iac/modules/gitops): extension, configuration."""
GITOPS_PULL = (
    "azurerm_user_assigned_identity",
    "azurerm_federated_identity_credential",
    "azurerm_role_assignment",
)
"""And the chart-pull identity: source-controller's identity, its federation, its AcrPull."""
GITOPS_PLANNED = len(GITOPS_RESOURCES) + len(GITOPS_PULL)


def _flux(env: str) -> int:
    """1 where the environment's tfvars choose Flux delivery, else 0 (push)."""
    text = (IAC / "environments" / env / "terraform.tfvars").read_text(encoding="utf-8")
    options = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
    return int(hcl2.loads(text, serialization_options=options)["delivery"]["mode"] == "flux")


FLUX = {env: _flux(env) for env in ENVIRONMENTS}
# + the backup passphrase secret and its reader (the database identity, which backup jobs share)
# + the peering to the CI network where private endpoints are on; staging/prod: + the second
# repository (account, container, lifecycle policy, identity, credential, role, private endpoint,
# diagnostic setting) and its rule group; prod: + the Application Gateway and its subnet, NSG,
# association, public IP, WAF policy, identity, certificate reader and diagnostic setting; + the
# routing add-on's read grant on the ingress certificate, and in dev (self-signed) the
# certificate and the deployer's Certificates Officer grant; + the Flux extension, configuration
# and chart-pull identity (identity, credential, AcrPull) where the environment is delivered by
# Flux
TOTAL_COUNTS = {
    "dev": 61 + PLANNED_RULE_GROUPS["dev"] + GITOPS_PLANNED * FLUX["dev"],
    "staging": 86 + PLANNED_RULE_GROUPS["staging"] + GITOPS_PLANNED * FLUX["staging"],
    "prod": 100 + PLANNED_RULE_GROUPS["prod"] + GITOPS_PLANNED * FLUX["prod"],
}
# Resources whose planned counts differ by environment; everything else is the same everywhere.
EXPECTED_COUNTS: dict[str, dict[str, int]] = {
    "dev": {
        **dict.fromkeys(GITOPS_RESOURCES, FLUX["dev"]),
        "azurerm_storage_account": 1,
        # control plane, kubelet, api, database, backup (+ Flux's chart-pull identity)
        "azurerm_user_assigned_identity": 5 + FLUX["dev"],
        # api: inventory-api + migrations; database: postgresql + backup; backup: backup
        "azurerm_federated_identity_credential": 5 + FLUX["dev"],
        "azurerm_monitor_alert_prometheus_rule_group": PLANNED_RULE_GROUPS["dev"],
        "azurerm_private_endpoint": 0,
        "azurerm_private_dns_zone": 0,
        "azurerm_private_dns_zone_virtual_network_link": 0,
        "azurerm_virtual_network_peering": 0,
        "azurerm_management_lock": 0,
        "azurerm_kubernetes_cluster_node_pool": 2,  # user + spot
        "azurerm_nat_gateway": 0,
        "azurerm_firewall": 0,
        "azurerm_route_table": 0,
        "azurerm_public_ip": 0,
        "azurerm_monitor_diagnostic_setting": 4,
        "azurerm_application_gateway": 0,
        "azurerm_web_application_firewall_policy": 0,
    },
    "staging": {
        **dict.fromkeys(GITOPS_RESOURCES, FLUX["staging"]),
        "azurerm_storage_account": 2,  # + repo2 in the paired region
        # + repo2's identity (it trusts backup), and Flux's chart-pull identity
        "azurerm_user_assigned_identity": 6 + FLUX["staging"],
        "azurerm_federated_identity_credential": 6 + FLUX["staging"],
        "azurerm_monitor_alert_prometheus_rule_group": PLANNED_RULE_GROUPS["staging"],
        "azurerm_private_endpoint": 4,  # vault, registry, backup, repo2
        "azurerm_private_dns_zone": 3,
        "azurerm_private_dns_zone_virtual_network_link": 6,  # own network + the CI network
        "azurerm_virtual_network_peering": 1,  # to the CI network
        "azurerm_management_lock": 0,
        "azurerm_kubernetes_cluster_node_pool": 4,  # user + one database pool per zone
        "azurerm_nat_gateway": 1,
        "azurerm_firewall": 0,
        "azurerm_route_table": 0,
        "azurerm_public_ip": 1,
        "azurerm_monitor_diagnostic_setting": 5,  # + repo2's blob audit
        "azurerm_application_gateway": 0,
        "azurerm_web_application_firewall_policy": 0,
    },
    "prod": {
        **dict.fromkeys(GITOPS_RESOURCES, FLUX["prod"]),
        "azurerm_storage_account": 2,
        # + repo2's, the gateway's (Key Vault certificate), Flux's chart-pull identity
        "azurerm_user_assigned_identity": 7 + FLUX["prod"],
        "azurerm_federated_identity_credential": 6 + FLUX["prod"],
        "azurerm_monitor_alert_prometheus_rule_group": PLANNED_RULE_GROUPS["prod"],
        "azurerm_private_endpoint": 4,
        "azurerm_private_dns_zone": 3,
        "azurerm_private_dns_zone_virtual_network_link": 6,  # own network + the CI network
        "azurerm_virtual_network_peering": 1,  # to the CI network
        "azurerm_management_lock": 1,
        "azurerm_kubernetes_cluster_node_pool": 4,
        "azurerm_nat_gateway": 0,
        "azurerm_firewall": 1,
        "azurerm_route_table": 1,
        "azurerm_public_ip": 2,  # firewall egress, gateway ingress
        # + repo2's blob audit, the firewall's and the gateway's logs
        "azurerm_monitor_diagnostic_setting": 7,
        "azurerm_application_gateway": 1,
        "azurerm_web_application_firewall_policy": 1,
    },
}
COMMON_COUNTS = {
    "azurerm_resource_group": 1,
    "azurerm_kubernetes_cluster": 1,
    "azurerm_container_registry": 1,
    "azurerm_key_vault": 1,
    "azurerm_key_vault_secret": 2,  # database password, backup passphrase (repo2 shares it)
    "azurerm_monitor_metric_alert": 3,
    "azurerm_monitor_scheduled_query_rules_alert_v2": 2,
    "azurerm_resource_policy_assignment": 2,  # restricted pod security, allowed registries
    "azurerm_consumption_budget_resource_group": 2,  # platform and node resource groups
    "azurerm_monitor_action_group": 2,  # critical, warning
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
    "azurerm_firewall": "afw-",
    "azurerm_firewall_policy": "afwp-",
    "azurerm_firewall_policy_rule_collection_group": "rcg-",
    "azurerm_public_ip": "pip-",
    "azurerm_nat_gateway": "ng-",
    "azurerm_route_table": "rt-",
    "azurerm_resource_policy_assignment": "pa-",
    "azurerm_consumption_budget_resource_group": "budget-",
    "azurerm_application_gateway": "agw-",
    "azurerm_web_application_firewall_policy": "waf-",
}
AZURE_MANDATED_NAMES = {"AzureFirewallSubnet"}
GLOBALLY_UNIQUE = ("azurerm_container_registry", "azurerm_key_vault", "azurerm_storage_account")
"""Resource types whose names Azure keeps unique across every subscription."""
FIXED_NAMES = {
    "azurerm_kubernetes_cluster_node_pool": re.compile(r"^[a-z][a-z0-9]{0,8}$"),
    "azurerm_key_vault_secret": re.compile(r"^(database-password|pgbackrest-passphrase)$"),
    # A Key Vault object name; that it is the conventions module's: test_ingress_certificate.py.
    "azurerm_key_vault_certificate": re.compile(r"^[0-9A-Za-z-]{1,127}$"),
    "azurerm_storage_container": re.compile(r"^pgbackrest$"),
    "azurerm_private_dns_zone": re.compile(r"^privatelink\.[a-z.]+$"),
    # <namespace>-<ServiceAccount>: the contract's namespace, or Flux's for its source-controller
    "azurerm_federated_identity_credential": re.compile(r"^(inventory|flux-system)-[a-z0-9-]+$"),
    # Flux's names live in the cluster, not in Azure's namespace: the extension is "flux", the
    # configuration is named after the release it delivers (iac/contract.yaml).
    "azurerm_kubernetes_cluster_extension": re.compile(r"^flux$"),
    "azurerm_kubernetes_flux_configuration": re.compile(f"^{re.escape(contract.load().release)}$"),
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


def test_environments_differ_in_size_by_their_stacks(plans: dict[str, dict[str, Any]]) -> None:
    dev, staging, prod = (len(_resources(plans, env)) for env in ("dev", "staging", "prod"))
    # staging: 3 private endpoints + 3 DNS zones + 3 zone links to its own network and 3 to the
    # CI network + the peering to the CI network, 2 more pools (3 database pools instead of dev's
    # spot pool), NAT gateway + its IP + 2 associations, the second backup repository (8) and its
    # rule group, the synchronous-standby rule group (dev's one member has no standby); dev alone
    # has its self-signed ingress certificate and the deployer's grant.
    sync_groups = len(VALUE_RULE_GROUPS["staging"]) - len(VALUE_RULE_GROUPS["dev"])
    # Flux delivery (extension, configuration, chart-pull identity) where staging has it, not dev.
    gitops = GITOPS_PLANNED * (FLUX["staging"] - FLUX["dev"])
    assert staging - dev == 12 + 1 + 2 + 4 + 8 + REPO2_RULE_GROUPS + sync_groups - 2 + gitops
    # prod: the resource group lock; a firewall (subnet, IP, policy, rules, firewall, route
    # table, association, diagnostic setting) instead of the NAT gateway's 4; an Application
    # Gateway (subnet, NSG, association, IP, WAF policy, identity, certificate reader, gateway,
    # diagnostic setting).
    assert prod - staging == 1 + 8 - 4 + 9 + GITOPS_PLANNED * (FLUX["prod"] - FLUX["staging"])


RULE_GROUP_KEY = re.compile(r'\["([^"]+)"\]$')
"""The rule file group a planned rule group is made from: its for_each key."""


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_patroni_and_pooler_rule_groups_follow_the_values(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    """AKS evaluates the Patroni, synchronous-standby and pooler alerts of exactly the groups the
    environment's values turn on (which figures fill them: tests/contract)."""
    planned = {
        match.group(1)
        for resource in _resources(plans, env, "azurerm_monitor_alert_prometheus_rule_group")
        if (match := RULE_GROUP_KEY.search(resource.address))
    }
    every_value_group = {name for names in VALUE_RULE_GROUPS.values() for name in names}
    assert planned & every_value_group == set(VALUE_RULE_GROUPS[env])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_zones(plans: dict[str, dict[str, Any]], env: str) -> None:
    cluster = _one(plans, env, "azurerm_kubernetes_cluster")
    zones = _tfvars(env)["aks"]["zones"]
    assert sorted(cluster["default_node_pool"][0].get("zones") or []) == sorted(zones)
    for name, pool in _tfvars(env)["aks"]["user_pools"].items():
        planned = _pool(plans, env, name)
        assert sorted(planned.get("zones") or []) == sorted(pool.get("zones", zones)), name


def _pool(plans: dict[str, dict[str, Any]], env: str, name: str) -> dict[str, Any]:
    (pool,) = [
        p.values
        for p in _resources(plans, env, "azurerm_kubernetes_cluster_node_pool")
        if p.values["name"] == name
    ]
    return pool


def test_a_pool_wired_to_other_zones_fails_the_plans_zone_assertion(
    workspace: Workspace, tmp_path: Path
) -> None:
    """The mock plan's zone assertion reads the planned pool, so mis-wiring the zones bites."""
    broken = Workspace(
        source=IAC,
        root=tmp_path / "iac",
        terraform=workspace.terraform,
        plugin_cache=workspace.plugin_cache,
    )
    main = broken.root / PLATFORM / "main.tf"
    wired = "  zones                           = var.aks.zones\n"
    assert wired in main.read_text(encoding="utf-8")
    main.write_text(main.read_text(encoding="utf-8").replace(wired, "  zones = []\n"), "utf-8")
    with pytest.raises(AssertionError, match="The node pools do not use the environment's zones"):
        broken.plan_with_mocks(PLATFORM, "staging")


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
    public = _tfvars(env)["ingress"]["exposure"] == "public_load_balancer"
    # behind the gateway the chart's controller is the only one (at the gateway's backend)
    assert routing["default_nginx_controller"] == ("External" if public else "None")
    assert cluster["automatic_upgrade_channel"] == "patch"
    assert cluster["maintenance_window_auto_upgrade"][0]["frequency"] == "Weekly"


def test_prod_is_private_and_dev_has_public_endpoints(plans: dict[str, dict[str, Any]]) -> None:
    prod_cluster = _one(plans, "prod", "azurerm_kubernetes_cluster")
    assert prod_cluster["private_cluster_enabled"] is True
    assert not prod_cluster.get("api_server_access_profile")
    for resource_type in (
        "azurerm_key_vault",
        "azurerm_container_registry",
        "azurerm_storage_account",  # both backup repositories in prod
    ):
        for env, public in (("prod", False), ("dev", True)):
            planned = _resources(plans, env, resource_type)
            assert planned, (env, resource_type)
            assert {r.values["public_network_access_enabled"] for r in planned} == {public}
    endpoints = _resources(plans, "prod", "azurerm_private_endpoint")
    subresources = sorted(
        e.values["private_service_connection"][0]["subresource_names"][0] for e in endpoints
    )
    assert subresources == ["blob", "blob", "registry", "vault"]


def firewall_gaps(plan: dict[str, Any], ci_ranges: list[str]) -> list[str]:
    """Public endpoints of `plan` that admit more than the CI ranges and the node subnet.

    The cluster's API server must list exactly the CI ranges; Key Vault and the backup account
    must deny by default and allow only those ranges plus the node subnet. The registry is
    reported too: a Standard registry has no firewall, so a public one is open to every
    authenticated caller, and only anonymous pull and the admin user being off stand between.
    """
    gaps = []
    cluster = _only(plan, "azurerm_kubernetes_cluster")
    if not cluster["private_cluster_enabled"]:
        profile = cluster.get("api_server_access_profile") or [{}]
        if sorted(profile[0].get("authorized_ip_ranges") or []) != sorted(ci_ranges):
            gaps.append(f"API server admits {profile[0].get('authorized_ip_ranges')}")
    for resource_type, rules in (
        ("azurerm_key_vault", "network_acls"),
        ("azurerm_storage_account", "network_rules"),
    ):
        for values in [r.values for r in planned_resources(plan) if r.type == resource_type]:
            gaps += _firewall_gaps(resource_type, values, rules, ci_ranges)
    registry = _only(plan, "azurerm_container_registry")
    if registry["public_network_access_enabled"]:
        if registry["anonymous_pull_enabled"] or registry["admin_enabled"]:
            gaps.append("azurerm_container_registry is public and not Entra-only")
        if not registry.get("network_rule_set"):
            gaps.append("azurerm_container_registry is public with no firewall")
    return gaps


def _firewall_gaps(
    resource_type: str, values: dict[str, Any], rules: str, ci_ranges: list[str]
) -> list[str]:
    """One firewalled resource's gaps: none when it has no public endpoint."""
    if not values["public_network_access_enabled"]:
        return []
    gaps = []
    (acl,) = values[rules]
    if acl["default_action"] != "Deny" or sorted(acl["ip_rules"]) != sorted(ci_ranges):
        gaps.append(f"{resource_type} admits {acl['default_action']} / {acl['ip_rules']}")
    if len(acl["virtual_network_subnet_ids"] or []) != 1:
        gaps.append(f"{resource_type} admits subnets {acl['virtual_network_subnet_ids']}")
    return gaps


def _only(plan: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (resource,) = [r for r in planned_resources(plan) if r.type == resource_type]
    return resource.values


def test_dev_endpoints_admit_only_the_ci_ranges_except_the_firewall_less_registry(
    plans: dict[str, dict[str, Any]],
) -> None:
    """dev keeps public endpoints; all but the registry are firewalled to the CI agents. Its
    Standard registry cannot have a firewall: it is public, authenticated callers only."""
    assert _one(plans, "dev", "azurerm_kubernetes_cluster")["private_cluster_enabled"] is False
    assert firewall_gaps(plans["dev"], _tfvars("dev")["ci_ip_ranges"]) == [
        "azurerm_container_registry is public with no firewall"
    ]
    assert _one(plans, "dev", "azurerm_container_registry")["sku"] == "Standard"


def test_an_endpoint_open_beyond_the_ci_ranges_is_a_gap(plans: dict[str, dict[str, Any]]) -> None:
    plan = copy.deepcopy(plans["dev"])
    for change in plan["resource_changes"]:
        after = change["change"].get("after") or {}
        if change["type"] == "azurerm_key_vault":
            after["network_acls"][0]["default_action"] = "Allow"
        if change["type"] == "azurerm_container_registry":
            after["anonymous_pull_enabled"] = True
    gaps = firewall_gaps(plan, _tfvars("dev")["ci_ip_ranges"])
    assert [gap.split(" ", 1)[0] for gap in gaps] == [
        "azurerm_key_vault",
        "azurerm_container_registry",
        "azurerm_container_registry",
    ]


def backup_repositories(env: str) -> dict[str, str]:
    """Module address -> region of each backup repository the environment's tfvars ask for."""
    tfvars = _tfvars(env)
    secondary = tfvars["backup"]["secondary_location"]
    primary = {"module.backup_storage": tfvars["location"]}
    return primary if secondary is None else {**primary, REPO2_MODULE: secondary}


def _in_module(
    plans: dict[str, dict[str, Any]], env: str, module: str, resource_type: str
) -> dict[str, Any]:
    (resource,) = [r for r in _resources(plans, env, resource_type) if r.address.startswith(module)]
    return resource.values


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_backup_storage(plans: dict[str, dict[str, Any]], env: str) -> None:
    """Each repository (repo1, and repo2 in the paired region where the environment has one)
    has the same protection: replication, Entra-only access, versioning, soft delete and the
    write-once window."""
    backup = _tfvars(env)["backup"]
    repositories = backup_repositories(env)
    accounts = _resources(plans, env, "azurerm_storage_account")
    assert sorted(a.address.rsplit(".azurerm_", 1)[0] for a in accounts) == sorted(repositories)
    for module, region in repositories.items():
        account = _in_module(plans, env, module, "azurerm_storage_account")
        assert account["location"] == region
        assert account["account_replication_type"] == backup["replication_type"]
        assert account["shared_access_key_enabled"] is False
        blob = account["blob_properties"][0]
        assert blob["versioning_enabled"] is True
        assert blob["delete_retention_policy"][0]["days"] == backup["soft_delete_days"]
        policy = account["immutability_policy"][0]
        assert policy["period_since_creation_in_days"] == backup["immutability_days"]
        assert account["network_rules"][0]["default_action"] == "Deny"
        assert _in_module(plans, env, module, "azurerm_storage_container")["name"] == "pgbackrest"
        if env == "prod":
            assert account["account_replication_type"] in GEO_REDUNDANT
            assert policy["state"] == "Locked"
        if env == "dev":
            assert account["account_replication_type"] == "LRS"
            assert policy["state"] == "Unlocked"
    roles = [
        r.values["role_definition_name"] for r in _resources(plans, env, "azurerm_role_assignment")
    ]
    assert roles.count("Storage Blob Data Contributor") == len(repositories)
    assert "Storage Account Contributor" not in roles
    assert "Owner" not in roles


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_backup_identity_may_write_only_its_own_container(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    """Least privilege per repository: each repository's module instance grants exactly one
    role, and the module scopes it to its own container for its own identity (the module's
    configuration: ids are unknown until apply)."""
    for module in backup_repositories(env):
        roles = [
            r.values["role_definition_name"]
            for r in _resources(plans, env, "azurerm_role_assignment")
            if r.address.startswith(f"{module}.")
        ]
        assert roles == ["Storage Blob Data Contributor"], module
    (role,) = [
        block["azurerm_role_assignment"]["backup_blob_data"]
        for block in _hcl("modules/backup-storage/main.tf")["resource"]
        if "azurerm_role_assignment" in block
    ]
    assert role["scope"] == "${azurerm_storage_container.backup.id}"
    assert role["principal_id"] == "${azurerm_user_assigned_identity.backup.principal_id}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_second_repository_follows_the_environments_choice(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    """repo2 lives in backup.secondary_location, its identity trusts the backup ServiceAccount
    of the contract, it is reached like repo1 (a private endpoint in the environment's own
    network where repo1 has one), and its outputs carry it, or are null without it."""
    tfvars = _tfvars(env)
    secondary = tfvars["backup"]["secondary_location"]
    outputs = plans[env]["output_changes"]
    if secondary is None:
        assert outputs["backup_repo2_location"]["after"] is None
        assert outputs["backup_repo2_storage_account_name"]["after"] is None
        assert "backup_repo2" not in outputs["workload_identity_subjects"]["after"]
        assert not [r for r in _resources(plans, env) if r.address.startswith(REPO2_MODULE)]
        return
    assert secondary != tfvars["location"]
    assert outputs["backup_repo2_location"]["after"] == secondary
    account = _in_module(plans, env, REPO2_MODULE, "azurerm_storage_account")
    assert outputs["backup_repo2_storage_account_name"]["after"] == account["name"]
    assert (
        _in_module(plans, env, REPO2_MODULE, "azurerm_user_assigned_identity")["location"]
        == secondary
    )
    subject = contract.load().subject("backup")
    credential = _in_module(plans, env, REPO2_MODULE, "azurerm_federated_identity_credential")
    assert credential["subject"] == subject
    assert outputs["workload_identity_subjects"]["after"]["backup_repo2"] == [subject]
    endpoints = [
        r.values
        for r in _resources(plans, env, "azurerm_private_endpoint")
        if r.address.startswith(REPO2_MODULE)
    ]
    if tfvars["private_endpoints_enabled"]:
        (endpoint,) = endpoints
        assert endpoint["location"] == tfvars["location"]  # the environment's own network
        assert account["public_network_access_enabled"] is False
    else:
        assert endpoints == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_the_api_and_database_identities_read_the_password(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    """The vault's secret readers; the gateway's and the routing add-on's identities read the
    ingress certificate's secret only (tests/terraform/test_ingress_certificate.py)."""
    readers = sorted(
        r.address
        for r in _resources(plans, env, "azurerm_role_assignment")
        if r.values["role_definition_name"] == "Key Vault Secrets User"
    )
    gateway = _tfvars(env)["ingress"]["exposure"] == "application_gateway"
    certificate = ["module.ingress_gateway[0].azurerm_role_assignment.certificate_reader"]
    assert readers == sorted(
        [
            'module.key_vault.azurerm_role_assignment.backup_passphrase_readers["database"]',
            'module.key_vault.azurerm_role_assignment.ingress_certificate_readers["app_routing"]',
            'module.key_vault.azurerm_role_assignment.secret_readers["api"]',
            'module.key_vault.azurerm_role_assignment.secret_readers["database"]',
            *(certificate if gateway else []),
        ]
    )


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


def _region_code(location: str) -> str:
    """The conventions module's short code of a region (its region_codes table)."""
    (locals_block,) = _hcl("modules/conventions/main.tf")["locals"]
    return str(locals_block["region_codes"][location])


def _workload(env: str) -> str:
    """The environment's workload: its tfvars' value, else the root's default."""
    (default,) = [
        b["workload"]["default"]
        for b in _hcl(f"{PLATFORM}/variables.tf")["variable"]
        if "workload" in b
    ]
    return str(_tfvars(env).get("workload", default))


def unique_stem(env: str, location: str) -> str:
    """How the conventions module starts globally unique names in `location` after their
    abbreviation: the workload, the environment and region codes of its own tables, then the
    first 4 hex digits of sha256(subscription/workload/environment/location)."""
    tfvars, workload = _tfvars(env), _workload(env)
    (codes,) = _hcl("modules/conventions/main.tf")["locals"]
    seed = "/".join([tfvars["subscription_id"], workload, env, location])
    suffix = hashlib.sha256(seed.encode()).hexdigest()[:4]
    return f"{workload}{codes['environment_codes'][env]}{_region_code(location)}{suffix}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_names_follow_the_convention(plans: dict[str, dict[str, Any]], env: str) -> None:
    """<abbreviation>-<workload>-<env>-<region> (globally unique names: <abbreviation> + the
    unique stem): the environment's region, and the paired region's for what the second
    repository keeps there (its account and identity)."""
    workload, primary = _workload(env), _tfvars(env)["location"]
    repositories = backup_repositories(env)
    wrong = []
    for resource in _resources(plans, env):
        name = resource.values.get("name")
        if not isinstance(name, str):
            continue
        module = resource.address.rsplit(".azurerm_", 1)[0]
        locations = {primary, repositories.get(module, primary)}
        suffixes = {f"{workload}-{env}-{_region_code(location)}" for location in locations}
        if name in AZURE_MANDATED_NAMES:
            ok = True
        elif resource.type in FIXED_NAMES:
            ok = bool(FIXED_NAMES[resource.type].match(name))
        elif resource.type in GLOBALLY_UNIQUE:
            ok = any(
                name.startswith(NAME_PREFIXES[resource.type] + unique_stem(env, location))
                for location in locations
            )
        else:
            ok = any(suffix in name for suffix in suffixes) and name.startswith(
                NAME_PREFIXES.get(resource.type, "")
            )
        if not ok:
            wrong.append(f"{resource.address}: {name}")
    assert wrong == []


def test_globally_unique_names_differ_between_environments(
    plans: dict[str, dict[str, Any]],
) -> None:
    """Across environments and regions: the second repository's account in the paired region
    is global too."""
    for resource_type in GLOBALLY_UNIQUE:
        names = [
            r.values["name"] for env in ENVIRONMENTS for r in _resources(plans, env, resource_type)
        ]
        assert len(names) >= len(ENVIRONMENTS)
        assert len(set(names)) == len(names), names


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_declared_output_is_planned(plans: dict[str, dict[str, Any]], env: str) -> None:
    declared = {name for block in _hcl(f"{PLATFORM}/outputs.tf")["output"] for name in block}
    assert set(plans[env]["output_changes"]) == declared


SECRET = "azurerm_key_vault_secret"
STORED_RANDOMS = ("random_password", "random_string", "random_bytes")
"""random resources whose result Terraform keeps in the state (the ephemeral kind it does not)."""


def password_exposures(plan: dict[str, Any]) -> list[str]:
    """Ways the database password could reach the plan or the state, as sentences.

    The secret must be written only through the write-only `value_wo`: its `value` must be
    neither set nor unknown (an unknown value is computed during apply and then stored in the
    state), and no managed random resource may generate it (`write_only_sources` checks the
    configuration feeds `value_wo` from an ephemeral resource; the plan JSON has no
    configuration).
    """
    problems = []
    changes = plan.get("resource_changes", [])
    problems += [
        f"{change['address']}: a managed {change['type']} keeps its result in the state"
        for change in changes
        if change["type"] in STORED_RANDOMS
    ]
    secrets = [change for change in changes if change["type"] == SECRET]
    if not secrets:
        problems.append(f"no {SECRET} in the plan")
    for change in secrets:
        after = change["change"].get("after") or {}
        unknown = change["change"].get("after_unknown") or {}
        if after.get("value") is not None:
            problems.append(f"{change['address']}: value is in the plan")
        if unknown.get("value"):
            problems.append(
                f"{change['address']}: value is unknown, so apply stores it in the state"
            )
        if after.get("value_wo") is not None or unknown.get("value_wo"):
            problems.append(f"{change['address']}: value_wo is kept in the plan")
    return problems


def write_only_sources(module_tf: str) -> list[str]:
    """Problems with how a module's Key Vault secrets get their value: only through value_wo,
    fed by an ephemeral resource (whose result Terraform never stores)."""
    options = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
    tree = hcl2.loads(module_tf, serialization_options=options)
    problems = []
    for block in tree.get("resource", []):
        for name, body in block.get(SECRET, {}).items():
            if "value" in body:
                problems.append(f"{SECRET}.{name} sets value, which the state keeps")
            source = str(body.get("value_wo", ""))
            if not source.startswith("${ephemeral."):
                problems.append(f"{SECRET}.{name}.value_wo = {source!r} is no ephemeral result")
    return problems


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_database_password_never_appears_in_the_plan(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    assert password_exposures(plans[env]) == []
    (secret,) = (
        r.values for r in _resources(plans, env, SECRET) if r.values["name"] == "database-password"
    )
    assert secret["value_wo_version"] == _tfvars(env)["key_vault"].get(
        "database_password_version", 1
    )


def test_a_password_set_in_the_plan_or_the_state_is_reported(
    plans: dict[str, dict[str, Any]],
) -> None:
    """Broken plans: a value computed at apply, one written in, a stored random_password."""
    plan = copy.deepcopy(plans["dev"])
    (secret,) = [
        c
        for c in plan["resource_changes"]
        if c["type"] == SECRET and c["change"]["after"]["name"] == "database-password"
    ]
    secret["change"].setdefault("after_unknown", {})["value"] = True
    stored = copy.deepcopy(secret)
    stored.update(address="random_password.database", type="random_password")
    plan["resource_changes"].append(stored)
    problems = password_exposures(plan)
    assert [problem.split(": ", 1)[1] for problem in problems] == [
        "a managed random_password keeps its result in the state",
        "value is unknown, so apply stores it in the state",
    ]
    secret["change"]["after"]["value"] = "not-a-real-password"
    assert "value is in the plan" in " ".join(password_exposures(plan))


def test_the_password_reaches_key_vault_only_from_an_ephemeral_resource() -> None:
    source = (IAC / "modules" / "keyvault" / "main.tf").read_text(encoding="utf-8")
    assert write_only_sources(source) == []
    stored = source.replace("ephemeral.random_password.database.result", "var.password")
    assert write_only_sources(stored) == [
        f"{SECRET}.database_password.value_wo = '${{var.password}}' is no ephemeral result"
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


def _backup_with(env: str, **overrides: object) -> str:
    """`-var=backup={...}`: the environment's backup object with `overrides` (JSON literals are
    HCL literals for strings, numbers, booleans and null)."""
    backup = {**_tfvars(env)["backup"], **overrides}
    fields = ", ".join(f"{key} = {json.dumps(value)}" for key, value in backup.items())
    return f"-var=backup={{{fields}}}"


@pytest.mark.parametrize(
    ("secondary", "message"),
    [
        ("location", "must be another region than location"),
        ("swedencentral", "must be the paired region of location"),
    ],
)
def test_a_second_repository_outside_the_paired_region_is_refused(
    workspace: Workspace, plans: dict[str, dict[str, Any]], secondary: str, message: str
) -> None:
    """prod's repo2 moved into prod's own region (a region loss takes both), or into a region
    that is not its pair: the root refuses either before any plan."""
    region = _tfvars("prod")["location"] if secondary == "location" else secondary
    runs = workspace.plan_runs(
        PLATFORM, "prod", extra=(_backup_with("prod", secondary_location=region),)
    )
    run = runs["plan"]
    assert run.status in ("fail", "error")
    assert any(message in d for d in run.diagnostics), run.diagnostics
