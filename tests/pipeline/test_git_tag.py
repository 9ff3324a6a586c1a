"""Image tags from git: a clean tree is its commit; each distinct set of changes gets its own tag.

Why: one shared `<commit>-dirty` tag let a rebuilt image go unnoticed by Kubernetes (same pod
spec, no rollout). The repositories here are real throwaway git repositories.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.core.git import image_tag
from tests.support.git import git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("ignored/\n")
    (tmp_path / "app.py").write_text("print('v1')\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "one")
    return tmp_path


def test_a_clean_tree_is_tagged_with_its_commit(repo: Path) -> None:
    assert image_tag(repo) == git(repo, "rev-parse", "--short=12", "HEAD")


def test_each_distinct_edit_gets_its_own_dirty_tag(repo: Path) -> None:
    commit = image_tag(repo)
    (repo / "app.py").write_text("print('v2')\n")
    first = image_tag(repo)
    assert first.startswith(f"{commit}-dirty-")
    assert len(first) == len(commit) + len("-dirty-") + 8
    assert image_tag(repo) == first  # stable while nothing changes
    (repo / "app.py").write_text("print('v3')\n")
    second = image_tag(repo)
    assert second.startswith(f"{commit}-dirty-")
    assert second != first
    (repo / "app.py").write_text("print('v1')\n")
    assert image_tag(repo) == commit


def test_untracked_files_count_but_ignored_ones_do_not(repo: Path) -> None:
    commit = image_tag(repo)
    (repo / "ignored").mkdir()
    (repo / "ignored" / "cache.bin").write_bytes(b"x")
    assert image_tag(repo) == commit
    (repo / "new.py").write_text("a = 1\n")
    first = image_tag(repo)
    assert first.startswith(f"{commit}-dirty-")
    (repo / "new.py").write_text("a = 2\n")
    assert image_tag(repo) not in (first, commit)


def test_not_a_repository_is_a_precise_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"git rev-parse --short=12 HEAD failed: .*not a git"):
        image_tag(tmp_path)
