"""GitOps delivery in the plan: Flux where an environment's tfvars choose it, nothing where not.

`delivery.mode = "flux"` plans the microsoft.flux extension and one Flux configuration that
reconciles gitops/<environment> of the given repository on the environment branch
deploy/<environment> (where the deploy stage's promotion commits go), pruning what leaves it;
`push` plans neither (the deploy stage installs the release). Flux's source-controller pulls
the charts with an identity of its own, federated with its ServiceAccount, allowed AcrPull only.
The root refuses a flux mode without a repository or on another branch, a push mode with a
repository, and any other mode.
What the reconciled HelmRelease must agree with: tests/contract/test_gitops.py.
"""

from __future__ import annotations

import re
from typing import Any

import hcl2
import pytest

from pipelines.core import contract
from tests.terraform.conftest import ENVIRONMENTS, IAC, PLATFORM
from tests.terraform.harness import PlannedResource, Workspace, planned_resources

pytestmark = pytest.mark.slow

MODULE = "modules/gitops"
EXTENSION = "azurerm_kubernetes_cluster_extension"
CONFIGURATION = "azurerm_kubernetes_flux_configuration"
IDENTITY = "azurerm_user_assigned_identity"
FEDERATED = "azurerm_federated_identity_credential"
ROLE = "azurerm_role_assignment"
DEFAULT_BRANCH = re.compile(r'branch\s*=\s*optional\(string,\s*"([^"]+)"\)')
"""The branch default in the type of the root's delivery variable."""


def _hcl(relative: str) -> dict[str, Any]:
    text = (IAC / relative).read_text(encoding="utf-8")
    options = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
    result: dict[str, Any] = hcl2.loads(text, serialization_options=options)
    return result


def delivery(env: str) -> dict[str, Any]:
    """The environment's delivery object as its tfvars set it, the root's defaults filled in
    (repository_url null, branch the default its type declares)."""
    (declared,) = [
        b["delivery"] for b in _hcl(f"{PLATFORM}/variables.tf")["variable"] if "delivery" in b
    ]
    (branch,) = DEFAULT_BRANCH.findall(str(declared["type"]))
    chosen = dict(_hcl(f"environments/{env}/terraform.tfvars")["delivery"])
    return {"repository_url": None, "branch": branch, **chosen}


def extension_default() -> dict[str, Any]:
    """The module's default extension choice (its variables.tf)."""
    (declared,) = [
        b["extension"] for b in _hcl(f"{MODULE}/variables.tf")["variable"] if "extension" in b
    ]
    return dict(declared["default"])


def _gitops(plan: dict[str, Any]) -> list[PlannedResource]:
    return [r for r in planned_resources(plan) if r.type in (EXTENSION, CONFIGURATION)]


FLUX_ENVIRONMENTS = tuple(env for env in ENVIRONMENTS if delivery(env)["mode"] == "flux")
PUSH_ENVIRONMENTS = tuple(env for env in ENVIRONMENTS if delivery(env)["mode"] == "push")


def test_dev_pushes_and_staging_and_prod_use_flux() -> None:
    assert (PUSH_ENVIRONMENTS, FLUX_ENVIRONMENTS) == (("dev",), ("prod", "staging"))


