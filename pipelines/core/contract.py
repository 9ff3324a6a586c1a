"""The platform contract (iac/contract.yaml): names Terraform, the charts and the pipeline share.

Terraform decodes the same file (iac/platform), so the ServiceAccounts it federates are the
ones the deploy stage makes the charts render: `chart_values` turns the contract into the values
file the deploy stage passes before the environment's own values, which sets every shared name
in the umbrella chart explicitly instead of leaving it to the release name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CONTRACT_FILE = Path(__file__).resolve().parents[2] / "iac" / "contract.yaml"
"""The one declaration of the shared names."""

VALUES_FILE = "contract-values.yaml"
"""The generated values file, written into the deploy stage's report folder."""
CERT_MANAGER_VALUES_FILE = "cert-manager-contract-values.yaml"
"""The generated values file of the cert-manager release, beside VALUES_FILE."""

SERVICE_ACCOUNT_ROLES = ("api", "migrations", "database", "backup")
SERVICE_ROLES = ("database", "database_headless", "pooler")
RELEASE_KEYS = ("release", "namespace")
"""What each platform release (cert_manager) declares: its release name and namespace."""
SUBCHARTS = ("inventory-api", "postgresql")
NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
"""A DNS-1123 label: namespaces, release names, object names and their prefixes."""
PREFIX = re.compile(r"[a-z0-9][-a-z0-9]*-")
"""A name prefix that ends in a hyphen (what Kubernetes appends to a CronJob's name)."""


class ContractError(ValueError):
    """iac/contract.yaml lacks a name or holds one Kubernetes would refuse."""


@dataclass(frozen=True)
class Contract:
    """The shared names, typed."""

    release: str
    namespace: str
    cert_manager: dict[str, str]
    fullnames: dict[str, str]
    service_accounts: dict[str, str]
    services: dict[str, str]
    backup_job_prefix: str

    @property
    def database_pod(self) -> str:
        """The database StatefulSet's only pod (ordinal 0 of the StatefulSet's name)."""
        return f"{self.fullnames['postgresql']}-0"

    def subject(self, role: str) -> str:
        """The federated-credential subject of the ServiceAccount of `role`."""
        return f"system:serviceaccount:{self.namespace}:{self.service_accounts[role]}"


def _names(document: dict[str, Any], key: str, roles: tuple[str, ...]) -> dict[str, str]:
    section = document.get(key)
    if not isinstance(section, dict) or set(section) != set(roles):
        raise ContractError(f"{key} must name exactly {', '.join(roles)}")
    return {role: _name(section[role], f"{key}.{role}") for role in roles}


def _name(value: object, where: str, pattern: re.Pattern[str] = NAME) -> str:
    """`value` if Kubernetes accepts it where the contract puts it, else ContractError."""
    if not isinstance(value, str) or len(value) > 63 or not pattern.fullmatch(value):
        raise ContractError(f"{where} = {value!r} is not a valid Kubernetes name")
    return value


def parse(document: dict[str, Any]) -> Contract:
    """A Contract from the decoded file, or ContractError naming what to fix."""
    return Contract(
        release=_name(document.get("release"), "release"),
        namespace=_name(document.get("namespace"), "namespace"),
        cert_manager=_names(document, "cert_manager", RELEASE_KEYS),
        fullnames=_names(document, "fullnames", SUBCHARTS),
        service_accounts=_names(document, "service_accounts", SERVICE_ACCOUNT_ROLES),
        services=_names(document, "services", SERVICE_ROLES),
        backup_job_prefix=_name(document.get("backup_job_prefix"), "backup_job_prefix", PREFIX),
    )


def read(path: Path = CONTRACT_FILE) -> Contract:
    """The contract in `path`."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ContractError(f"{path.name} must be a mapping")
    return parse(document)


@cache
def load() -> Contract:
    """The repository's contract (read once per process)."""
    return read()


def chart_values(contract: Contract) -> dict[str, Any]:
    """Umbrella chart values that set every shared name explicitly."""
    accounts = contract.service_accounts
    return {
        "inventory-api": {
            "fullnameOverride": contract.fullnames["inventory-api"],
            "serviceAccount": {"name": accounts["api"]},
            "migrations": {"serviceAccountName": accounts["migrations"]},
            "database": {
                "host": contract.services["database"],
                "pooler": {"host": contract.services["pooler"]},
            },
        },
        "postgresql": {
            "fullnameOverride": contract.fullnames["postgresql"],
            "serviceAccount": {"name": accounts["database"]},
            "backup": {"serviceAccount": {"name": accounts["backup"]}},
        },
    }


def cert_manager_values(contract: Contract) -> dict[str, Any]:
    """cert-manager chart values: it serves the workloads' namespace."""
    return {"servedNamespace": contract.namespace}


def write_values_file(path: Path, contract: Contract) -> Path:
    """Write `chart_values(contract)` as YAML at `path`, under a do-not-edit header."""
    return write_values(path, chart_values(contract))


def write_values(path: Path, values: dict[str, Any]) -> Path:
    """Write chart `values` derived from the contract as YAML at `path`, under a do-not-edit
    header."""
    header = "# Generated by the deploy stage from iac/contract.yaml; do not edit.\n"
    body = yaml.safe_dump(values, sort_keys=True, default_flow_style=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + body, encoding="utf-8")
    return path
