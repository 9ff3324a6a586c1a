"""The git revision images are tagged with."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

DIRTY_HASH_CHARS = 8


def image_tag(root: Path) -> str:
    """The short commit id; `<commit>-dirty-<hash of the changes>` when the tree differs from it.

    A dirty suffix keeps an image built from local changes from posing as the commit, and the
    hash gives every distinct set of changes its own tag: a rebuilt image under a reused tag
    would not roll out, because the pod spec (hence the Deployment) would not change.
    """
    commit = _git(root, "rev-parse", "--short=12", "HEAD")
    if not _git(root, "status", "--porcelain"):
        return commit
    return f"{commit}-dirty-{changes_digest(root)[:DIRTY_HASH_CHARS]}"


def changes_digest(root: Path) -> str:
    """sha256 over the diff against HEAD plus every untracked, not ignored file (name and bytes)."""
    digest = hashlib.sha256(_git_bytes(root, "diff", "HEAD", "--binary", "--no-ext-diff"))
    untracked = _git_bytes(root, "ls-files", "--others", "--exclude-standard", "-z")
    for name in sorted(filter(None, untracked.split(b"\0"))):
        path = root / name.decode()
        digest.update(b"\0untracked\0" + name + b"\0")
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
        elif path.is_symlink():
            digest.update(b"->" + str(path.readlink()).encode())
    return digest.hexdigest()


def _git(root: Path, *args: str) -> str:
    """Run a read-only git command in the repository and return its trimmed output."""
    return _git_bytes(root, *args).decode().strip()


def _git_bytes(root: Path, *args: str) -> bytes:
    """Run a read-only git command in the repository and return its raw output."""
    completed = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, check=False, timeout=60
    )
    if completed.returncode != 0:
        stderr = completed.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"git {' '.join(args)} failed: {stderr}")
    return completed.stdout
