"""Render an environment exactly as `deploy --target azure --env <env>` installs it.

Every argument comes from the pipeline's own functions: the releases in install order
(`releases`: cert-manager, then the umbrella), each one's namespace and values-file order
(`install_args`, `values_files`), the values file generated from Terraform outputs
(`terraform_values`) and the one that sets the contract's names (`contract_values`), and the
image settings (`image_values`) of the references `publish` pushes (`remote_reference`). The
Terraform outputs are the environment's planned outputs, so the Azure names (Key Vault, registry,
backup storage account) reach the render only from them, as in the deploy stage; outputs Azure
only knows after apply (client ids, the registry's login server) get stand-ins that follow
Azure's format.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipelines.core.charts import UMBRELLA
from pipelines.stages.build import CERT_MANAGER_IMAGE, IMAGES
from pipelines.stages.deploy import (
    Release,
    cert_manager_values,
    contract_values,
    install_args,
    releases,
    terraform_values,
)
from pipelines.stages.publish import remote_reference
from tests.contract.capabilities import Capabilities, capabilities
from tests.helm.rendering import Rendered, Renderer
from tests.terraform.harness import planned_resources
from tools.containers.catalog import CATALOG
from tools.localcluster.certmanager import REFERENCE, image_tag

LOGIN_SERVER = "acr_login_server"
"""The output naming the registry images are pushed to and pulled from."""
REGISTRY_SUFFIX = ".azurecr.io"
"""Azure's rule for a registry's login server: <name>.azurecr.io."""
TAG = "0123456789ab"
"""A stand-in for the git commit the build tags images with."""
BUILD = "f" * 64
"""A stand-in for the controller build's stamp digest (its image tag's second part)."""


def stand_in(name: str) -> str:
    """A stable, distinct UUID for an output Azure computes at apply (client ids are UUIDs)."""
    return str(uuid.UUID(hashlib.sha256(name.encode()).hexdigest()[:32], version=4))


def outputs_document(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan's outputs as `terraform output -json` shows them after apply ({name: {value}});
    the registry's login server, unknown until apply, in Azure's format (`login_server`)."""
    document = {}
    for name, change in plan["output_changes"].items():
        value = change.get("after")
        if change.get("after_unknown") is True:
            value = login_server(plan) if name == LOGIN_SERVER else stand_in(name)
        document[name] = {"value": value, "sensitive": bool(change.get("after_sensitive"))}
    return document


def login_server(plan: dict[str, Any]) -> str:
    """The registry's login server: the planned output, else <planned registry name>.azurecr.io."""
    change = plan["output_changes"][LOGIN_SERVER]
    if change.get("after_unknown") is not True and change.get("after"):
        return str(change["after"])
    (name,) = [
        r.values["name"] for r in planned_resources(plan) if r.type == "azurerm_container_registry"
    ]
    return f"{name}{REGISTRY_SUFFIX}"


def published_images(plan: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """What `publish --target azure` records: each built image in the registry, and a digest."""
    server = login_server(plan)
    built = {image: CATALOG[image].reference(TAG) for image in IMAGES}
    built[CERT_MANAGER_IMAGE] = f"{REFERENCE}:{image_tag(BUILD)}"
    images = {image: remote_reference(server, reference) for image, reference in built.items()}
    digests = {image: "sha256:" + hashlib.sha256(image.encode()).hexdigest() for image in built}
    return images, digests


@dataclass(frozen=True)
class Deployment:
    """One environment's render, with what it was rendered from."""

    env: str
    rendered: Rendered
    """The umbrella release."""
    platform: Rendered
    """The cert-manager release, installed before it."""
    outputs: dict[str, Any]
    capabilities: Capabilities


def planned_releases(
    renderer: Renderer, plan: dict[str, Any], env: str, workdir: Path
) -> list[Release]:
    """The deploy stage's releases for `env`, in its install order, on the renderer's charts."""
    charts = renderer.chart_dir(UMBRELLA).parent
    generated = [terraform_values(workdir, outputs_document(plan)), contract_values(workdir)]
    images, digests = published_images(plan)
    return releases(
        charts,
        env,
        generated=generated,
        platform_values=cert_manager_values(workdir),
        images=images,
        digests=digests,
    )


def template_args(release: Release, offered: Capabilities, extra: Sequence[Path] = ()) -> list[str]:
    """`helm template` arguments equal to the deploy stage's `helm upgrade --install` ones for
    `release` (plus `extra` values files last, for fixtures that break one relation)."""
    args = install_args(
        release.chart,
        [*release.values, *extra],
        release.images,
        release=release.name,
        namespace=release.namespace,
    )
    return ["template", *args, *offered.helm_args()]


def _documents(output: str) -> Rendered:
    return Rendered(tuple(d for d in yaml.safe_load_all(output) if d))


def render(
    renderer: Renderer,
    plan: dict[str, Any],
    env: str,
    workdir: Path,
    extra: Sequence[Path] = (),
    *,
    platform_extra: Sequence[Path] = (),
) -> Deployment:
    """Render `env`'s releases as the deploy stage installs them, against what its planned
    cluster serves; `extra` goes to the umbrella, `platform_extra` to cert-manager."""
    workdir.mkdir(parents=True, exist_ok=True)
    platform, workloads = planned_releases(renderer, plan, env, workdir)
    offered = capabilities(plan)
    return Deployment(
        env,
        _documents(renderer.run(*template_args(workloads, offered, extra))),
        _documents(renderer.run(*template_args(platform, offered, platform_extra))),
        outputs_document(plan),
        offered,
    )
