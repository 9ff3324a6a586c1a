"""Every rendered object validates (strict: unknown fields fail) against the Kubernetes JSON
schemas of each minor version AKS supports, offline, with kubernetes-validate."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest

from pipelines.core.charts import CERT_MANAGER
from tests.helm.rendering import API, Rendered, Renderer
from tests.helm.schemas import CUSTOM_KINDS, validate_all

# Kubernetes minors AKS supports as of this writing (standard support plus the LTS window);
# kubernetes-validate bundles the schemas 1.25-1.37. Revisit when AKS retires or adds one.
AKS_MINORS = ("1.31", "1.32", "1.33", "1.34", "1.35", "1.36")


@pytest.mark.parametrize("minor", AKS_MINORS)
def test_environment_manifests_are_valid(env_manifests: Rendered, minor: str) -> None:
    assert validate_all(env_manifests, minor) == []


@pytest.mark.parametrize("minor", AKS_MINORS)
def test_optional_objects_are_valid(renderer: Renderer, fixtures_dir: Path, minor: str) -> None:
    """Objects the environment files switch off (backup, TLS server, pooler, fixed replicas)."""
    rendered = renderer.render(
        "postgresql",
        values=[fixtures_dir / "backup-enabled.yaml"],
        sets=["backup.local.storageKeySecret=azurite-key", "pooler.enabled=true"],
    )
    api = renderer.render(
        "inventory-api",
        sets=["autoscaling.enabled=false", "replicaCount=2", "ingress.enabled=true"],
    )
    assert validate_all(rendered, minor) + validate_all(api, minor) == []


@pytest.mark.parametrize("minor", AKS_MINORS)
def test_the_cert_manager_release_is_valid(renderer: Renderer, minor: str) -> None:
    """The platform release the deploy stage installs first (its CRDs included)."""
    assert validate_all(renderer.render(CERT_MANAGER), minor) == []


def test_strict_validation_bites(renderer: Renderer) -> None:
    """A misspelt field must fail, or the tests above prove nothing."""
    deploy = dict(renderer.env_render("local").one("Deployment", API))
    broken = {**deploy, "spec": {**deploy["spec"], "replica": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.33.0", strict=True)


def test_only_known_custom_kinds(env_manifests: Rendered) -> None:
    for doc in env_manifests.docs:
        if doc["kind"] in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(doc, "1.33.0", strict=True)  # raises SchemaNotFoundError
