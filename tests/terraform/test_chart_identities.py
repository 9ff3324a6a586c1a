"""Cross-layer: the ServiceAccounts the Helm charts use in Azure match the federated credentials
Terraform plans, per environment.

The umbrella chart is rendered with the real helm for each Azure environment, as configured
(backups on) and with backups switched off (the fallback), with one distinct
client id per identity output, as the pipeline would pass them. Every ServiceAccount annotated
with `azure.workload.identity/client-id`, and every ServiceAccount whose pods mount a Key Vault
secret through the CSI driver (the SecretProviderClass names the identity in `clientID`), must
be a federated subject of that identity in the plan, and the plan must federate nothing else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from tests.helm.rendering import (
    AZURE_ENVIRONMENTS,
    NAMESPACE,
    UMBRELLA,
    Rendered,
    Renderer,
    pod_spec,
    workloads,
)
from tests.terraform.conftest import BACKUP_OFF, IAC, PLATFORM
from tests.terraform.harness import planned_resources

pytestmark = pytest.mark.slow

CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
CSI_DRIVER = "secrets-store.csi.k8s.io"
SUBJECTS_OUTPUT = "workload_identity_subjects"
# Identity key (the Terraform output `<key>_identity_client_id`) -> the chart value it feeds,
# and a distinct client id the test passes there so a render tells the identities apart.
CHART_VALUES: dict[str, tuple[tuple[str, ...], str]] = {
    "api": (
        ("inventory-api", "serviceAccount", "clientId"),
        "00000000-0000-4000-8000-00000000000a",
    ),
    "database": (
        ("postgresql", "auth", "keyVault", "clientId"),
        "00000000-0000-4000-8000-00000000000d",
    ),
    "backup": (
        ("postgresql", "backup", "serviceAccount", "clientId"),
        "00000000-0000-4000-8000-00000000000b",
    ),
}
# Where each client id output must come from: the identity whose credentials are listed under
# the same key of the subjects output (the plan leaves ids unknown, so this is read from HCL).
CLIENT_ID_SOURCES = {
    "api": 'module.workload_identity.client_ids["api"]',
    "database": 'module.workload_identity.client_ids["database"]',
    "backup": "module.backup_storage.identity_client_id",
}

Use = tuple[str, str]  # (identity key, federated subject)


def _nested(path: tuple[str, ...], value: object) -> dict[str, Any]:
    tree: dict[str, Any] = {path[-1]: value}
    for key in reversed(path[:-1]):
        tree = {key: tree}
    return tree


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def identity_values() -> dict[str, Any]:
    """The pipeline's identity values, one distinct client id per Terraform identity output."""
    values: dict[str, Any] = {}
    for path, client_id in CHART_VALUES.values():
        values = _merge(values, _nested(path, client_id))
    return values


def subject(service_account: str, namespace: str = NAMESPACE) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def chart_identity_uses(rendered: Rendered) -> tuple[set[Use], list[str]]:
    """(identity, subject) pairs the rendered chart needs, and client ids no output supplies."""
    key_of = {client_id: key for key, (_, client_id) in CHART_VALUES.items()}
    uses: set[Use] = set()
    unknown: list[str] = []

    def need(client_id: str, service_account: str, where: str) -> None:
        if client_id in key_of:
            uses.add((key_of[client_id], subject(service_account)))
        else:
            unknown.append(f"{where}: client id {client_id!r} is no Terraform identity output")

    for account in rendered.of_kind("ServiceAccount"):
        annotations = account["metadata"].get("annotations") or {}
        if CLIENT_ID_ANNOTATION in annotations:
            name = account["metadata"]["name"]
            need(str(annotations[CLIENT_ID_ANNOTATION]), name, f"ServiceAccount/{name}")
    provider_classes = {
        spc["metadata"]["name"]: spc for spc in rendered.of_kind("SecretProviderClass")
    }
    for workload in workloads(rendered):
        pod = pod_spec(workload)
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        for volume in pod.get("volumes", []):
            csi = volume.get("csi") or {}
            if csi.get("driver") != CSI_DRIVER:
                continue
            spc_name = csi["volumeAttributes"]["secretProviderClass"]
            spc = provider_classes.get(spc_name)
            if spc is None:
                unknown.append(f"{where}: SecretProviderClass {spc_name} is not rendered")
                continue
            client_id = str(spc["spec"]["parameters"].get("clientID", ""))
            need(client_id, pod.get("serviceAccountName", "default"), f"{where} via {spc_name}")
    return uses, unknown


