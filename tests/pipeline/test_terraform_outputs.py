"""Terraform outputs -> chart values: the mapping, its failures, and how deploy uses it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.cli import main
from pipelines.stages.build import IMAGES_FILE
from pipelines.targets.registry_login import AUTH_FILE_ENV
from pipelines.targets.terraform_outputs import (
    OPTIONAL_OUTPUT_VALUES,
    OPTIONAL_OUTPUTS,
    OUTPUT_VALUES,
    REGISTRY_OUTPUT,
    MissingOutput,
    chart_values,
    outputs_file,
    parse_output_log,
    write_values_file,
)
from tests.pipeline.terraform_outputs import IDS, load, terraform_output_json
from tests.support.tools import require_tool

CHART_FIXTURES = Path(__file__).resolve().parents[1] / "helm" / "fixtures"
PIPELINE_OUTPUTS = CHART_FIXTURES / "pipeline-outputs.yaml"
REPO2_FIXTURE = CHART_FIXTURES / "backup-repo2.yaml"


@pytest.fixture(scope="module")
def terraform() -> str:
    return require_tool("terraform", "make tools")


@pytest.fixture(scope="module")
def document(terraform: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    return terraform_output_json(terraform, tmp_path_factory.mktemp("tf") / "all")


def leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted path -> value for every non-mapping leaf of `tree`."""
    found: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        found.update(leaves(value, f"{path}.") if isinstance(value, dict) else {path: value})
    return found


def test_every_output_lands_on_its_chart_values(document: str) -> None:
    values = leaves(chart_values(load(document)))
    assert values == {
        "inventory-api.serviceAccount.clientId": IDS["api_identity_client_id"],
        "inventory-api.database.keyVault.tenantId": IDS["tenant_id"],
        "inventory-api.auth.tenantId": IDS["tenant_id"],
        "inventory-api.auth.audience": IDS["api_client_id"],
        "postgresql.auth.keyVault.tenantId": IDS["tenant_id"],
        "postgresql.auth.keyVault.clientId": IDS["database_identity_client_id"],
        "postgresql.backup.serviceAccount.clientId": IDS["backup_identity_client_id"],
        "inventory-api.database.keyVault.name": IDS["key_vault_name"],
        "postgresql.auth.keyVault.name": IDS["key_vault_name"],
        "inventory-api.image.registry": IDS["acr_login_server"],
        "postgresql.image.registry": IDS["acr_login_server"],
        "postgresql.exporter.image.registry": IDS["acr_login_server"],
        "postgresql.pooler.image.registry": IDS["acr_login_server"],
        "postgresql.backup.azure.account": IDS["backup_storage_account_name"],
        "inventory-api.ingress.tls.keyVaultCertificateUri": IDS["ingress_certificate_uri"],
        "postgresql.backup.repo2.azure.account": IDS["backup_repo2_storage_account_name"],
        "postgresql.backup.repo2.clientId": IDS["backup_repo2_identity_client_id"],
    }


def test_generated_paths_are_the_ones_the_chart_fixtures_stand_in_for(document: str) -> None:
    """Every environment's outputs in pipeline-outputs.yaml; the optional second repository's
    in backup-repo2.yaml (the postgresql chart's repo2 fixture), so neither may drift."""
    optional = {path for name in OPTIONAL_OUTPUTS for path in OUTPUT_VALUES[name]}
    fixture = leaves(yaml.safe_load(PIPELINE_OUTPUTS.read_text(encoding="utf-8")))
    repo2 = leaves(yaml.safe_load(REPO2_FIXTURE.read_text(encoding="utf-8")), "postgresql.")
    generated = leaves(chart_values(load(document)))
    assert {path for path in generated if path not in fixture} == optional
    assert {path: (fixture | repo2)[path] for path in generated} == generated


@pytest.mark.parametrize("name", sorted(set(OUTPUT_VALUES) - OPTIONAL_OUTPUTS))
def test_a_missing_output_fails_naming_it_and_its_values(
    name: str, terraform: str, tmp_path: Path
) -> None:
    outputs = load(terraform_output_json(terraform, tmp_path / "tf", omit=name))
    with pytest.raises(MissingOutput) as missing:
        chart_values(outputs)
    assert str(missing.value).startswith(f"terraform output {name} is missing (needed for ")
    assert OUTPUT_VALUES[name][0] in str(missing.value)


@pytest.mark.parametrize("name", sorted(OPTIONAL_OUTPUTS))
def test_an_optional_output_left_null_leaves_its_values_unset(
    name: str, terraform: str, tmp_path: Path
) -> None:
    """An environment without a second backup repository: the output is null (what terraform
    output -json then shows, if anything, comes from the real CLI), and the chart values it
    feeds stay unset (the chart then renders one repository)."""
    outputs = load(terraform_output_json(terraform, tmp_path / "tf", null=name))
    assert (outputs.get(name) or {}).get("value") is None
    values = leaves(chart_values(outputs))
    assert OUTPUT_VALUES[name][0] not in values
    assert len(values) == len(leaves(chart_values({**outputs, name: {"value": IDS[name]}}))) - 1


def test_an_empty_optional_output_is_refused(document: str) -> None:
    outputs = load(document)
    outputs["backup_repo2_identity_client_id"]["value"] = ""
    with pytest.raises(MissingOutput, match="backup_repo2_identity_client_id is not a non-empty"):
        chart_values(outputs)


