"""Promotion commits and reverts on an environment branch, against the real git server.

What the deploy stage pushes must be the tree Flux should reconcile: the working tree's gitops/
and helm-charts/ (vendored subcharts left out) with the promoted image digests in the
environment's HelmRelease and the chart's in its OCIRepository; an unchanged promotion is no
new commit; a revert restores an earlier promotion's tree exactly, as a new commit on top. An
Azure environment's branch (deploy/<env>) takes its promotions without touching any other
branch, and only the pipeline's account may push.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import yaml

from pipelines.core import contract, gitops_commits
from pipelines.core.charts import CERT_MANAGER, CHARTS
from pipelines.core.gitops_commits import Promotion, Repository
from pipelines.core.image_promotion import PromotionRefused, promoted_digests
from pipelines.stages.deploy import CHART_IMAGES, IMAGE_VALUES
from pipelines.targets import local_gitops
from pipelines.targets.gitops_delivery import Channel, Pinned
from tests.support.gitserver import Running, running_server
from tests.support.tools import REPO_ROOT
from tools.localcluster import gitserver

SOURCE = "0123456789ab" + "0" * 28
"""The reviewed commit a promotion names."""
NAMES = local_gitops.names()
CERT_MANAGER_RELEASE = contract.load().cert_manager["release"]


def digests(seed: str, keys: Mapping[str, str] = IMAGE_VALUES) -> dict[str, str]:
    return {i: f"sha256:{hashlib.sha256(f'{seed}{i}'.encode()).hexdigest()}" for i in keys}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running_server(tmp_path_factory.mktemp("git-state")) as running:
        yield running


@pytest.fixture(scope="module")
def repo(server: Running) -> Repository:
    pusher = server.accounts[gitserver.PUSHER]
    return Repository(server.url, pusher.username, pusher.password, server.paths.pki / "ca.crt")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working tree with the delivered folders, and a vendored subchart archive in one."""
    root = tmp_path_factory.mktemp("tree")
    for folder in gitops_commits.DELIVERED:
        shutil.copytree(REPO_ROOT / folder, root / folder)
    vendored = root / CHARTS / "inventory-platform" / "charts"
    vendored.mkdir(exist_ok=True)
    (vendored / "postgresql-0.1.0.tgz").write_bytes(b"built")
    return root


def chart_digest(seed: str) -> str:
    return f"sha256:{hashlib.sha256(f'{seed}chart'.encode()).hexdigest()}"


def pinned_chart(text: str) -> str:
    return str(yaml.safe_load(text)["spec"]["ref"]["digest"])


def pins(seed: str) -> dict[str, Pinned]:
    """What the deploy stage pins for each release: the umbrella's and cert-manager's images
    and charts, each seeded apart."""
    platform = CHART_IMAGES[CERT_MANAGER]
    return {
        NAMES.release: Pinned(digests(seed), IMAGE_VALUES, chart_digest(seed)),
        CERT_MANAGER_RELEASE: Pinned(
            digests(f"{seed}-cm", platform), platform, chart_digest(f"{seed}-cm")
        ),
    }


def channel(environment: str, branch: str, repo: Repository) -> Channel:
    folder = Path("gitops") / environment
    return Channel(environment, repo, branch, folder / "helmrelease.yaml", NAMES)


def local(seed: str, repo: Repository) -> Promotion:
    return channel("local", local_gitops.BRANCH, repo).promotion(pins(seed))


def promote(
    tree: Path, repo: Repository, work: Path, promotion: Promotion
) -> tuple[str | None, str]:
    return promotion.commit(tree, repo, work, source_commit=SOURCE)


def head_file(repo: Repository, work: Path, branch: str, path: Path) -> str:
    gitops_commits.checkout(repo, work, branch)
    return (work / path).read_text(encoding="utf-8")


