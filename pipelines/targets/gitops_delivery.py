"""GitOps delivery of the releases: one promotion commit, then Flux reconciles it.

A `Channel` is where one environment's promotions go and who applies them: the repository and
branch its Flux configuration follows, the files a promotion edits (each HelmRelease's image
digests and its chart source's digest: cert-manager's and the umbrella's), and the Flux objects
to wait for. On AKS Terraform made
the configuration (iac/modules/gitops) and the channel comes from its outputs (azure_gitops);
locally the pipeline applies the stand-in configuration first (local_gitops).

`deliver` pushes the promotion commit (gitops_commits), asks Flux to reconcile now and waits
until the Kustomization applied that commit and each HelmRelease is Ready at it. A failed
reconciliation fails the stage with Flux's own message, after a revert commit has put the
previous promotion back and Flux has reconciled that. `revert` is the smoke stage's rollback.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from pipelines.core.gitops_commits import (
    ChartPin,
    GitFailed,
    Promotion,
    ReleasePin,
    Repository,
    revert_to,
    source_commit,
)
from pipelines.core.image_promotion import PromotionRefused
from pipelines.core.stage import StageContext
from pipelines.targets.cluster import Cluster
from pipelines.targets.flux_reconcile import Flux, Names, ReconcileFailed, flux_on, reconcile

TIMEOUT = 15 * 60.0
CHART_FILE = "chart.yaml"


@dataclass(frozen=True)
class Pinned:
    """What a promotion pins for one release: its images' digests (`keys`: image -> its values
    key in the HelmRelease) and its chart artefact's digest."""

    digests: Mapping[str, str]
    keys: Mapping[str, str]
    chart: str | None = None


@dataclass(frozen=True)
class Channel:
    """One environment's GitOps delivery: where promotions go, and what Flux reconciles."""

    environment: str
    repository: Repository
    branch: str
    release_file: Path  # gitops/<environment>/helmrelease.yaml: the workloads' release
    names: Names
    # applied first where no Terraform made it; holds the fetch account's Secret, so no repr
    configuration: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    def release_files(self) -> dict[str, Path]:
        """HelmRelease -> its file, in install order: a platform release's is in a folder of its
        name beside the workloads' (gitops/<environment>/cert-manager/helmrelease.yaml)."""
        folder = self.release_file.parent
        platform = {name: folder / name / self.release_file.name for name in self.names.platform}
        return {**platform, self.names.release: self.release_file}

    def chart_files(self) -> dict[str, Path]:
        """HelmRelease -> its chart's OCIRepository beside it (none where a chart is from git)."""
        pinned = {name for name, chart in self.names.helm_releases() if chart}
        files = self.release_files()
        return {name: files[name].with_name(CHART_FILE) for name in files if name in pinned}

    def promotion(self, pins: Mapping[str, Pinned]) -> Promotion:
        """The promotion of each release's pins (HelmRelease -> what it pins); every release the
        channel delivers needs one, with a chart digest exactly where the channel pins a chart."""
        files, charts = self.release_files(), self.chart_files()
        unknown = sorted(set(pins) - set(files))
        if unknown:
            raise PromotionRefused(f"{self.environment} delivers no {', '.join(unknown)}")
        releases = []
        for name, release_file in files.items():
            pin = pins.get(name)
            if pin is None:
                raise PromotionRefused(f"nothing to promote for {name} on {self.environment}")
            source = charts.get(name)
            if source is not None and pin.chart is None:
                raise PromotionRefused(
                    f"{self.environment} pins {name}'s chart in {source}, but no chart digest "
                    "was given"
                )
            if source is None and pin.chart is not None:
                raise PromotionRefused(
                    f"{self.environment} takes {name}'s chart from git: it has no chart source "
                    "to pin"
                )
            chart = ChartPin(source, pin.chart) if source and pin.chart else None
            releases.append(ReleasePin(name, release_file, pin.digests, pin.keys, chart))
        return Promotion(self.environment, self.branch, tuple(releases))


