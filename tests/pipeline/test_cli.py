"""`python -m pipelines` as a user runs it: listing stages and rejecting bad input precisely."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipelines.core.environments import azure_environments
from pipelines.stages import STAGES
from tests.support.tools import REPO_ROOT

EXPECTED_ORDER = [
    "tools",
    "lint",
    "policy",
    "plan-tests",
    "chart-tests",
    "app-tests",
    "infra-plan",
    "infra-apply",
    "build",
    "publish",
    "deploy",
    "smoke",
]


def pipelines(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m pipelines ARGS` in the repository."""
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_list_prints_every_stage_in_order() -> None:
    listed = pipelines("list")
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert names == EXPECTED_ORDER
    assert names == [stage.name for stage in STAGES]


def test_unknown_stage_is_a_usage_error_naming_the_choices() -> None:
    result = pipelines("deploy-everything")
    assert result.returncode == 2
    assert "invalid choice: 'deploy-everything'" in result.stderr
    assert "plan-tests" in result.stderr


def test_azure_run_of_all_stages_needs_an_environment() -> None:
    result = pipelines("all", "--target", "azure")
    assert result.returncode == 2
    expected = "|".join(azure_environments())
    assert f"--target azure runs deploy stages: give --env {expected}" in result.stderr


def test_unknown_environment_is_rejected() -> None:
    result = pipelines("plan-tests", "--env", "qa")
    assert result.returncode == 2
    assert "invalid choice: 'qa'" in result.stderr


def test_check_belongs_to_the_tools_stage_only() -> None:
    result = pipelines("lint", "--check")
    assert result.returncode == 2
    assert "--check goes with the `tools` stage only" in result.stderr


def test_tools_check_verifies_without_building(tmp_path: Path) -> None:
    result = pipelines("tools", "--check", "--reports", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "toolchain check" in result.stdout
    assert "toolchain build" not in result.stdout
