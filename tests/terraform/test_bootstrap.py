"""The bootstrap's isolation, read from its plan: each environment's plan and apply identities
reach only that environment's subscription and state container, and the subscriptions are the
ones the environments' own tfvars pin."""

from __future__ import annotations

from typing import Any

import hcl2
import pytest
import yaml

from policies.offline_plan import environment_subscription
from tests.support.tools import REPO_ROOT
from tests.terraform.conftest import ENVIRONMENTS, IAC
from tests.terraform.harness import Workspace, planned_resources

pytestmark = pytest.mark.slow

BOOTSTRAP = "bootstrap"
ACCOUNT_ID = (
    "/subscriptions/00000000-0000-4000-8000-0000000000aa/resourceGroups/rg-inventory-tfstate-weu"
    "/providers/Microsoft.Storage/storageAccounts/stinventorytfstateweu"
)
# The storage account's ID is mocked during the plan, so container scopes are known strings.
PLAN_TEST = f"""
mock_provider "azurerm" {{
  override_during = plan

  mock_resource "azurerm_storage_account" {{
    defaults = {{ id = "{ACCOUNT_ID}" }}
  }}
}}

run "plan" {{
  command = plan
}}
"""
READ_ONLY = {"Reader", "Key Vault Reader", "Storage Blob Data Reader"}


@pytest.fixture(scope="module")
def bootstrap_plan(workspace: Workspace) -> dict[str, Any]:
    workspace.add_test_file(BOOTSTRAP, "plan.tftest.hcl", PLAN_TEST)
    runs = workspace.test(
        BOOTSTRAP, test_filter="plan.tftest.hcl", extra=("-var-file=terraform.tfvars",)
    )
    run = runs["plan"]
    assert run.status == "pass", run.diagnostics
    assert run.plan is not None
    return run.plan


def _bootstrap_tfvars() -> dict[str, Any]:
    text = (IAC / BOOTSTRAP / "terraform.tfvars").read_text(encoding="utf-8")
    options = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
    result: dict[str, Any] = hcl2.loads(text, serialization_options=options)
    return result


def _bootstrap_environments() -> dict[str, str]:
    environments = _bootstrap_tfvars()["environments"]
    return {name: value["subscription_id"] for name, value in environments.items()}


def test_bootstrap_subscriptions_are_the_environments_own() -> None:
    assert _bootstrap_environments() == {
        env: environment_subscription(IAC, env) for env in ENVIRONMENTS
    }


def _grants(plan: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    """Identity key (e.g. prod-apply) -> {(role, scope)} from the planned role assignments."""
    grants: dict[str, set[tuple[str, str]]] = {}
    for resource in planned_resources(plan):
        if resource.type != "azurerm_role_assignment" or "ci_" not in resource.address:
            continue
        identity = resource.address.split('["')[1].split("/")[0].rstrip('"]')
        grants.setdefault(identity, set()).add(
            (resource.values["role_definition_name"], resource.values["scope"])
        )
    return grants


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_identity_reaches_only_its_environment(
    bootstrap_plan: dict[str, Any], env: str
) -> None:
    grants = _grants(bootstrap_plan)
    subscription = f"/subscriptions/{environment_subscription(IAC, env)}"
    container = f"{ACCOUNT_ID}/blobServices/default/containers/tfstate-{env}"
    plan_grants, apply_grants = grants[f"{env}-plan"], grants[f"{env}-apply"]
    assert {scope for _, scope in plan_grants | apply_grants} == {subscription, container}
    assert {role for role, _ in plan_grants} <= READ_ONLY
    assert ("Storage Blob Data Reader", container) in plan_grants
    assert ("Storage Blob Data Contributor", container) in apply_grants
    assert ("Contributor", subscription) in apply_grants


def test_no_ci_identity_has_a_role_on_the_whole_state_account(
    bootstrap_plan: dict[str, Any],
) -> None:
    scopes = {scope for grants in _grants(bootstrap_plan).values() for _, scope in grants}
    assert ACCOUNT_ID not in scopes
    assert len(_grants(bootstrap_plan)) == 2 * len(ENVIRONMENTS)


def test_identities_trust_the_ci_agents_service_account(bootstrap_plan: dict[str, Any]) -> None:
    credentials = [
        r.values
        for r in planned_resources(bootstrap_plan)
        if r.type == "azurerm_federated_identity_credential"
    ]
    assert len(credentials) == 2 * len(ENVIRONMENTS)
    subject = _bootstrap_tfvars()["ci_federation"]["subject"]
    assert {c["subject"] for c in credentials} == {subject}
    agent = yaml.safe_load((REPO_ROOT / "pipelines/jenkins/agent-pod.yaml").read_text("utf-8"))
    assert subject.rsplit(":", 1)[1] == agent["spec"]["serviceAccountName"]
