"""Writable copies of Go modules, for builds that change a file the module cache holds read-only
(the Go command refuses to overlay files beneath GOMODCACHE)."""

from __future__ import annotations

import shutil
from pathlib import Path


def prepare_work_copy(source_dir: Path, work: Path) -> None:
    """A fresh copy of the tools module at `work`."""
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(source_dir, work)


def writable_copy(module_root: Path, target: Path) -> None:
    """Copy a module out of the read-only module cache, so files in it can be replaced."""
    shutil.copytree(module_root, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    target.chmod(0o755)
