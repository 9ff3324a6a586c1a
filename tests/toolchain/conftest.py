"""Fixtures for the toolchain layer: the real built tools, run from the project's paths."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.support.tools import REPO_ROOT
from tools.toolchain import tool_env


def run_toolchain(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m tools.toolchain ARGS` from the repo root, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "tools.toolchain", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )


def run_tool(argv: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a project tool with the project environment (PATH, TF_CLI_CONFIG_FILE, ...)."""
    return subprocess.run(
        list(argv),
        cwd=cwd,
        env=tool_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.fixture(scope="session")
def checked_toolchain() -> str:
    """The output of a passing `check`: every other test here needs the built tools."""
    result = run_toolchain("check")
    if result.returncode != 0:
        pytest.fail(f"toolchain incomplete:\n{result.stdout}{result.stderr}", pytrace=False)
    return result.stdout
