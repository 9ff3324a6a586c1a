"""Contract-layer fixtures: every environment's plan and its render, made once per session."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.core import contract
from tests.contract.deployment import Deployment, render
from tests.helm.rendering import Renderer
from tests.support.tools import require_tool
from tests.terraform.conftest import IAC, PLATFORM, provider_mirror, terraform, workspace
from tests.terraform.harness import Workspace

__all__ = ["provider_mirror", "terraform", "workspace"]

ENVIRONMENTS = tuple(
    sorted(path.parent.name for path in (IAC / "environments").glob("*/terraform.tfvars"))
)
"""Every environment Terraform has data for (iac/environments/<env>/terraform.tfvars)."""


@pytest.fixture(scope="session")
def plans(workspace: Workspace) -> dict[str, dict[str, Any]]:
    """Every environment's plan of the one platform root."""
    return {env: workspace.plan(PLATFORM, env) for env in ENVIRONMENTS}


@pytest.fixture(scope="session")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    """The real helm on a private copy of the charts (dependencies built once)."""
    helm = require_tool("helm", "make tools")
    chart_renderer = Renderer(helm=helm, workdir=tmp_path_factory.mktemp("helm"))
    chart_renderer.prepare()
    return chart_renderer


@pytest.fixture(scope="session")
def deployments(
    renderer: Renderer,
    plans: dict[str, dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Deployment]:
    """Each environment rendered with the deploy stage's arguments against its cluster."""
    work = tmp_path_factory.mktemp("deploy")
    return {env: render(renderer, plans[env], env, work / env) for env in ENVIRONMENTS}


@pytest.fixture(scope="session")
def names() -> contract.Contract:
    """The platform contract, as the pipeline and Terraform read it."""
    return contract.load()