def git_out(work: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(work), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_promotions_revert_and_repeat(tree: Path, repo: Repository, tmp_path: Path) -> None:
    previous, first = promote(tree, repo, tmp_path / "a", local("one", repo))
    assert previous is None
    pushed = head_file(repo, tmp_path / "check-1", "main", local_gitops.RELEASE_FILE)
    assert promoted_digests(pushed, IMAGE_VALUES) == digests("one")
    chart = (tmp_path / "check-1" / local_gitops.FOLDER / "chart.yaml").read_text()
    assert pinned_chart(chart) == chart_digest("one")
    assert not (tmp_path / "check-1" / CHARTS / "inventory-platform" / "charts").exists()

    again = promote(tree, repo, tmp_path / "b", local("one", repo))
    assert again == (first, first), "an unchanged promotion must not be a new commit"

    previous, second = promote(tree, repo, tmp_path / "c", local("two", repo))
    assert (previous, second != first) == (first, True)

    reverted = gitops_commits.revert_to(repo, tmp_path / "d", "main", first)
    work = tmp_path / "check-2"
    gitops_commits.checkout(repo, work, "main")
    assert reverted not in (first, second)
    assert git_out(work, "rev-parse", f"{reverted}^{{tree}}") == git_out(
        work, "rev-parse", f"{first}^{{tree}}"
    )
    released = (work / local_gitops.RELEASE_FILE).read_text(encoding="utf-8")
    assert promoted_digests(released, IMAGE_VALUES) == digests("one")
    chart = (work / local_gitops.FOLDER / "chart.yaml").read_text(encoding="utf-8")
    assert pinned_chart(chart) == chart_digest("one")


def test_an_environment_branch_takes_its_promotion_and_nothing_else_moves(
    tree: Path, repo: Repository, tmp_path: Path
) -> None:
    """As the deploy stage promotes staging: its own release file, on deploy/staging only."""
    promote(tree, repo, tmp_path / "main", local("main", repo))
    main_before = git_out(tmp_path / "main", "rev-parse", "HEAD")
    staging_channel = channel("staging", "deploy/staging", repo)
    release = staging_channel.release_file
    staging = staging_channel.promotion(pins("staging"))
    previous, commit = promote(tree, repo, tmp_path / "staging", staging)
    assert previous is None
    work = tmp_path / "check"
    text = head_file(repo, work, "deploy/staging", release)
    assert promoted_digests(text, IMAGE_VALUES) == digests("staging")
    untouched = (work / local_gitops.RELEASE_FILE).read_text(encoding="utf-8")
    assert promoted_digests(untouched, IMAGE_VALUES) == {}, "only staging's file is promoted"
    message = git_out(work, "log", "-1", "--format=%B", commit)
    assert message.startswith(f"Promote {SOURCE[:12]} to staging")
    assert f"Source: {SOURCE}" in message
    assert f"- chart {NAMES.release}: {chart_digest('staging')}" in message
    assert f"- chart {CERT_MANAGER_RELEASE}: {chart_digest('staging-cm')}" in message
    assert pinned_chart((work / release.with_name("chart.yaml")).read_text()) == chart_digest(
        "staging"
    )
    platform = work / release.parent / CERT_MANAGER_RELEASE
    platform_keys = CHART_IMAGES[CERT_MANAGER]
    assert promoted_digests((platform / "helmrelease.yaml").read_text(), platform_keys) == digests(
        "staging-cm", platform_keys
    )
    assert pinned_chart((platform / "chart.yaml").read_text()) == chart_digest("staging-cm")
    assert gitops_commits.checkout(repo, tmp_path / "main-after", "main") == main_before


def test_the_reader_account_cannot_promote(server: Running, tree: Path, tmp_path: Path) -> None:
    reader = server.accounts[gitserver.READER]
    as_flux = Repository(server.url, reader.username, reader.password, server.paths.pki / "ca.crt")
    with pytest.raises(
        gitops_commits.GitFailed, match=r"(?s)git push .* failed: remote: flux may not push.*403"
    ):
        promote(tree, as_flux, tmp_path / "w", local("three", as_flux))


def test_a_release_without_its_pins_is_refused(repo: Repository) -> None:
    """Every release the channel delivers moves in the same commit, or none does."""
    partial = {NAMES.release: pins("x")[NAMES.release]}
    with pytest.raises(PromotionRefused, match=f"nothing to promote for {CERT_MANAGER_RELEASE}"):
        channel("local", "main", repo).promotion(partial)


def test_a_release_the_channel_does_not_deliver_is_refused(repo: Repository) -> None:
    extra = {**pins("x"), "elsewhere": Pinned({}, {}, chart_digest("x"))}
    with pytest.raises(PromotionRefused, match="local delivers no elsewhere"):
        channel("local", "main", repo).promotion(extra)


def test_a_pinned_chart_needs_its_digest(repo: Repository) -> None:
    unpinned = {**pins("x"), NAMES.release: Pinned(digests("x"), IMAGE_VALUES)}
    with pytest.raises(PromotionRefused, match=r"pins inventory-platform's chart in .*chart.yaml"):
        channel("local", "main", repo).promotion(unpinned)


def test_a_chart_from_git_takes_no_digest(repo: Repository) -> None:
    from_git = dataclasses.replace(NAMES, chart=None)
    git_channel = dataclasses.replace(channel("local", "main", repo), names=from_git)
    with pytest.raises(PromotionRefused, match="takes inventory-platform's chart from git"):
        git_channel.promotion(pins("x"))
