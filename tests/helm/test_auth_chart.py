"""Authentication, rate limits and the public edge as rendered: the chart hands the API settings
the API's own validation accepts, and the public Ingress never routes /metrics."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from inventory_api.auth.settings import AuthSettings, load_auth_settings
from inventory_api.routes import ROUTES

from pipelines.targets import local_issuer
from tests.helm.rendering import (
    API,
    AZURE_ENVIRONMENTS,
    CHARTS_SRC,
    FIXTURES,
    Rendered,
    Renderer,
)

CHART = "inventory-api"
NGINX_LIMITS = {
    "nginx.ingress.kubernetes.io/limit-rps": "requestsPerSecond",
    "nginx.ingress.kubernetes.io/limit-burst-multiplier": "burstMultiplier",
    "nginx.ingress.kubernetes.io/limit-connections": "connections",
    "nginx.ingress.kubernetes.io/proxy-body-size": "bodySize",
}


def chart_values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((CHARTS_SRC / CHART / "values.yaml").read_text())
    return values


def container_env(rendered: Rendered) -> dict[str, str]:
    """The API container's environment as rendered."""
    deployment = rendered.one("Deployment", API)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {item["name"]: item["value"] for item in container["env"] if "value" in item}


def routed(rendered: Rendered, path: str) -> bool:
    """Whether the API's Ingress routes `path` (Prefix semantics, element by element)."""
    prefixes = [
        p["path"].rstrip("/")
        for ingress in rendered.of_kind("Ingress")
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    ]
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


def test_chart_role_names_are_the_apis_defaults() -> None:
    roles = chart_values()["auth"]["roles"]
    assert (roles["read"], roles["write"]) == (AuthSettings.read_role, AuthSettings.write_role)


def test_every_environment_hands_the_api_settings_it_accepts(
    env_manifests: Rendered, env: str
) -> None:
    settings = load_auth_settings(container_env(env_manifests))  # the API's own validation
    assert settings.enabled
    assert settings.rate_limit_per_second == chart_values()["rateLimit"]["requestsPerSecond"]
    if env not in AZURE_ENVIRONMENTS:  # the local target trusts the local token issuer
        assert (settings.issuer, settings.jwks_url) == (local_issuer.ISSUER, local_issuer.JWKS_URL)
        assert settings.audiences == (local_issuer.AUDIENCE,)
        return
    ids = yaml.safe_load((FIXTURES / "pipeline-outputs.yaml").read_text())[CHART]["auth"]
    assert settings.issuer == f"https://login.microsoftonline.com/{ids['tenantId']}/v2.0"
    assert settings.jwks_url.startswith("https://login.microsoftonline.com/" + ids["tenantId"])
    assert settings.audiences == (ids["audience"],)


def test_the_public_ingress_serves_the_api_but_never_metrics(env_manifests: Rendered) -> None:
    for route in ROUTES:
        path = route.path.replace("{id}", "1")
        assert routed(env_manifests, path) == (path != "/metrics"), path


def test_azure_ingresses_have_tls_and_controller_limits(env_manifests: Rendered, env: str) -> None:
    if env not in AZURE_ENVIRONMENTS:
        return
    ingress = env_manifests.one("Ingress", API)
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    assert hosts <= {h for tls in ingress["spec"]["tls"] for h in tls["hosts"]}
    limits = chart_values()["ingress"]["limits"]
    annotations = ingress["metadata"]["annotations"]
    assert {key: annotations[key] for key in NGINX_LIMITS} == {
        key: str(limits[name]) for key, name in NGINX_LIMITS.items()
    }


def test_keys_egress_reaches_the_issuer_of_each_environment(
    env_manifests: Rendered, env: str
) -> None:
    """Entra ID's public addresses on Azure; on local only the local token issuer's pods."""
    egress = env_manifests.one("NetworkPolicy", API)["spec"]["egress"]
    keys = chart_values()["auth"]["keysEgress"]
    if env not in AZURE_ENVIRONMENTS:
        keys = local_issuer.chart_values()[CHART]["auth"]["keysEgress"]
    assert {"to": keys["to"], "ports": [{"port": keys["port"], "protocol": "TCP"}]} in egress


def test_keys_egress_only_where_tokens_are_checked(renderer: Renderer) -> None:
    off = renderer.render(CHART, sets=["networkPolicy.enabled=true"])
    assert load_auth_settings(container_env(off)).enabled is False
    egress = off.one("NetworkPolicy", API)["spec"]["egress"]
    assert all("ipBlock" not in peer for rule in egress for peer in rule["to"])


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["ingress.enabled=true", "ingress.hosts[0].host=a.example", "ingress.hosts[0].paths[0]=/"],
         'ingress path "/" would route /metrics publicly'),
        (["ingress.enabled=true", "ingress.hosts[0].host=a.example",
          "ingress.hosts[0].paths[0]=/metrics/"], "would route /metrics publicly"),
        (["auth.mode=jwt", "auth.tenantId=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"],
         "auth.mode=jwt needs auth.audience"),
        (["auth.mode=jwt", "auth.audience=api"], "auth.mode=jwt needs auth.tenantId"),
        (["auth.mode=jwt", "auth.audience=api", "auth.issuer=http://issuer",
          "auth.jwksUrl=http://issuer/keys"], "set auth.allowHttpJwks only"),
        (["auth.mode=maybe"], "/auth/mode"),
        (["auth.tenantId=contoso"], "/auth/tenantId"),
        (["extraEnv[0].name=AUTH_MODE", "extraEnv[0].value=off"], "extraEnv"),
        (["extraEnv[0].name=RATE_LIMIT_PER_SECOND", "extraEnv[0].value=0"], "extraEnv"),
    ],
)  # fmt: skip
def test_unsafe_auth_and_edge_values_are_refused(
    renderer: Renderer, sets: list[str], message: str
) -> None:
    assert message in renderer.render_error(CHART, sets=sets)
