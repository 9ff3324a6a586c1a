"""Terraform-layer fixtures: one copy of iac/ per session, initialised once per configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.core.environments import azure_environments
from tests.support.tools import REPO_ROOT, require_tool
from tests.terraform.harness import Workspace
from tools.toolchain import tool_env

IAC = REPO_ROOT / "iac"
PLATFORM = "platform"
"""The one root every environment is planned with; environments/<env>/ hold only its data."""
ENVIRONMENTS = azure_environments()
MODULES = tuple(sorted(path.name for path in (IAC / "modules").iterdir() if path.is_dir()))
CONFIGURATIONS = (
    "bootstrap",
    PLATFORM,
    *(f"modules/{m}" for m in MODULES),
)


@pytest.fixture(scope="session")
def terraform() -> str:
    return require_tool("terraform", "make tools")


@pytest.fixture(scope="session")
def provider_mirror() -> Path:
    """The CLI config that installs providers from the mirror built by `make tools`."""
    config = Path(tool_env()["TF_CLI_CONFIG_FILE"])
    if not config.is_file():
        pytest.fail(
            f"no provider mirror config at {config}; build it with: make tools", pytrace=False
        )
    return config


@pytest.fixture(scope="session")
def workspace(
    terraform: str, provider_mirror: Path, tmp_path_factory: pytest.TempPathFactory
) -> Workspace:
    base = tmp_path_factory.mktemp("terraform")
    return Workspace(
        source=IAC, root=base / "iac", terraform=terraform, plugin_cache=base / "plugin-cache"
    )


@pytest.fixture(scope="session")
def plans(workspace: Workspace) -> dict[str, dict[str, Any]]:
    """Every environment's plan, made once per session (plan tests and cross-layer tests)."""
    return {env: workspace.plan(PLATFORM, env) for env in ENVIRONMENTS}
