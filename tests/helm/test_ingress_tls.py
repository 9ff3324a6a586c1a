"""Ingress TLS: on the AKS application routing controllers the certificate comes from Key Vault
(the Ingress names its secret URI, the add-on loads it into keyvault-<Ingress name>); any other
controller serves an existing Secret. An Azure environment with TLS on and no URI is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.targets.terraform_outputs import OUTPUT_VALUES
from tests.helm.rendering import API, AZURE_ENVIRONMENTS, FIXTURES, UMBRELLA, Renderer, env_apis

KEYVAULT_URI = "kubernetes.azure.com/tls-cert-keyvault-uri"
URI = "https://kv-inventorydevweu0a1b.vault.azure.net/secrets/ingress-tls"
(URI_VALUE,) = OUTPUT_VALUES["ingress_certificate_uri"]
URI_PATH = URI_VALUE.removeprefix("inventory-api.")
APP_ROUTING = [
    "ingress.enabled=true",
    "ingress.className=webapprouting.kubernetes.azure.com",
    "ingress.hosts[0].host=api.example.org",
    "ingress.hosts[0].paths[0]=/api/",
    "ingress.tls.enabled=true",
]
INTERNAL = [
    *APP_ROUTING[:1],
    "ingress.className=inventory-internal",
    "ingress.internalLoadBalancer.address=10.30.7.250",
    *APP_ROUTING[2:],
]


@pytest.mark.parametrize("sets", [APP_ROUTING, INTERNAL], ids=["add-on-class", "own-controller"])
def test_the_ingress_names_the_key_vault_certificate(renderer: Renderer, sets: list[str]) -> None:
    rendered = renderer.render(
        "inventory-api", sets=[*sets, f"{URI_PATH}={URI}"], app_routing_crds=True
    )
    ingress = rendered.one("Ingress", API)
    assert ingress["metadata"]["annotations"][KEYVAULT_URI] == URI
    assert ingress["spec"]["tls"] == [
        {"secretName": f"keyvault-{API}", "hosts": ["api.example.org"]}
    ]


@pytest.mark.parametrize("sets", [APP_ROUTING, INTERNAL], ids=["add-on-class", "own-controller"])
def test_tls_on_app_routing_without_the_uri_is_refused(renderer: Renderer, sets: list[str]) -> None:
    message = renderer.render_error("inventory-api", sets=sets, app_routing_crds=True)
    assert "ingress.tls.keyVaultCertificateUri: TLS is on and class" in message
    assert "the Terraform output ingress_certificate_uri" in message


def test_another_controller_serves_the_named_secret_without_key_vault(renderer: Renderer) -> None:
    sets = [*APP_ROUTING, "ingress.className=traefik", "ingress.tls.secretName=api-tls"]
    ingress = renderer.render("inventory-api", sets=sets).one("Ingress", API)
    assert KEYVAULT_URI not in (ingress["metadata"].get("annotations") or {})
    assert ingress["spec"]["tls"] == [{"secretName": "api-tls", "hosts": ["api.example.org"]}]
    message = renderer.render_error("inventory-api", sets=sets[:-1])
    assert "ingress.tls.secretName: TLS is on and class traefik" in message


def test_without_tls_the_ingress_names_no_certificate(renderer: Renderer) -> None:
    sets = [*APP_ROUTING[:-1], f"{URI_PATH}={URI}"]
    ingress = renderer.render("inventory-api", sets=sets).one("Ingress", API)
    assert "tls" not in ingress["spec"]
    assert KEYVAULT_URI not in (ingress["metadata"].get("annotations") or {})


@pytest.mark.parametrize(
    "uri",
    [
        "https://kv-x.vault.azure.net/certificates/ingress-tls/0123abcd",
        "http://kv-x.vault.azure.net/secrets/ingress-tls",
        "kv-x/ingress-tls",
    ],
    ids=["versioned-certificate", "plain-http", "no-uri"],
)
def test_a_uri_other_than_a_versionless_secret_is_refused(renderer: Renderer, uri: str) -> None:
    message = renderer.render_error("inventory-api", sets=[*APP_ROUTING, f"{URI_PATH}={uri}"])
    assert "at '/ingress/tls/keyVaultCertificateUri'" in message


def _pipeline_outputs() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(
        (FIXTURES / "pipeline-outputs.yaml").read_text(encoding="utf-8")
    )
    return document


@pytest.mark.parametrize("env", AZURE_ENVIRONMENTS)
def test_every_azure_environment_serves_the_pipelines_certificate(
    renderer: Renderer, env: str
) -> None:
    """Each environment as deployed: TLS on, the URI only from the pipeline's outputs."""
    expected = _pipeline_outputs()["inventory-api"]["ingress"]["tls"]["keyVaultCertificateUri"]
    (ingress,) = renderer.env_render(env).of_kind("Ingress")
    assert ingress["metadata"]["annotations"][KEYVAULT_URI] == expected
    assert not [k for k in ingress["metadata"]["annotations"] if k.startswith("cert-manager.io/")]


@pytest.mark.parametrize("env", AZURE_ENVIRONMENTS)
def test_an_azure_environment_without_the_pipelines_uri_is_refused(
    renderer: Renderer, env: str, tmp_path: Path
) -> None:
    """The environment's values and every pipeline output but the certificate's URI."""
    outputs = _pipeline_outputs()
    del outputs["inventory-api"]["ingress"]
    without = tmp_path / "pipeline-outputs.yaml"
    without.write_text(yaml.safe_dump(outputs), encoding="utf-8")
    values = [renderer.chart_dir(UMBRELLA) / f"values-{env}.yaml", without]
    own = FIXTURES / f"pipeline-outputs-{env}.yaml"
    values += [own] if own.is_file() else []
    apis = env_apis(env)
    apis["app_routing_crds"] = True  # every AKS cluster runs app routing
    message = renderer.render_error(UMBRELLA, values=values, **apis)
    assert "ingress.tls.keyVaultCertificateUri: TLS is on" in message
