"""Policy-layer fixtures: the real checkov (its own venv under .tools) and copies of iac/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.tools import REPO_ROOT, require_tool

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