@pytest.mark.parametrize("env", FLUX_ENVIRONMENTS)
def test_flux_environments_plan_the_extension_and_their_folder(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    resources = _gitops(plans[env])
    (extension,) = [r.values for r in resources if r.type == EXTENSION]
    (configuration,) = [r.values for r in resources if r.type == CONFIGURATION]
    assert extension["extension_type"] == "microsoft.flux"
    assert {k: extension.get(k) for k in ("release_train", "version")} == {
        "release_train": None,
        **extension_default(),
    }
    assert (configuration["scope"], configuration["namespace"]) == ("cluster", "flux-system")
    assert configuration["name"] == contract.load().release
    (source,) = configuration["git_repository"]
    wanted = delivery(env)
    assert (source["url"], source["reference_type"], source["reference_value"]) == (
        wanted["repository_url"],
        "branch",
        wanted["branch"],
    )
    (kustomization,) = configuration["kustomizations"]
    assert kustomization["path"] == f"gitops/{env}"
    assert kustomization["garbage_collection_enabled"] is True
    outputs = plans[env]["output_changes"]
    assert outputs["delivery_mode"]["after"] == "flux"
    assert outputs["flux_configuration_name"]["after"] == configuration["name"]
    assert outputs["flux_delivery"]["after"] == {
        "repository_url": source["url"],
        "branch": source["reference_value"],
        "path": kustomization["path"],
        "namespace": configuration["namespace"],
    }


@pytest.mark.parametrize("env", PUSH_ENVIRONMENTS)
def test_push_environments_plan_no_flux(plans: dict[str, dict[str, Any]], env: str) -> None:
    assert _gitops(plans[env]) == []
    outputs = plans[env]["output_changes"]
    assert outputs["delivery_mode"]["after"] == "push"
    assert outputs["flux_configuration_name"].get("after") is None
    assert outputs["flux_delivery"].get("after") is None


def test_the_configuration_waits_for_the_extension_and_the_pull_identity() -> None:
    """Flux's CRDs come with the extension: a configuration applied before it fails; its first
    chart pull fails without the federation and the role."""
    (resource,) = [r for r in _hcl(f"{MODULE}/main.tf")["resource"] if CONFIGURATION in r]
    depends_on = resource[CONFIGURATION]["this"]["depends_on"]
    assert depends_on == [
        f"${{{EXTENSION}.flux}}",
        "${module.source_identity}",
        f"${{{ROLE}.chart_pull}}",
    ]


def _module_locals() -> dict[str, Any]:
    (declared,) = _hcl(f"{MODULE}/main.tf")["locals"]
    return dict(declared)


def _in_module(plan: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        r.values
        for r in planned_resources(plan)
        if r.type == kind and r.address.startswith("module.gitops[0].")
    ]


def _declared(relative: str, kind: str, name: str) -> dict[str, Any]:
    """A block of the configuration as written (the plan leaves ids and scopes unknown)."""
    section = "module" if kind == "module" else "resource"
    (block,) = [b[name] if kind == "module" else b[kind][name]
                for b in _hcl(relative)[section]
                if (name in b if kind == "module" else name in b.get(kind, {}))]  # fmt: skip
    return dict(block)


@pytest.mark.parametrize("env", FLUX_ENVIRONMENTS)
def test_source_controller_pulls_the_charts_with_an_identity_that_may_only_pull(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    plan = plans[env]
    (configuration,) = _in_module(plan, CONFIGURATION)
    (credential,) = _in_module(plan, FEDERATED)
    account = _module_locals()["source_controller"]
    assert credential["subject"] == f"system:serviceaccount:{configuration['namespace']}:{account}"
    assert credential["audience"] == ["api://AzureADTokenExchange"]
    assert [role["role_definition_name"] for role in _in_module(plan, ROLE)] == ["AcrPull"]
    (extension,) = _in_module(plan, EXTENSION)
    assert extension["configuration_settings"]["workloadIdentity.enable"] == "true"
    # what the plan knows only after apply, as written: the extension runs as this identity,
    # whose role is on the registry publish pushes the charts to (the nodes' image registry)
    settings = _declared(f"{MODULE}/main.tf", EXTENSION, "flux")["configuration_settings"]
    identity = _module_locals()["identity"]
    assert settings["workloadIdentity.azureClientId"] == (
        "${module.source_identity.client_ids[local.identity]}"
    )
    assert _declared(f"{MODULE}/main.tf", ROLE, "chart_pull")["principal_id"] == (
        "${module.source_identity.principal_ids[local.identity]}"
    )
    (named,) = _in_module(plan, IDENTITY)
    assert named["name"].endswith(f"-{identity}")
    role = _declared(f"{MODULE}/main.tf", ROLE, "chart_pull")
    assert role["scope"] == "${var.source_identity.registry_id}"
    call = _declared(f"{PLATFORM}/main.tf", "module", "gitops")
    assert call["source_identity"]["registry_id"] == "${module.acr.id}"


@pytest.mark.parametrize("env", PUSH_ENVIRONMENTS)
def test_push_environments_plan_no_flux_identity(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    assert [r for r in planned_resources(plans[env]) if r.address.startswith("module.gitops")] == []


URL = "https://github.com/example-org/inventory-platform"


@pytest.mark.parametrize(
    ("env", "value", "message"),
    [
        ("staging", '{ mode = "flux" }', "delivery.mode flux needs repository_url"),
        ("dev", f'{{ mode = "push", repository_url = "{URL}" }}', "delivery.mode push takes no"),
        ("dev", '{ mode = "pull" }', "delivery.mode must be push or flux"),
        (
            "prod",
            f'{{ mode = "flux", repository_url = "{URL}", branch = "main" }}',
            "delivery.branch of a flux environment must be deploy/<environment>",
        ),
        (
            "prod",
            f'{{ mode = "flux", repository_url = "{URL}", branch = "deploy/staging" }}',
            "delivery.branch of a flux environment must be deploy/<environment>",
        ),
    ],
    ids=["flux-without-url", "push-with-url", "unknown-mode", "flux-on-main", "others-branch"],
)
def test_a_bad_delivery_is_refused_with_its_message(
    workspace: Workspace, plans: dict[str, dict[str, Any]], env: str, value: str, message: str
) -> None:
    """After `plans`, so the root's copy is initialised and its plan test file in place."""
    run = workspace.plan_runs(PLATFORM, env, extra=(f"-var=delivery={value}",))["plan"]
    assert run.status in ("fail", "error")
    assert any(message in d for d in run.diagnostics), run.diagnostics
