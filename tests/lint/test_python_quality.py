"""The Python code stays ruff- and mypy-clean: CI fails on a lint regression, not only the
pipeline's `lint` stage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.tools import REPO_ROOT

VENV_BIN = Path(sys.executable).parent

CHECKS = {
    "ruff check": ["ruff", "check", "--no-cache", "."],
    "ruff format": ["ruff", "format", "--check", "--no-cache", "."],
    "mypy --strict": ["mypy"],
}


@pytest.mark.parametrize("name", CHECKS)
def test_python_code_is_clean(name: str) -> None:
    binary, *args = CHECKS[name]
    tool = VENV_BIN / binary
    if not tool.is_file():
        pytest.fail(f"{binary} is not in the virtualenv; install it with: make venv", pytrace=False)
    result = subprocess.run(
        [tool, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"{name} found problems:\n{result.stdout}{result.stderr}"
