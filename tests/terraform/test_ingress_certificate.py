"""The one ingress TLS certificate per environment: in Key Vault (imported, or self-signed where
the environment asks), read through its secret by the application routing add-on's identity only,
and named to the chart by the versionless secret URI output."""

from __future__ import annotations

from typing import Any

import pytest

from tests.terraform.conftest import ENVIRONMENTS, PLATFORM
from tests.terraform.harness import Workspace
from tests.terraform.test_plan import _hcl, _resources, _tfvars

pytestmark = pytest.mark.slow

SECRETS_USER = "Key Vault Secrets User"
READERS = "module.key_vault.azurerm_role_assignment.ingress_certificate_readers"
ADD_ON_IDENTITY = "module.aks.web_app_routing_identity"
DEPLOYER_OFFICER = "module.key_vault.azurerm_role_assignment.deployer_certificates_officer[0]"
CERTIFICATE = "azurerm_key_vault_certificate"
SERVER_AUTH = "1.3.6.1.5.5.7.3.1"


def _certificate_settings(env: str) -> dict[str, Any]:
    """The environment's ingress.certificate, with the root's default where it sets none."""
    settings: dict[str, Any] = _tfvars(env)["ingress"].get("certificate", {"source": "imported"})
    return settings


def _convention_name() -> str:
    """The certificate's name as the conventions module decides it."""
    (output,) = [o for o in _hcl("modules/conventions/outputs.tf")["output"] if "names" in o]
    return str(output["names"]["value"]["ingress_certificate"])


def _output(plan: dict[str, Any], name: str) -> dict[str, Any]:
    change: dict[str, Any] = plan["output_changes"][name]
    return change


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_add_on_alone_reads_the_certificate_through_its_secret(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    plan = plans[env]
    name = _output(plan, "ingress_certificate_name")["after"]
    assert name == _convention_name()
    readers = [
        r
        for r in _resources(plans, env, "azurerm_role_assignment")
        if r.address.startswith(READERS)
    ]
    assert [r.address for r in readers] == [f'{READERS}["app_routing"]']
    (reader,) = readers
    assert reader.values["role_definition_name"] == SECRETS_USER
    assert reader.values["principal_type"] == "ServicePrincipal"
    scope = reader.values.get("scope")  # the vault's ID is unknown until apply in an offline plan
    assert scope is None or scope.endswith(f"/secrets/{name}"), scope
    (key_vault,) = [
        m["key_vault"] for m in _hcl(f"{PLATFORM}/main.tf")["module"] if "key_vault" in m
    ]
    readers_by_role = key_vault["ingress_certificate_reader_principal_ids"]
    assert readers_by_role == {"app_routing": f"${{{ADD_ON_IDENTITY}.object_id}}"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_uri_output_is_the_certificates_versionless_secret(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    change = _output(plans[env], "ingress_certificate_uri")
    name = _output(plans[env], "ingress_certificate_name")["after"]
    if change.get("after_unknown") is True:  # offline: the vault's URI comes from Azure
        return
    assert change["after"].startswith("https://")
    assert change["after"].endswith(f".vault.azure.net/secrets/{name}")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_key_vault_issues_the_certificate_only_where_the_environment_asks(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    settings = _certificate_settings(env)
    issued = [r.values for r in _resources(plans, env, CERTIFICATE)]
    officers = [r for r in _resources(plans, env) if r.address == DEPLOYER_OFFICER]
    if settings["source"] == "imported":
        assert (issued, officers) == ([], [])
        return
    (certificate,) = issued
    assert certificate["name"] == _output(plans[env], "ingress_certificate_name")["after"]
    (policy,) = certificate["certificate_policy"]
    (x509,) = policy["x509_certificate_properties"]
    (names,) = x509["subject_alternative_names"]
    assert sorted(names["dns_names"]) == sorted(settings["dns_names"])
    assert x509["subject"] == f"CN={settings['dns_names'][0]}"
    assert x509["extended_key_usage"] == [SERVER_AUTH]
    assert policy["issuer_parameters"] == [{"name": "Self"}]
    assert [a["action"][0]["action_type"] for a in policy["lifetime_action"]] == ["AutoRenew"]
    (officer,) = officers
    assert officer.values["role_definition_name"] == "Key Vault Certificates Officer"


@pytest.mark.parametrize(
    ("certificate", "message"),
    [
        ('{ source = "self_signed" }', "or self_signed with dns_names"),
        ('{ source = "acme" }', "ingress.certificate.source must be imported"),
        (
            '{ source = "imported", dns_names = ["inventory.example.org"] }',
            "(the certificate is imported into Key Vault before the first apply; no dns_names)",
        ),
    ],
    ids=["self-signed-for-no-host", "unknown-source", "imported-with-names"],
)
def test_a_broken_certificate_setting_is_refused(
    workspace: Workspace, certificate: str, message: str
) -> None:
    """dev's values with one broken ingress.certificate: the root refuses the plan."""
    ingress = f'{{ exposure = "public_load_balancer", certificate = {certificate} }}'
    run = workspace.plan_runs(PLATFORM, "dev", extra=(f"-var=ingress={ingress}",))["plan"]
    assert run.status in ("fail", "error")
    assert any(message in d for d in run.diagnostics), run.diagnostics
