"""Idempotent, atomic updates of the `.tools/` links and generated files."""

from __future__ import annotations

import os
from pathlib import Path


def ensure_link(link: Path, target: Path) -> bool:
    """Point `link` at `target`; True when it changed (replaced atomically, never half-made)."""
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return False
    link.parent.mkdir(parents=True, exist_ok=True)
    partial = link.with_name(f".{link.name}.partial")
    partial.unlink(missing_ok=True)
    partial.symlink_to(target)
    os.replace(partial, link)
    return True


def remove_link(link: Path) -> None:
    """Drop a link that no longer belongs (e.g. `terraform` after switching to tofu)."""
    if link.is_symlink():
        link.unlink()


def ensure_file(path: Path, content: str) -> bool:
    """Write `content` to `path` unless it is already there; True when it changed."""
    try:
        if path.read_text(encoding="utf-8") == content:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(content, encoding="utf-8")
    os.replace(partial, path)
    return True
