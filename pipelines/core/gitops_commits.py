"""Promotion commits on an environment branch: the only writes the pipeline makes to git.

A Flux environment follows one branch that only the pipeline writes (the harness's git server
locally, `deploy/<env>` of the repository on AKS). Each commit on it carries a reviewed source
commit's gitops/ and helm-charts/ (build outputs left out) with the digests `publish` recorded
written in: each release's images' into its HelmRelease, each chart's into its OCIRepository
(cert-manager's and the umbrella's, which depends on it). So the tree Flux reconciles is
exactly the tree the pipeline's tests rendered, and main never receives a machine commit (nor
starts a build of one). A revert is a new commit
whose tree is an earlier promotion's, so the branch only moves forward and every change on it
is a commit someone can read.

The account goes to git as an `http.extraHeader` in the environment, never in a URL, a file or
a log line.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.core import image_promotion
from pipelines.core.charts import CHARTS

DELIVERED = (Path("gitops"), CHARTS)
"""What a promotion commit carries from the working tree: Flux's folders and the charts."""
VENDORED = ("charts", "Chart.lock", "*.tgz")
"""Build outputs of `helm dependency build` that never go into git."""
AUTHOR = ("inventory-pipeline", "inventory-pipeline@localhost")
GIT_TIMEOUT = 120


class GitFailed(RuntimeError):
    """A git command failed; the message names the command and git's own error."""


@dataclass(frozen=True)
class Repository:
    """An environment branch's repository as the pipeline's account sees it."""

    url: str
    user: str
    password: str = field(default="", repr=False)  # never in a log line or a traceback
    ca_file: Path | None = None  # None: the system's trust store (a public host)

    def env(self) -> dict[str, str]:
        """git's environment: the account as a header, the CA, the pipeline as author."""
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return {
            **({"GIT_SSL_CAINFO": str(self.ca_file)} if self.ca_file else {}),
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {token}",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": AUTHOR[0],
            "GIT_AUTHOR_EMAIL": AUTHOR[1],
            "GIT_COMMITTER_NAME": AUTHOR[0],
            "GIT_COMMITTER_EMAIL": AUTHOR[1],
        }


def git(checkout: Path, repo: Repository, *args: str) -> str:
    """Run git in `checkout` with only PATH and HOME of the caller's environment (a user's
    credential helper or proxy settings must not decide what is pushed)."""
    base = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    completed = subprocess.run(
        ["git", "-C", str(checkout), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=GIT_TIMEOUT,
        env={**base, **repo.env()},
    )
    if completed.returncode != 0:
        raise GitFailed(f"git {' '.join(args)} failed: {completed.stderr.strip()}")
    return completed.stdout.strip()


def checkout(repo: Repository, into: Path, branch: str) -> str | None:
    """Clone `branch` into `into`; returns its head commit (None while the branch is new)."""
    into.mkdir(parents=True, exist_ok=True)
    git(into, repo, "init", "--quiet", f"--initial-branch={branch}")
    git(into, repo, "remote", "add", "origin", repo.url)
    if not git(into, repo, "ls-remote", "--heads", "origin", branch):
        return None
    git(into, repo, "fetch", "--quiet", "origin", branch)
    git(into, repo, "checkout", "--quiet", "-B", branch, "FETCH_HEAD")
    return git(into, repo, "rev-parse", "HEAD")


def stage_tree(root: Path, into: Path) -> None:
    """Replace the checkout's delivered folders by the working tree's (build outputs left out)."""
    for folder in DELIVERED:
        target = into / folder
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(root / folder, target, ignore=shutil.ignore_patterns(*VENDORED))


def promotion_message(environment: str, source_commit: str, digests: Mapping[str, str]) -> str:
    pinned = "\n".join(f"- {name}: {digest}" for name, digest in sorted(digests.items()))
    return f"Promote {source_commit[:12]} to {environment}\n\nSource: {source_commit}\n{pinned}\n"


@dataclass(frozen=True)
class ChartPin:
    """The OCIRepository a promotion pins to the chart artefact publish pushed."""

    source_file: Path  # relative to the repository root, e.g. gitops/staging/chart.yaml
    digest: str


@dataclass(frozen=True)
class ReleasePin:
    """What a promotion writes for one HelmRelease: its images' digests and its chart's."""

    name: str  # the HelmRelease, as the commit message names it
    release_file: Path  # relative to the repository root, e.g. gitops/staging/helmrelease.yaml
    digests: Mapping[str, str]
    keys: Mapping[str, str]  # image -> its values key in the HelmRelease
    chart: ChartPin | None = None  # None: the HelmRelease builds its chart from the git source

    def write(self, work: Path) -> dict[str, str]:
        """Edit the checkout `work`; returns what was pinned, by name, for the message."""
        release = work / self.release_file
        text = release.read_text(encoding="utf-8")
        release.write_text(image_promotion.promote(text, self.digests, self.keys), encoding="utf-8")
        pinned = dict(self.digests)
        if self.chart is not None:
            source = work / self.chart.source_file
            text = source.read_text(encoding="utf-8")
            source.write_text(image_promotion.pin_chart(text, self.chart.digest), encoding="utf-8")
            pinned[f"chart {self.name}"] = self.chart.digest
        return pinned


@dataclass(frozen=True)
class Promotion:
    """What one promotion writes: the environment, its branch, and each release's pins."""

    environment: str
    branch: str
    releases: tuple[ReleasePin, ...]

    def commit(
        self, root: Path, repo: Repository, work: Path, *, source_commit: str
    ) -> tuple[str | None, str]:
        """Write and push the promotion commit; returns (previous head, new head). Nothing
        changed since the last promotion: no commit, both are the current head."""
        previous = checkout(repo, work, self.branch)
        stage_tree(root, work)
        pinned: dict[str, str] = {}
        for release in self.releases:
            pinned.update(release.write(work))
        git(work, repo, "add", "--all", *(str(folder) for folder in DELIVERED))
        if previous is not None and not git(work, repo, "status", "--porcelain"):
            return previous, previous
        message = promotion_message(self.environment, source_commit, pinned)
        git(work, repo, "commit", "--quiet", "--message", message)
        git(work, repo, "push", "--quiet", "origin", f"HEAD:refs/heads/{self.branch}")
        return previous, git(work, repo, "rev-parse", "HEAD")


def revert_to(repo: Repository, work: Path, branch: str, good: str) -> str:
    """A commit on top of `branch` whose tree is `good`'s (every promotion since undone); pushed."""
    checkout(repo, work, branch)
    head = git(work, repo, "rev-parse", "HEAD")
    git(work, repo, "read-tree", "--reset", "-u", good)
    git(
        work, repo, "commit", "--quiet", "--allow-empty",
        "--message", f"Revert to {good[:12]}\n\nUndoes {good[:12]}..{head[:12]}.\n",
    )  # fmt: skip
    git(work, repo, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
    return git(work, repo, "rev-parse", "HEAD")


def source_commit(root: Path) -> str:
    """The working tree's commit, which the promotion message names."""
    completed = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    return completed.stdout.strip() or "working-tree"
