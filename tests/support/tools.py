"""Locating external tools for tests: a missing tool fails the test loudly, never skips it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = REPO_ROOT / ".tools" / "bin"


def require_tool(binary: str, install: str = "make tools") -> str:
    """Return the absolute path of `binary`, or fail with the command that installs it."""
    search_path = os.pathsep.join([str(TOOLS_BIN), os.environ.get("PATH", "")])
    found = shutil.which(binary, path=search_path)
    if found is None:
        pytest.fail(
            f"required tool '{binary}' not found; install it with: {install}", pytrace=False
        )
    return found
