"""The API's HPA behaviour: `autoscaling.behavior` is rendered as given, nothing by default (so
Kubernetes' defaults hold), and the local environment's shorter scale-down window comes from
its values file; the schema refuses what the autoscaling/v2 API would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm.rendering import API, CHARTS_SRC, UMBRELLA, Rendered, Renderer

BEHAVIOR = {
    "scaleUp": {
        "selectPolicy": "Max",
        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 30}],
    },
    "scaleDown": {"stabilizationWindowSeconds": 30},
}


def _values_file(tmp_path: Path, behavior: dict[str, Any]) -> Path:
    path = tmp_path / "behavior.yaml"
    path.write_text(yaml.safe_dump({"autoscaling": {"behavior": behavior}}), encoding="utf-8")
    return path


def _hpa_spec(rendered: Rendered) -> dict[str, Any]:
    spec: dict[str, Any] = rendered.one("HorizontalPodAutoscaler", API)["spec"]
    return spec


def _env_behavior(env: str) -> Any:
    values = yaml.safe_load((CHARTS_SRC / UMBRELLA / f"values-{env}.yaml").read_text("utf-8"))
    return values.get("inventory-api", {}).get("autoscaling", {}).get("behavior")


def test_by_default_no_behavior_is_rendered(renderer: Renderer) -> None:
    assert "behavior" not in _hpa_spec(renderer.render("inventory-api"))


def test_a_behavior_is_rendered_as_given(renderer: Renderer, tmp_path: Path) -> None:
    rendered = renderer.render("inventory-api", values=[_values_file(tmp_path, BEHAVIOR)])
    assert _hpa_spec(rendered)["behavior"] == BEHAVIOR


def test_each_environment_renders_its_values_files_behavior(
    env_manifests: Rendered, env: str
) -> None:
    expected = _env_behavior(env)
    assert _hpa_spec(env_manifests).get("behavior") == expected
    if env == "local":  # the smoke suite waits for a scale-in there
        assert expected["scaleDown"]["stabilizationWindowSeconds"] < 300


@pytest.mark.parametrize(
    ("behavior", "where"),
    [
        ({"scaleDown": {"stabilisationWindowSeconds": 30}}, "/autoscaling/behavior/scaleDown"),
        ({"scaleDown": {"stabilizationWindowSeconds": 7200}}, "stabilizationWindowSeconds"),
        ({"scaleUp": {"policies": [{"type": "Cores", "value": 1, "periodSeconds": 15}]}}, "type"),
        ({"scaleUp": {"policies": [{"type": "Pods", "value": 1}]}}, "periodSeconds"),
        ({"scaleUp": {"selectPolicy": "Always"}}, "selectPolicy"),
        ({"scaleSideways": {}}, "/autoscaling/behavior"),
    ],
)
def test_the_schema_refuses_what_the_api_would(
    renderer: Renderer, tmp_path: Path, behavior: dict[str, Any], where: str
) -> None:
    message = renderer.render_error("inventory-api", values=[_values_file(tmp_path, behavior)])
    assert where in message