def deliver(
    ctx: StageContext, cluster: Cluster, channel: Channel, pins: Mapping[str, Pinned]
) -> dict[str, Any]:
    """Promote each release's pins (HelmRelease -> its image and chart digests) by one commit
    and wait for Flux to reconcile it; returns the record the smoke stage rolls back with
    (branch, previous and delivered commit, reconciled revision)."""
    flux = flux_on(ctx, cluster, channel.names)
    if channel.configuration:
        flux.apply(list(channel.configuration))
    repo = channel.repository
    with tempfile.TemporaryDirectory(prefix="gitops-") as scratch:
        started = time.monotonic()
        try:
            previous, commit = channel.promotion(pins).commit(
                ctx.root, repo, Path(scratch) / "work", source_commit=source_commit(ctx.root)
            )
        except (GitFailed, PromotionRefused) as refused:
            ctx.fail(f"no promotion commit for {channel.environment}: {refused}")
        ctx.note(
            f"promotion commit {commit[:12]} on {repo.url} {channel.branch} "
            f"(previous {previous[:12] if previous else 'none'})"
        )
        try:
            revision = reconcile(flux, channel.branch, commit, time.monotonic() + TIMEOUT)
        except ReconcileFailed as failed:
            _undo(ctx, flux, channel, Path(scratch) / "revert", refused=(commit, previous, failed))
        took = time.monotonic() - started
    ctx.note(
        f"Flux reconciled {revision}: HelmReleases {', '.join(channel.release_files())} Ready "
        f"in {took:.1f} s"
    )
    return {
        "delivery": "flux",
        "helm_release": channel.names.helm_release,
        "repository": repo.url,
        "branch": channel.branch,
        "commit": commit,
        "previous_commit": previous,
        "reconciled": revision,
    }


def _undo(
    ctx: StageContext,
    flux: Flux,
    channel: Channel,
    work: Path,
    *,
    refused: tuple[str, str | None, ReconcileFailed],
) -> NoReturn:
    """Fail the stage for a promotion Flux refused (commit, previous head, Flux's message),
    after reverting to the previous head (if any)."""
    commit, previous, failed = refused
    ctx.note(f"Flux refused {commit[:12]}: {failed}")
    if previous is None or previous == commit:
        ctx.fail(f"Flux could not reconcile {commit[:12]}: {failed}")
    reverted = revert_to(channel.repository, work, channel.branch, previous)
    ctx.note(f"reverted by {reverted[:12]} to {previous[:12]}; waiting for Flux")
    try:
        reconcile(flux, channel.branch, reverted, time.monotonic() + TIMEOUT)
    except ReconcileFailed as again:
        ctx.fail(
            f"Flux could not reconcile {commit[:12]}: {failed}; the revert to "
            f"{previous[:12]} did not reconcile either: {again}"
        )
    ctx.fail(
        f"Flux could not reconcile {commit[:12]}: {failed}; reverted to "
        f"{previous[:12]}, which Flux reconciled"
    )


def revert(ctx: StageContext, cluster: Cluster, channel: Channel, record: Mapping[str, Any]) -> str:
    """The smoke stage's rollback: the branch back to the previous promotion, reconciled."""
    previous = record.get("previous_commit")
    if not previous:
        ctx.fail(
            f"promotion {str(record.get('commit'))[:12]} is the first, so there is nothing to "
            "revert to (left in place for inspection)"
        )
    flux = flux_on(ctx, cluster, channel.names)
    with tempfile.TemporaryDirectory(prefix="gitops-") as scratch:
        reverted = revert_to(channel.repository, Path(scratch) / "work", channel.branch, previous)
    try:
        return reconcile(flux, channel.branch, reverted, time.monotonic() + TIMEOUT)
    except ReconcileFailed as failed:
        ctx.fail(f"the revert {reverted[:12]} to {str(previous)[:12]} did not reconcile: {failed}")
