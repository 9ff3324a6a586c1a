"""Promotion between environments: prod applies only a commit whose staging apply succeeded.

A successful `infra-apply` of an environment others are promoted from records its commit as
the git tag `applied/<env>/<commit>` on the remote, where every later run can see it. The
`infra-plan` of a promoted environment checks for that tag before anything is planned, and so
before the approval: a commit staging never applied, or a tree with local changes, is refused
with the command that fixes it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

PROMOTED_FROM = {"prod": "staging"}
"""Environment -> the environment whose successful apply of the same commit it requires."""
REMOTE = "origin"


class PromotionError(Exception):
    """The commit may not be applied to this environment (yet)."""


def applied_tag(env: str, commit: str) -> str:
    """The tag recording that `env` applied `commit` successfully."""
    return f"applied/{env}/{commit}"


def is_promotion_source(env: str) -> bool:
    """Whether another environment requires this one's applies to be recorded."""
    return env in PROMOTED_FROM.values()


def record_apply(root: Path, env: str) -> str:
    """Tag HEAD as applied to `env` and push the tag; returns the tag."""
    tag = applied_tag(env, _clean_head(root, f"recording the {env} apply"))
    _git(root, "tag", "--force", tag, "HEAD")
    _git(root, "push", "--force", REMOTE, f"refs/tags/{tag}")
    return tag


def require_promoted(root: Path, env: str) -> str | None:
    """Refuse HEAD for `env` unless its source environment applied it; returns the tag checked
    (None for an environment nothing is promoted into)."""
    source = PROMOTED_FROM.get(env)
    if source is None:
        return None
    commit = _clean_head(root, f"applying {env}")
    tag = applied_tag(source, commit)
    if not _git(root, "ls-remote", "--tags", REMOTE, f"refs/tags/{tag}"):
        raise PromotionError(
            f"{env} applies only commits whose {source} apply succeeded, and {commit[:12]} has "
            f"no tag {tag} on {REMOTE}: run the pipeline with ENVIRONMENT={source} and "
            f"APPLY_INFRASTRUCTURE=true on this commit first"
        )
    return tag


def _clean_head(root: Path, purpose: str) -> str:
    """The full commit of HEAD; a tree with local changes is not that commit."""
    if _git(root, "status", "--porcelain", "--untracked-files=no"):
        raise PromotionError(
            f"the working tree has uncommitted changes: commit them before {purpose}"
        )
    return _git(root, "rev-parse", "HEAD")


def _git(root: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False, timeout=120
    )
    if completed.returncode != 0:
        raise PromotionError(f"git {' '.join(args)} failed: {completed.stderr.strip()}")
    return completed.stdout.strip()
