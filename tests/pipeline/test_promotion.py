"""Promotion: prod applies only a commit whose staging apply succeeded, recorded as a tag on
the remote. Real throwaway git repositories: a bare remote and a clone the pipeline runs in."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipelines.core.environments import azure_environments
from pipelines.core.promotion import (
    PROMOTED_FROM,
    PromotionError,
    applied_tag,
    is_promotion_source,
    record_apply,
    require_promoted,
)
from tests.support.git import GIT_ENV, git


def commit(repo: Path, text: str) -> str:
    (repo / "main.tf").write_text(text)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", text)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(remote), str(work)], check=True, capture_output=True)
    commit(work, "one")
    git(work, "push", "-q", "origin", "HEAD")
    return work


def test_prod_is_promoted_from_staging_and_both_are_environments() -> None:
    assert PROMOTED_FROM == {"prod": "staging"}
    assert set(PROMOTED_FROM) | set(PROMOTED_FROM.values()) <= set(azure_environments())
    assert is_promotion_source("staging")
    assert not is_promotion_source("dev")


def test_prod_refuses_a_commit_staging_never_applied(clone: Path) -> None:
    head = git(clone, "rev-parse", "HEAD")
    with pytest.raises(PromotionError, match=f"no tag applied/staging/{head} on origin") as error:
        require_promoted(clone, "prod")
    assert "ENVIRONMENT=staging" in str(error.value)


def test_a_recorded_staging_apply_admits_that_commit_and_no_other(clone: Path) -> None:
    tag = record_apply(clone, "staging")
    assert tag == applied_tag("staging", git(clone, "rev-parse", "HEAD"))
    assert git(clone, "ls-remote", "--tags", "origin", f"refs/tags/{tag}")
    assert require_promoted(clone, "prod") == tag
    commit(clone, "two")
    with pytest.raises(PromotionError, match="no tag applied/staging/"):
        require_promoted(clone, "prod")


def test_a_local_tag_that_never_reached_the_remote_does_not_count(clone: Path) -> None:
    git(clone, "tag", applied_tag("staging", git(clone, "rev-parse", "HEAD")))
    with pytest.raises(PromotionError, match="no tag"):
        require_promoted(clone, "prod")


def test_uncommitted_changes_are_not_the_commit_staging_applied(clone: Path) -> None:
    record_apply(clone, "staging")
    (clone / "main.tf").write_text("edited\n")
    with pytest.raises(PromotionError, match="uncommitted changes: commit them before applying"):
        require_promoted(clone, "prod")
    with pytest.raises(PromotionError, match="before recording the staging apply"):
        record_apply(clone, "staging")


def test_environments_nothing_is_promoted_into_are_not_checked(clone: Path) -> None:
    assert require_promoted(clone, "dev") is None
    assert require_promoted(clone, "staging") is None


def test_a_push_that_fails_is_reported(clone: Path) -> None:
    git(clone, "remote", "set-url", "origin", str(clone.parent / "missing.git"))
    with pytest.raises(PromotionError, match="git push --force origin refs/tags/applied/staging/"):
        record_apply(clone, "staging")
