"""Policy-layer fixtures: the real checkov (its own venv under .tools), copies of iac/, and
every environment's offline plan (real terraform and azurerm schemas, mocked credentials)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.core.environments import azure_environments
from policies.offline_plan import plan_environments
from tests.support.tools import REPO_ROOT, require_tool
from tools.toolchain import tool_env

IAC = REPO_ROOT / "iac"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def copy_iac(destination: Path) -> Path:
    """A private copy of iac/ (without Terraform working directories) to mutate."""
    return Path(
        shutil.copytree(
            IAC, destination / "iac", ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*")
        )
    )


@pytest.fixture(scope="session")
def checkov() -> Path:
    return Path(require_tool("checkov", "make tools"))


@pytest.fixture
def iac_copy(tmp_path: Path) -> Path:
    return copy_iac(tmp_path)


@pytest.fixture(scope="session")
def offline_plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each environment's plan document, planned once per session as the policy stage does."""
    require_tool("terraform", "make tools")
    if not Path(tool_env()["TF_CLI_CONFIG_FILE"]).is_file():
        pytest.fail("no provider mirror for the offline plans; build it with: make tools")
    return plan_environments(IAC, azure_environments(), tmp_path_factory.mktemp("plans"))
