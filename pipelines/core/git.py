"""The git revision images are tagged with."""

from __future__ import annotations

import subprocess
from pathlib import Path


def image_tag(root: Path) -> str:
    """The short commit id, with `-dirty` when the tree differs from it (edits or new files).

    A dirty suffix keeps an image built from local changes from posing as the commit.
    """
    commit = _git(root, "rev-parse", "--short=12", "HEAD")
    dirty = _git(root, "status", "--porcelain")
    return f"{commit}-dirty" if dirty else commit


def _git(root: Path, *args: str) -> str:
    """Run a read-only git command in the repository and return its trimmed output."""
    completed = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False, timeout=60
    )
    if completed.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {completed.stderr.strip()}")
    return completed.stdout.strip()
