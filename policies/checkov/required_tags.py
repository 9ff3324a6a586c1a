"""CKV_INV_101: every taggable resource carries the project's required tags.

Tags are computed once (the conventions module) and passed down as `var.tags`, which checkov
cannot resolve through modules. So the check accepts a reference to the standard tag set
(`var.tags`, `local.tags`, `module.conventions.tags`) and, for literal maps, requires the keys.
"""

from __future__ import annotations

import re
from typing import Any

from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

REQUIRED_TAGS = ("environment", "owner", "cost-center", "managed-by")
STANDARD_TAG_REFERENCE = re.compile(
    r"^(\$\{)?(var\.tags|local\.tags|module\.conventions\.tags)\}?$"
)

TAGGABLE = (
    "azurerm_resource_group",
    "azurerm_virtual_network",
    "azurerm_network_security_group",
    "azurerm_private_dns_zone",
    "azurerm_private_dns_zone_virtual_network_link",
    "azurerm_private_endpoint",
    "azurerm_kubernetes_cluster",
    "azurerm_kubernetes_cluster_node_pool",
    "azurerm_container_registry",
    "azurerm_key_vault",
    "azurerm_key_vault_secret",
    "azurerm_storage_account",
    "azurerm_user_assigned_identity",
    "azurerm_log_analytics_workspace",
    "azurerm_monitor_workspace",
    "azurerm_monitor_action_group",
    "azurerm_monitor_metric_alert",
    "azurerm_monitor_scheduled_query_rules_alert_v2",
    "azurerm_monitor_data_collection_endpoint",
    "azurerm_monitor_data_collection_rule",
)


class RequiredTags(BaseResourceCheck):  # type: ignore[misc]  # checkov lives in its own venv (untyped here)
    """Fail when tags are missing, lack a required key, or bypass the standard tag set."""

    def __init__(self) -> None:
        super().__init__(
            name="Taggable resources carry environment, owner, cost-center and managed-by tags",
            id="CKV_INV_101",
            categories=[CheckCategories.CONVENTION],
            supported_resources=TAGGABLE,
            guideline="policies/README.md#ckv_inv_101",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["tags"]
        values = conf.get("tags")
        if not values or values[0] is None:
            return CheckResult.FAILED
        tags = values[0]
        if isinstance(tags, dict):
            return (
                CheckResult.PASSED
                if all(key in tags for key in REQUIRED_TAGS)
                else CheckResult.FAILED
            )
        if isinstance(tags, str) and STANDARD_TAG_REFERENCE.match(tags.strip()):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = RequiredTags()
