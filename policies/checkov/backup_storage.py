"""CKV_INV_102: database backup storage is immutable, versioned, soft-deleting and Entra-ID only.

A backup account is one whose address or name mentions "backup"/"bak" or that declares an
immutability policy. Geo-redundancy in prod is asserted on the prod tfvars by hcl2 rule
INV_HCL_009 and by the module's own validation, because checkov does not resolve module inputs.
"""

from __future__ import annotations

import re
from typing import Any

from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

BACKUP_HINT = re.compile(r"backup|bak", re.IGNORECASE)
LOCAL_ONLY_REPLICATION = ("LRS", "ZRS")


def _first(conf: dict[str, Any], key: str) -> Any:
    value = conf.get(key)
    return value[0] if isinstance(value, list) and value else value


class BackupStorageProtected(BaseResourceCheck):  # type: ignore[misc]  # checkov lives in its own venv (untyped here)
    """Fail a backup account without immutability, versioning, soft delete, or with shared keys."""

    def __init__(self) -> None:
        super().__init__(
            name="Backup storage is immutable, versioned, soft-deleting and accepts only Entra ID",
            id="CKV_INV_102",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=("azurerm_storage_account",),
            guideline="policies/README.md#ckv_inv_102",
        )
        self.severity = Severities[BcSeverities.HIGH]

    @staticmethod
    def _is_backup_account(conf: dict[str, Any]) -> bool:
        address = str(conf.get("__address__", ""))
        name = str(_first(conf, "name") or "")
        return bool(
            BACKUP_HINT.search(address)
            or BACKUP_HINT.search(name)
            or conf.get("immutability_policy")
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        if not self._is_backup_account(conf):
            return CheckResult.UNKNOWN
        self.evaluated_keys = [
            "immutability_policy",
            "blob_properties/[0]/versioning_enabled",
            "blob_properties/[0]/delete_retention_policy",
            "shared_access_key_enabled",
        ]
        policy = _first(conf, "immutability_policy")
        if not isinstance(policy, dict) or _first(policy, "state") in ("Disabled", None):
            return CheckResult.FAILED
        blob = _first(conf, "blob_properties")
        if not isinstance(blob, dict) or _first(blob, "versioning_enabled") is not True:
            return CheckResult.FAILED
        if not blob.get("delete_retention_policy"):
            return CheckResult.FAILED
        if _first(conf, "shared_access_key_enabled") is not False:
            return CheckResult.FAILED
        return CheckResult.PASSED


check = BackupStorageProtected()
