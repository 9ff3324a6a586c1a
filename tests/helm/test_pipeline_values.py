"""The values file the deploy stage generates from Terraform outputs renders with the real helm.

helm template validates every chart's values.schema.json, so a wrong path or type fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipelines.stages.build import IMAGES
from pipelines.stages.deploy import contract_values, image_values, install_args, values_files
from pipelines.stages.publish import remote_reference
from pipelines.targets.terraform_outputs import OUTPUT_VALUES, write_values_file
from tests.helm.rendering import (
    APP_ROUTING_API,
    MANAGED_PROMETHEUS_API,
    NAMESPACE,
    PLATFORM_API_ARGS,
    RELEASE,
    UMBRELLA,
    Rendered,
    Renderer,
    RenderError,
    containers,
    workloads,
)
from tests.pipeline.terraform_outputs import IDS, load, terraform_output_json
from tests.support.tools import require_tool
from tools.containers.catalog import CATALOG

# What `publish --target azure` records for every image the build stage builds, pushed to the
# registry the Terraform output acr_login_server names.
PUBLISHED = {
    image: remote_reference(IDS["acr_login_server"], CATALOG[image].reference("0a1b2c3d"))
    for image in IMAGES
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    terraform = require_tool("terraform", "make tools")
    work = tmp_path_factory.mktemp("outputs")
    document = terraform_output_json(terraform, work / "tf")
    return write_values_file(work / "terraform-values.yaml", load(document))


def deployed_prod(renderer: Renderer, generated: Path, *apis: str) -> Rendered:
    """The umbrella exactly as `deploy --target azure --env prod` passes it to helm."""
    chart = renderer.chart_dir(UMBRELLA)
    values = values_files(chart, "prod", [generated, contract_values(generated.parent)])
    args = ["template", *install_args(chart, values, image_values(PUBLISHED))]
    args += ["--kube-version", "1.33.0", "--api-versions", MANAGED_PROMETHEUS_API]
    args += PLATFORM_API_ARGS
    for api in apis:
        args += ["--api-versions", api]
    return Rendered(tuple(d for d in yaml.safe_load_all(renderer.run(*args)) if d))


@pytest.fixture(scope="module")
def prod(renderer: Renderer, generated: Path) -> Rendered:
    return deployed_prod(renderer, generated)


def client_ids(rendered: Rendered) -> set[str]:
    return {
        sa["metadata"]["annotations"]["azure.workload.identity/client-id"]
        for sa in rendered.of_kind("ServiceAccount")
        if "azure.workload.identity/client-id" in sa["metadata"].get("annotations", {})
    }


def test_the_identities_reach_the_service_accounts(prod: Rendered) -> None:
    # With backups on, the database pod runs as the backup ServiceAccount (archive-push).
    assert client_ids(prod) == {IDS["api_identity_client_id"], IDS["backup_identity_client_id"]}


def test_the_tenant_and_client_ids_reach_the_key_vault_secret_providers(prod: Rendered) -> None:
    parameters = {
        spc["metadata"]["labels"]["app.kubernetes.io/name"]: spc["spec"]["parameters"]
        for spc in prod.of_kind("SecretProviderClass")
    }
    assert {name: p["clientID"] for name, p in parameters.items()} == {
        "inventory-api": IDS["api_identity_client_id"],
        "postgresql": IDS["database_identity_client_id"],
    }
    assert {p["tenantId"] for p in parameters.values()} == {IDS["tenant_id"]}


def test_the_internal_ingress_address_reaches_the_controllers_load_balancer(
    renderer: Renderer, tmp_path: Path
) -> None:
    """Behind the Application Gateway the output's ingress.private_ip becomes the address of
    prod's own controller's internal load balancer."""
    terraform = require_tool("terraform", "make tools")
    document = terraform_output_json(terraform, tmp_path / "tf", ingress_private_ip="10.30.7.250")
    generated = write_values_file(tmp_path / "terraform-values.yaml", load(document))
    (controller,) = deployed_prod(renderer, generated, APP_ROUTING_API).of_kind(
        "NginxIngressController"
    )
    annotations = controller["spec"]["loadBalancerAnnotations"]
    assert annotations["service.beta.kubernetes.io/azure-load-balancer-ipv4"] == "10.30.7.250"
    assert annotations["service.beta.kubernetes.io/azure-load-balancer-internal"] == "true"


def test_every_built_image_runs_and_nothing_else(prod: Rendered) -> None:
    """Each image the build stage builds reaches a container through deploy's image values."""
    images = {
        container["image"] for workload in workloads(prod) for container in containers(workload)
    }
    assert images == set(PUBLISHED.values())


def test_without_the_generated_file_prod_is_refused(renderer: Renderer) -> None:
    chart = renderer.chart_dir(UMBRELLA)
    with pytest.raises(RenderError, match=r"from (the )?Terraform outputs?"):
        renderer.run(
            *["template", RELEASE, str(chart), "--namespace", NAMESPACE],
            *["--values", str(chart / "values-prod.yaml"), *image_values(PUBLISHED)],
            *["--api-versions", MANAGED_PROMETHEUS_API, *PLATFORM_API_ARGS],
        )


AZURE_NAMES = ("key_vault_name", "acr_login_server", "backup_storage_account_name")
"""Outputs with the Azure names, which no values-<env>.yaml sets (their suffix is Terraform's)."""


def without_registries(arguments: list[str]) -> list[str]:
    """`image_values` arguments minus the registries, so only the generated file could set them."""
    pairs = zip(arguments[::2], arguments[1::2], strict=True)
    return [arg for flag, value in pairs if ".registry=" not in value for arg in (flag, value)]


@pytest.mark.parametrize(
    ("output", "path"), [(output, path) for output in AZURE_NAMES for path in OUTPUT_VALUES[output]]
)
def test_an_azure_name_missing_from_the_generated_file_is_refused_naming_its_output(
    renderer: Renderer, generated: Path, tmp_path: Path, output: str, path: str
) -> None:
    values = yaml.safe_load(generated.read_text(encoding="utf-8"))
    *parents, leaf = path.split(".")
    node = values
    for key in parents:
        node = node[key]
    del node[leaf]
    broken = tmp_path / "terraform-values.yaml"
    broken.write_text(yaml.safe_dump(values), encoding="utf-8")
    chart = renderer.chart_dir(UMBRELLA)
    files = values_files(chart, "prod", [broken, contract_values(tmp_path)])
    args = install_args(chart, files, without_registries(image_values(PUBLISHED)))
    with pytest.raises(RenderError, match=f"the Terraform output {output}"):
        renderer.run(
            "template", *args, "--api-versions", MANAGED_PROMETHEUS_API, *PLATFORM_API_ARGS
        )
