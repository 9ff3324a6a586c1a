"""Render an environment exactly as `deploy --target azure --env <env>` installs it.

Every argument comes from the pipeline's own functions: the release, namespace and values-file
order (`install_args`, `values_files`), the values file generated from Terraform outputs
(`terraform_values`) and the one that sets the contract's names (`contract_values`), and the
image settings (`image_values`) of the references `publish` pushes (`remote_reference`). The
Terraform outputs are the environment's planned outputs; those Azure only knows after apply
(client ids, the registry's login server) get stand-ins that follow Azure's format.
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
from pipelines.stages.build import IMAGES
from pipelines.stages.deploy import (
    contract_values,
    image_values,
    install_args,
    terraform_values,
    values_files,
)
from pipelines.stages.publish import remote_reference
from tests.contract.capabilities import Capabilities, capabilities
from tests.helm.rendering import Rendered, Renderer
from tests.terraform.harness import planned_resources
from tools.containers.catalog import CATALOG

REGISTRY_SUFFIX = ".azurecr.io"
"""Azure's rule for a registry's login server: <name>.azurecr.io."""
TAG = "0123456789ab"
"""A stand-in for the git commit the build tags images with."""


def stand_in(name: str) -> str:
    """A stable, distinct UUID for an output Azure computes at apply (client ids are UUIDs)."""
    return str(uuid.UUID(hashlib.sha256(name.encode()).hexdigest()[:32], version=4))


def outputs_document(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan's outputs as `terraform output -json` shows them after apply ({name: {value}})."""
    document = {}
    for name, change in plan["output_changes"].items():
        value = stand_in(name) if change.get("after_unknown") is True else change.get("after")
        document[name] = {"value": value, "sensitive": bool(change.get("after_sensitive"))}
    return document


def login_server(plan: dict[str, Any]) -> str:
    """The registry's login server: the planned output, else <planned registry name>.azurecr.io."""
    change = plan["output_changes"]["acr_login_server"]
    if change.get("after_unknown") is not True and change.get("after"):
        return str(change["after"])
    (name,) = [
        r.values["name"] for r in planned_resources(plan) if r.type == "azurerm_container_registry"
    ]
    return f"{name}{REGISTRY_SUFFIX}"


def published_images(plan: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """What `publish --target azure` records: each built image in the registry, and a digest."""
    server = login_server(plan)
    images = {image: remote_reference(server, CATALOG[image].reference(TAG)) for image in IMAGES}
    digests = {image: "sha256:" + hashlib.sha256(image.encode()).hexdigest() for image in IMAGES}
    return images, digests


@dataclass(frozen=True)
class Deployment:
    """One environment's render, with what it was rendered from."""

    env: str
    rendered: Rendered
    outputs: dict[str, Any]
    capabilities: Capabilities


def deploy_args(
    renderer: Renderer, plan: dict[str, Any], env: str, workdir: Path, extra: Sequence[Path] = ()
) -> list[str]:
    """`helm template` arguments equal to the deploy stage's `helm upgrade --install` ones (plus
    `extra` values files last, for fixtures that break one relation)."""
    chart = renderer.chart_dir(UMBRELLA)
    generated = [terraform_values(workdir, outputs_document(plan)), contract_values(workdir)]
    images, digests = published_images(plan)
    values = [*values_files(chart, env, generated), *extra]
    args = install_args(chart, values, image_values(images, digests))
    return ["template", *args, *capabilities(plan).helm_args()]


def render(
    renderer: Renderer, plan: dict[str, Any], env: str, workdir: Path, extra: Sequence[Path] = ()
) -> Deployment:
    """Render `env` as the deploy stage installs it, against what its planned cluster serves."""
    workdir.mkdir(parents=True, exist_ok=True)
    output = renderer.run(*deploy_args(renderer, plan, env, workdir, extra))
    docs = tuple(d for d in yaml.safe_load_all(output) if d)
    return Deployment(env, Rendered(docs), outputs_document(plan), capabilities(plan))
