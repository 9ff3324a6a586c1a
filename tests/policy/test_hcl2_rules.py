"""Every python-hcl2 rule passes on the real iac/ and bites on a copy broken in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from policies.findings import Status
from policies.hcl2.engine import HclParseError, load_project, run_rules
from policies.hcl2.rules import RULES
from tests.policy.conftest import FIXTURES, IAC

RULES_BY_ID = {rule.id: rule for rule in RULES}


@dataclass(frozen=True)
class Breakage:
    """Replace `old` by `new` in `file` (delete it if new is None); `rule` must report `message`."""

    rule: str
    file: str
    old: str
    new: str | None
    message: str
    line: int | None = None


BREAKAGES = [
    Breakage(
        "INV_HCL_001",
        "platform/versions.tf",
        'version = "= 5.2.0"',
        'version = "~> 5.2"',
        "root pins provider 'azurerm' loosely",
        5,
    ),
    Breakage(
        "INV_HCL_001",
        "modules/acr/versions.tf",
        '">= 5.0.0, < 6.0.0"',
        '">= 5.0.0"',
        "has no upper bound",
    ),
    Breakage(
        "INV_HCL_001",
        "modules/network/versions.tf",
        'required_version = ">= 1.9.0, < 2.0.0"',
        "",
        "no required_version",
    ),
    Breakage(
        "INV_HCL_001",
        "modules/keyvault/versions.tf",
        "    random = {",
        "    randomx = {",
        "provider 'random' is used but not in required_providers",
    ),
    Breakage(
        "INV_HCL_002",
        "platform/main.tf",
        '"../modules/network"',
        '"git::https://example.org/network.git"',
        "is not pinned to a tag or commit",
    ),
    Breakage(
        "INV_HCL_002",
        "platform/main.tf",
        '"../modules/acr"',
        '"example/acr/azurerm"',
        "needs an exact version",
    ),
    Breakage(
        "INV_HCL_002",
        "platform/main.tf",
        '"../modules/acr"',
        '"../modules/registry"',
        "does not exist",
    ),
    Breakage(
        "INV_HCL_003",
        "platform/backend.tf",
        "use_azuread_auth = true",
        "use_azuread_auth = false",
        "must set use_azuread_auth = true",
    ),
    Breakage(
        "INV_HCL_003",
        "platform/backend.tf",
        'backend "azurerm"',
        'backend "local"',
        "backend 'local' is not azurerm",
    ),
    Breakage(
        "INV_HCL_003",
        "environments/staging/backend.hcl",
        "use_azuread_auth     = true",
        'access_key = "${env}"',
        "must not set access_key",
    ),
    Breakage(
        "INV_HCL_003",
        "environments/staging/backend.hcl",
        'container_name       = "tfstate-staging"',
        "",
        "does not set container_name",
    ),
    Breakage(
        "INV_HCL_003",
        "environments/staging/backend.hcl",
        'container_name       = "tfstate-staging"\n'
        'key                  = "inventory/staging.tfstate"',
        'container_name       = "tfstate-dev"\nkey                  = "inventory/dev.tfstate"',
        "points at the same state as environments/dev/backend.hcl",
        5,
    ),
    Breakage(
        "INV_HCL_003",
        "platform/backend.tf",
        '  backend "azurerm" {\n    use_azuread_auth = true\n  }\n',
        "",
        "no backend declared",
    ),
    Breakage(
        "INV_HCL_004",
        "modules/acr/variables.tf",
        '  description = "Home region of the registry."\n',
        "",
        "variable has no description",
    ),
    Breakage(
        "INV_HCL_004",
        "modules/acr/variables.tf",
        "  type        = number\n",
        "",
        "variable has no type",
    ),
    Breakage(
        "INV_HCL_005",
        "modules/acr/outputs.tf",
        '  description = "Resource ID of the registry."\n',
        "",
        "output has no description",
    ),
    Breakage(
        "INV_HCL_006",
        "environments/dev/terraform.tfvars",
        'owner       = "platform-team@example.org"',
        'owner = "platform-team@example.org"\nadmin_password = "Sup3r-s3cret!"',
        "'admin_password' is set to a literal",
    ),
    Breakage(
        "INV_HCL_006",
        "environments/dev/terraform.tfvars",
        'cost_center = "CC-1001"',
        'cost_center = "CC-1001"\nnote = "Server=db;Password=hunter22;"',
        "looks like a password in a connection string",
    ),
    Breakage(
        "INV_HCL_006",
        "modules/keyvault/variables.tf",
        'variable "tenant_id" {',
        'variable "database_password" {\n  type        = string\n  description = "x"\n'
        '  default     = "changeme-123"\n}\n\nvariable "tenant_id" {',
        "secret variable has a literal default",
    ),
    Breakage(
        "INV_HCL_007",
        "platform/main.tf",
        "locals {",
        'resource "azurerm_resource_group" "extra" {\n'
        '  name     = "rg-extra"\n  location = "westeurope"\n}\n\nlocals {',
        "'resource' declared in the platform root",
    ),
    Breakage(
        "INV_HCL_008",
        "environments/staging/main.tf",
        "",
        'module "extra" {\n  source = "../../modules/conventions"\n}\n',
        "main.tf in an environment folder: Terraform code lives in platform/",
    ),
    Breakage(
        "INV_HCL_008",
        "environments/dev/terraform.tfvars",
        "private_endpoints_enabled = false",
        "private_endpoint_enabled = false",
        "sets 'private_endpoint_enabled', which platform/ does not declare",
        19,
    ),
    Breakage(
        "INV_HCL_008",
        "environments/staging/terraform.tfvars",
        'location    = "westeurope"\n',
        "",
        "does not set 'location', required by platform/",
    ),
    Breakage(
        "INV_HCL_008",
        "environments/prod/terraform.tfvars",
        'environment = "prod"',
        'environment = "staging"',
        'must set environment = "prod"',
    ),
    Breakage(
        "INV_HCL_008", "environments/prod/backend.hcl", "", None, "environment has no backend.hcl"
    ),
    Breakage(
        "INV_HCL_009",
        "modules/acr/main.tf",
        'resource "azurerm_container_registry" "this"',
        'resource "azurerm_container_registry" "Registry"',
        "resource name 'Registry' is not snake_case",
    ),
    Breakage("INV_HCL_009", "modules/acr/README.md", "", None, "module has no README.md"),
    Breakage(
        "INV_HCL_010",
        "environments/prod/terraform.tfvars",
        'replication_type           = "RAGRS"',
        'replication_type           = "LRS"',
        "backup.replication_type must be GRS",
    ),
    Breakage(
        "INV_HCL_010",
        "environments/prod/terraform.tfvars",
        'zones                   = ["1", "2", "3"]',
        'zones                   = ["1"]',
        "aks.zones must be",
    ),
    Breakage(
        "INV_HCL_010",
        "environments/prod/terraform.tfvars",
        "private_endpoints_enabled = true",
        "private_endpoints_enabled = false",
        "private_endpoints_enabled must be true",
    ),
    Breakage(
        "INV_HCL_010",
        "environments/prod/terraform.tfvars",
        'mode                 = "firewall"',
        'mode                 = "nat_gateway"',
        'egress.mode must be "firewall"',
    ),
    Breakage(
        "INV_HCL_010",
        "environments/prod/terraform.tfvars",
        'effect = "Deny"',
        'effect = "Audit"',
        'cluster_policy.effect must be "Deny"',
    ),
    Breakage(
        "INV_HCL_010",
        "environments/prod/terraform.tfvars",
        'exposure   = "application_gateway"',
        'exposure   = "public_load_balancer"',
        'ingress.exposure must be "application_gateway"',
    ),
    Breakage(
        "INV_HCL_010",
        "environments/prod/terraform.tfvars",
        'waf_mode         = "Prevention"',
        'waf_mode         = "Detection"',
        'ingress.gateway.waf_mode must be "Prevention"',
    ),
    Breakage(
        "INV_HCL_011",
        "environments/prod/terraform.tfvars",
        'sku_tier                = "Standard"',
        'sku_tier                = "Free"',
        "aks.sku_tier is 'Free'; prod needs Standard or Premium",
    ),
    Breakage(
        "INV_HCL_011",
        "environments/staging/terraform.tfvars",
        'sku_tier                = "Standard"',
        'sku_tier                = "Free"',
        "aks.sku_tier is 'Free'; staging needs Standard or Premium",
    ),
]


def _break(root: Path, breakage: Breakage) -> None:
    path = root / breakage.file
    if breakage.new is None:
        path.unlink()
        return
    text = path.read_text(encoding="utf-8") if path.exists() else ""  # "" + new: a new file
    assert breakage.old in text, f"fixture drift: {breakage.old!r} not in {breakage.file}"
    path.write_text(text.replace(breakage.old, breakage.new, 1), encoding="utf-8")


def test_real_iac_satisfies_every_rule() -> None:
    findings = run_rules(load_project(IAC), RULES)
    failures = [
        f"{f.rule_id} {f.location}: {f.message}" for f in findings if f.status is Status.FAILED
    ]
    assert failures == []
    assert {f.rule_id for f in findings} == set(RULES_BY_ID)


def test_minimal_fixture_satisfies_every_rule() -> None:
    findings = run_rules(load_project(FIXTURES / "minimal"), RULES)
    assert [f for f in findings if f.status is Status.FAILED] == []


def test_every_rule_has_a_failing_fixture() -> None:
    assert {b.rule for b in BREAKAGES} == set(RULES_BY_ID)


@pytest.mark.parametrize(
    "breakage", BREAKAGES, ids=[f"{b.rule}-{b.message[:40]}" for b in BREAKAGES]
)
def test_rule_reports_the_broken_place(iac_copy: Path, breakage: Breakage) -> None:
    _break(iac_copy, breakage)
    rule = RULES_BY_ID[breakage.rule]
    violations = list(rule.check(load_project(iac_copy)))
    matching = [v for v in violations if breakage.message in v.message]
    assert matching, (
        f"{breakage.rule} did not report {breakage.message!r}; "
        f"got {[v.message for v in violations]}"
    )
    assert matching[0].file.startswith(str(Path(breakage.file).parent))
    if breakage.line is not None:
        assert matching[0].line == breakage.line


def test_unparseable_file_is_named_in_the_error(tmp_path: Path) -> None:
    (tmp_path / "broken.tf").write_text('resource "x" "y" {\n  name = \n', encoding="utf-8")
    with pytest.raises(HclParseError, match=r"broken\.tf: not valid HCL"):
        load_project(tmp_path)
