"""The local target's promotion commits and reverts, against the real git server.

What the deploy stage pushes must be the tree Flux should reconcile: the working tree's gitops/
and helm-charts/ (vendored subcharts left out) with the promoted digests; an unchanged promotion
is no new commit; a revert restores an earlier promotion's tree exactly, as a new commit on top.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.core.charts import CHARTS
from pipelines.core.image_promotion import promoted_digests
from pipelines.stages.deploy import IMAGE_VALUES
from pipelines.targets import local_gitops
from tests.support.gitserver import Running, running_server
from tests.support.tools import REPO_ROOT
from tools.localcluster import gitserver


def digests(seed: str) -> dict[str, str]:
    return {i: f"sha256:{hashlib.sha256(f'{seed}{i}'.encode()).hexdigest()}" for i in IMAGE_VALUES}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running_server(tmp_path_factory.mktemp("git-state")) as running:
        yield running


@pytest.fixture(scope="module")
def repo(server: Running) -> local_gitops.Repository:
    pusher = server.accounts[gitserver.PUSHER]
    return local_gitops.Repository(server.url, server.paths.pki / "ca.crt", pusher.password)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working tree with the delivered folders, and a vendored subchart archive in one."""
    root = tmp_path_factory.mktemp("tree")
    for folder in local_gitops.DELIVERED:
        shutil.copytree(REPO_ROOT / folder, root / folder)
    vendored = root / CHARTS / "inventory-platform" / "charts"
    vendored.mkdir(exist_ok=True)
    (vendored / "postgresql-0.1.0.tgz").write_bytes(b"built")
    return root


def promote(
    tree: Path, repo: local_gitops.Repository, work: Path, seed: str
) -> tuple[str | None, str]:
    return local_gitops.commit_promotion(
        tree, repo, work, digests(seed), IMAGE_VALUES, source_commit="0" * 40
    )


def head_file(repo: local_gitops.Repository, work: Path, path: Path) -> str:
    local_gitops.checkout(repo, work)
    return (work / path).read_text(encoding="utf-8")


def tree_of(work: Path, commit: str) -> str:
    return subprocess.run(
        ["git", "-C", str(work), "rev-parse", f"{commit}^{{tree}}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def test_promotions_revert_and_repeat(
    tree: Path, repo: local_gitops.Repository, tmp_path: Path
) -> None:
    previous, first = promote(tree, repo, tmp_path / "a", "one")
    assert previous is None
    pushed = head_file(repo, tmp_path / "check-1", local_gitops.RELEASE_FILE)
    assert promoted_digests(pushed, IMAGE_VALUES) == digests("one")
    assert not (tmp_path / "check-1" / CHARTS / "inventory-platform" / "charts").exists()

    again = promote(tree, repo, tmp_path / "b", "one")
    assert again == (first, first), "an unchanged promotion must not be a new commit"

    previous, second = promote(tree, repo, tmp_path / "c", "two")
    assert (previous, second != first) == (first, True)

    reverted = local_gitops.revert_to(repo, tmp_path / "d", first)
    work = tmp_path / "check-2"
    local_gitops.checkout(repo, work)
    assert reverted not in (first, second)
    assert tree_of(work, reverted) == tree_of(work, first)
    released = (work / local_gitops.RELEASE_FILE).read_text(encoding="utf-8")
    assert promoted_digests(released, IMAGE_VALUES) == digests("one")


def test_the_reader_account_cannot_promote(server: Running, tree: Path, tmp_path: Path) -> None:
    reader = server.accounts[gitserver.READER]
    as_flux = local_gitops.Repository(
        server.url, server.paths.pki / "ca.crt", reader.password, user=reader.username
    )
    with pytest.raises(
        RuntimeError, match=r"(?s)git push .* failed: remote: flux may not push.*403"
    ):
        promote(tree, as_flux, tmp_path / "w", "three")
