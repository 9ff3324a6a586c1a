"""One set of values (ingress.limits) drives the ingress controller's per-client limits for both
classes the platform uses: nginx annotations on AKS, Traefik Middlewares on the local cluster.

The Middlewares are validated against Traefik's own CRD schema, read from the pinned Traefik
module the local cluster's build compiles (the same file its add-on installs).
"""

from __future__ import annotations

from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no types-jsonschema in the lock yet
import pytest

from tests.helm.rendering import API, AZURE_ENVIRONMENTS, NAMESPACE, Rendered, Renderer
from tests.helm.test_auth_chart import CHART, chart_values
from tools.localcluster import ingress
from tools.localcluster.catalog import TRAEFIK
from tools.toolchain.gobuild import module_source
from tools.toolchain.paths import Layout

ROUTER_MIDDLEWARES = "traefik.ingress.kubernetes.io/router.middlewares"
TRAEFIK_SETS = ["ingress.enabled=true", "ingress.className=traefik"]
UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
"""nginx's size suffixes (proxy-body-size), which ingress.limits.bodySize uses."""


@pytest.fixture(scope="module")
def middleware_schema() -> dict[str, Any]:
    """The openAPIV3Schema of Traefik's Middleware CRD, from the pinned module's source."""
    source = module_source(TRAEFIK.module, TRAEFIK.module_version, Layout.default())
    (crd,) = [
        c for c in ingress.crd_manifests(source) if c["spec"]["names"]["kind"] == "Middleware"
    ]
    (version,) = [v for v in crd["spec"]["versions"] if v["storage"]]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def middlewares(rendered: Rendered) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in rendered.of_kind("Middleware")}


def body_bytes(size: str) -> int:
    unit = size[-1] if size[-1] in UNITS else ""
    return int(size.removesuffix(unit)) * UNITS[unit]


def test_the_local_release_limits_at_traefik_with_the_charts_limits(
    env_manifests: Rendered, env: str
) -> None:
    if env in AZURE_ENVIRONMENTS:
        assert middlewares(env_manifests) == {}
        return
    limits = chart_values()["ingress"]["limits"]
    specs = {
        name.removeprefix(f"{API}-"): m["spec"] for name, m in middlewares(env_manifests).items()
    }
    assert specs == {
        "in-flight": {"inFlightReq": {"amount": limits["connections"]}},
        "rate-limit": {
            "rateLimit": {
                "average": limits["requestsPerSecond"],
                "burst": limits["requestsPerSecond"] * limits["burstMultiplier"],
                "period": "1s",
            }
        },
        "body-size": {
            "buffering": {
                "maxRequestBodyBytes": body_bytes(limits["bodySize"]),
                "memRequestBodyBytes": body_bytes(limits["bodySize"]),
            }
        },
    }


def test_the_router_applies_every_middleware_of_its_namespace(
    env_manifests: Rendered, env: str
) -> None:
    annotations = env_manifests.one("Ingress", API)["metadata"].get("annotations", {})
    if env in AZURE_ENVIRONMENTS:
        assert ROUTER_MIDDLEWARES not in annotations
        return
    refs = annotations[ROUTER_MIDDLEWARES].split(",")
    rendered = middlewares(env_manifests)
    assert refs == [f"{NAMESPACE}-{name}@kubernetescrd" for name in rendered]
    assert {m["metadata"]["namespace"] for m in rendered.values()} == {NAMESPACE}


def test_every_middleware_is_valid_for_traefiks_crd(
    renderer: Renderer, middleware_schema: dict[str, Any]
) -> None:
    rendered = middlewares(renderer.env_render("local"))
    assert len(rendered) == 3
    for middleware in rendered.values():
        jsonschema.validate(middleware, middleware_schema)
        assert len(middleware["spec"]) == 1, "Traefik takes one kind of limit per Middleware"


def test_a_spec_traefik_would_reject_fails_the_schema(middleware_schema: dict[str, Any]) -> None:
    """The schema check bites: a negative rate is what the CRD refuses."""
    broken = {"apiVersion": ingress.CRD_API, "kind": "Middleware", "metadata": {"name": "m"},
              "spec": {"rateLimit": {"average": -1}}}  # fmt: skip
    with pytest.raises(jsonschema.ValidationError, match="minimum"):
        jsonschema.validate(broken, middleware_schema)


def test_without_traefiks_crd_api_nothing_traefik_specific_is_rendered(
    renderer: Renderer,
) -> None:
    rendered = renderer.render(CHART, sets=TRAEFIK_SETS)
    assert middlewares(rendered) == {}
    assert ROUTER_MIDDLEWARES not in rendered.one("Ingress", API)["metadata"].get("annotations", {})


@pytest.mark.parametrize(
    ("size", "expected"), [("64k", 65536), ("1m", 1024**2), ("2g", 2 * 1024**3)]
)
def test_body_size_is_converted_from_nginx_syntax(
    renderer: Renderer, size: str, expected: int
) -> None:
    sets = [*TRAEFIK_SETS, f"ingress.limits.bodySize={size}"]
    rendered = renderer.render(CHART, sets=sets, traefik_crds=True)
    (body,) = [m for name, m in middlewares(rendered).items() if name.endswith("-body-size")]
    assert body["spec"]["buffering"]["maxRequestBodyBytes"] == expected == body_bytes(size)


def test_nginx_classes_get_annotations_and_no_middlewares(renderer: Renderer) -> None:
    for class_name in ("nginx", "webapprouting.kubernetes.azure.com"):
        sets = ["ingress.enabled=true", f"ingress.className={class_name}"]
        rendered = renderer.render(CHART, sets=sets, traefik_crds=True)
        assert middlewares(rendered) == {}
        annotations = rendered.one("Ingress", API)["metadata"]["annotations"]
        assert annotations["nginx.ingress.kubernetes.io/limit-burst-multiplier"] == str(
            chart_values()["ingress"]["limits"]["burstMultiplier"]
        )


@pytest.mark.parametrize("size", ["1mb", "1.5m", "-1"])
def test_a_body_size_neither_controller_reads_is_refused(renderer: Renderer, size: str) -> None:
    message = renderer.render_error(CHART, sets=[*TRAEFIK_SETS, f"ingress.limits.bodySize={size}"])
    assert "/ingress/limits/bodySize" in message