def planned_identity_subjects(plan: dict[str, Any]) -> set[Use]:
    """(identity, subject) pairs the plan federates, from the environment's subjects output.

    The output must agree with the planned credential resources (same subjects, same number),
    and every identity key must have its `<key>_identity_client_id` output for the pipeline.
    """
    outputs = plan["output_changes"]
    by_identity: dict[str, list[str]] = outputs[SUBJECTS_OUTPUT]["after"]
    from_output = Counter(s for subjects in by_identity.values() for s in subjects)
    from_resources = Counter(
        str(r.values["subject"])
        for r in planned_resources(plan)
        if r.type == "azurerm_federated_identity_credential"
    )
    assert from_output == from_resources, f"{SUBJECTS_OUTPUT} disagrees with the credentials"
    missing = sorted(f"{key}_identity_client_id" for key in by_identity)
    assert [name for name in missing if name not in outputs] == []
    return {(key, s) for key, subjects in by_identity.items() for s in subjects}


def drift(chart: Iterable[Use], planned: Iterable[Use]) -> list[str]:
    """Human-readable differences between what the charts use and what Terraform federates."""
    chart_set, planned_set = set(chart), set(planned)
    return [
        *(
            f"chart uses {s} with the {k} identity: no federated credential"
            for k, s in sorted(chart_set - planned_set)
        ),
        *(
            f"{k} identity federates {s}: no chart uses it"
            for k, s in sorted(planned_set - chart_set)
        ),
    ]


@pytest.fixture(scope="module")
def values_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("identity-values")
    files = {"identities": identity_values(), "backup-off": BACKUP_OFF}
    paths = {}
    for name, values in files.items():
        paths[name] = directory / f"{name}.yaml"
        paths[name].write_text(yaml.safe_dump(values), encoding="utf-8")
    return paths


def _chart_uses(renderer: Renderer, env: str, values_files: dict[str, Path]) -> set[Use]:
    uses: set[Use] = set()
    for extra in ([], [values_files["backup-off"]]):
        rendered = renderer.render(
            UMBRELLA, env, values=[values_files["identities"], *extra], monitoring_crds=True
        )
        found, unknown = chart_identity_uses(rendered)
        assert unknown == []
        uses |= found
    return uses


@pytest.mark.parametrize("env", AZURE_ENVIRONMENTS)
def test_every_chart_service_account_is_federated_and_nothing_else(
    chart_renderer: Renderer,
    values_files: dict[str, Path],
    plans: dict[str, dict[str, Any]],
    env: str,
) -> None:
    chart = _chart_uses(chart_renderer, env, values_files)
    planned = planned_identity_subjects(plans[env])
    assert drift(chart, planned) == []
    # The mapping the charts and Terraform agreed on (and why the database identity trusts the
    # backup ServiceAccount: with backups on, the database pod and backup jobs run under it).
    assert chart == {
        ("api", subject("inventory-api")),
        ("api", subject("inventory-api-migrations")),
        ("database", subject("inventory-postgresql")),
        ("database", subject("inventory-postgresql-backup")),
        ("backup", subject("inventory-postgresql-backup")),
    }


def test_each_client_id_output_names_its_own_identity() -> None:
    options = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
    text = (IAC / PLATFORM / "outputs.tf").read_text(encoding="utf-8")
    outputs = {
        name: block[name]["value"]
        for block in hcl2.loads(text, serialization_options=options)["output"]
        for name in block
    }
    sources = {key: outputs.get(f"{key}_identity_client_id") for key in CLIENT_ID_SOURCES}
    assert sources == {key: "${" + source + "}" for key, source in CLIENT_ID_SOURCES.items()}


def test_a_renamed_service_account_is_reported_both_ways() -> None:
    chart = {("api", subject("inventory-api")), ("api", subject("inventory-api-migrations"))}
    planned = {("api", subject("inventory-api")), ("api", subject("inventory-api-migration"))}
    assert drift(chart, planned) == [
        "chart uses system:serviceaccount:inventory:inventory-api-migrations with the api "
        "identity: no federated credential",
        "api identity federates system:serviceaccount:inventory:inventory-api-migration: "
        "no chart uses it",
    ]


def test_the_wrong_identity_for_a_service_account_is_drift() -> None:
    chart = {("database", subject("inventory-postgresql"))}
    planned = {("api", subject("inventory-postgresql"))}
    assert len(drift(chart, planned)) == 2


def test_a_client_id_no_output_supplies_is_reported() -> None:
    rendered = Rendered(
        (
            {
                "kind": "ServiceAccount",
                "metadata": {"name": "stray", "annotations": {CLIENT_ID_ANNOTATION: "f" * 8}},
            },
        )
    )
    uses, unknown = chart_identity_uses(rendered)
    assert uses == set()
    assert unknown == ["ServiceAccount/stray: client id 'ffffffff' is no Terraform identity output"]