def test_the_internal_ingress_address_reaches_the_chart_only_where_there_is_one(
    terraform: str, tmp_path: Path
) -> None:
    """Behind an Application Gateway the chart's controller takes ingress.private_ip; with a
    public load balancer the output's null leaves the chart's default."""
    path = OPTIONAL_OUTPUT_VALUES[("ingress", "private_ip")][0]
    gateway = load(
        terraform_output_json(terraform, tmp_path / "gw", ingress_private_ip="10.30.7.250")
    )
    assert leaves(chart_values(gateway))[path] == "10.30.7.250"
    public = load(terraform_output_json(terraform, tmp_path / "lb"))
    assert path not in leaves(chart_values(public))


def test_a_missing_ingress_output_fails_naming_it(terraform: str, tmp_path: Path) -> None:
    outputs = load(terraform_output_json(terraform, tmp_path / "tf", omit="ingress"))
    with pytest.raises(MissingOutput, match=r"terraform output ingress\.private_ip is missing"):
        chart_values(outputs)


def test_an_ingress_address_of_another_kind_is_refused(document: str) -> None:
    outputs = load(document)
    outputs["ingress"]["value"]["private_ip"] = ""
    with pytest.raises(MissingOutput, match="is neither null nor a non-empty string"):
        chart_values(outputs)


def test_an_empty_output_is_refused(document: str) -> None:
    outputs = load(document)
    outputs["tenant_id"]["value"] = ""
    with pytest.raises(MissingOutput, match="terraform output tenant_id is not a non-empty string"):
        chart_values(outputs)


def test_the_values_file_is_yaml_of_the_mapping(document: str, tmp_path: Path) -> None:
    path = write_values_file(tmp_path / "values.yaml", load(document))
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Generated by the deploy stage")
    assert yaml.safe_load(text) == chart_values(load(document))


def test_infra_apply_reads_the_document_back_from_its_step_log(
    document: str, tmp_path: Path
) -> None:
    log = tmp_path / "terraform-output.log"
    log.write_text(f"$ terraform -chdir=iac/platform output -json\n{document}")
    assert parse_output_log(log) == load(document)
    log.write_text("$ terraform output -json\nError: no state\n")
    with pytest.raises(ValueError, match=r"no '\{' in the output"):
        parse_output_log(log)


def azure_deploy(root: Path, outputs: dict[str, Any] | None) -> Path:
    """A repository and reports where deploy gets as far as the Terraform outputs."""
    chart = root / "helm-charts" / "inventory-platform"
    chart.mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: inventory-platform\nversion: 0.1.0\n")
    (chart / "values-prod.yaml").write_text("{}\n")
    reports = root / "reports"
    (reports / "publish").mkdir(parents=True)
    (reports / "publish" / "published.json").write_text(json.dumps({"images": {}}))
    if outputs is not None:
        (reports / "infra-apply").mkdir()
        (reports / "infra-apply" / outputs_file("prod")).write_text(json.dumps(outputs))
    return reports


def test_azure_deploy_without_saved_outputs_reads_the_state_and_names_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = azure_deploy(tmp_path, None)
    status = main(
        ["deploy", "--target", "azure", "--env", "prod", "--reports", str(reports)], root=tmp_path
    )
    assert status != 0
    out = capsys.readouterr().out
    assert "no reports/infra-apply/terraform-outputs-prod.json: reading the prod outputs" in out
    assert "iac/environments/prod is missing" in out


def test_azure_deploy_fails_naming_the_missing_output(
    document: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = load(document)
    del outputs["backup_identity_client_id"]
    reports = azure_deploy(tmp_path, outputs)
    status = main(
        ["deploy", "--target", "azure", "--env", "prod", "--reports", str(reports)], root=tmp_path
    )
    assert status != 0
    assert (
        "terraform output backup_identity_client_id is missing "
        "(needed for postgresql.backup.serviceAccount.clientId)"
    ) in capsys.readouterr().out
    assert not (reports / "deploy" / "terraform-values.yaml").exists()


def test_azure_publish_fails_naming_the_missing_registry_output(
    document: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The registry's name ends in Terraform's suffix, so publish takes it from the outputs."""
    outputs = load(document)
    del outputs[REGISTRY_OUTPUT]
    reports = azure_deploy(tmp_path, outputs)
    (reports / "build").mkdir()
    built = {"tag": "0a1b2c3d", "images": {"api": "localhost/inventory-api:0a1b2c3d"}}
    (reports / "build" / IMAGES_FILE).write_text(json.dumps(built), encoding="utf-8")
    status = main(
        ["publish", "--target", "azure", "--env", "prod", "--reports", str(reports)], root=tmp_path
    )
    assert status != 0
    assert (
        f"terraform output {REGISTRY_OUTPUT} is missing (needed for publish --target azure)"
    ) in capsys.readouterr().out
    assert not (reports / "publish" / "published.json").exists()


def test_azure_publish_fails_without_the_auth_file_jenkins_logs_podman_in_to(
    document: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """podman and helm read one login on Azure: the file REGISTRY_AUTH_FILE names."""
    reports = azure_deploy(tmp_path, load(document))
    (reports / "build").mkdir()
    built = {"tag": "0a1b2c3d", "images": {"api": "localhost/inventory-api:0a1b2c3d"}}
    (reports / "build" / IMAGES_FILE).write_text(json.dumps(built), encoding="utf-8")
    argv = ["publish", "--target", "azure", "--env", "prod", "--reports", str(reports)]
    monkeypatch.delenv(AUTH_FILE_ENV, raising=False)
    assert main(argv, root=tmp_path) != 0
    assert f"{AUTH_FILE_ENV} names no auth file (unset): Jenkins logs podman in" in (
        capsys.readouterr().out
    )
    monkeypatch.setenv(AUTH_FILE_ENV, str(tmp_path / "absent.json"))
    assert main(argv, root=tmp_path) != 0
    assert "absent.json): Jenkins logs podman in" in capsys.readouterr().out
    assert not (reports / "publish" / "published.json").exists()
