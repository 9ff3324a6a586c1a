"""GitOps delivery of the umbrella release: a promotion commit, then Flux reconciles it.

A `Channel` is where one environment's promotions go and who applies them: the repository and
branch its Flux configuration follows, the files a promotion edits (the HelmRelease's image
digests, the chart source's digest), and the Flux objects to wait for. On AKS Terraform made
the configuration (iac/modules/gitops) and the channel comes from its outputs (azure_gitops);
locally the pipeline applies the stand-in configuration first (local_gitops).

`deliver` pushes the promotion commit (gitops_commits), asks Flux to reconcile now and waits
until the Kustomization applied that commit and the HelmRelease is Ready at it. A failed
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
class Channel:
    """One environment's GitOps delivery: where promotions go, and what Flux reconciles."""

    environment: str
    repository: Repository
    branch: str
    release_file: Path  # gitops/<environment>/helmrelease.yaml
    names: Names
    # applied first where no Terraform made it; holds the fetch account's Secret, so no repr
    configuration: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    @property
    def chart_file(self) -> Path | None:
        """The chart's OCIRepository beside the HelmRelease; None where the chart is from git."""
        return self.release_file.with_name(CHART_FILE) if self.names.chart else None

    def promotion(
        self, digests: Mapping[str, str], keys: Mapping[str, str], chart: str | None
    ) -> Promotion:
        """The promotion of these image digests and, where the channel pins one, the chart's."""
        source = self.chart_file
        if source is not None and chart is None:
            raise PromotionRefused(
                f"{self.environment} pins its chart in {source}, but no chart digest was given"
            )
        if source is None and chart is not None:
            raise PromotionRefused(
                f"{self.environment} takes its chart from git: it has no chart source to pin"
            )
        pin = ChartPin(source, chart) if source is not None and chart is not None else None
        return Promotion(self.environment, self.branch, self.release_file, digests, keys, pin)


def deliver(
    ctx: StageContext,
    cluster: Cluster,
    channel: Channel,
    digests: Mapping[str, str],
    keys: Mapping[str, str],
    *,
    chart: str | None = None,
) -> dict[str, Any]:
    """Promote the image `digests` (and the `chart` digest) by commit and wait for Flux to
    reconcile it; returns the record the smoke stage rolls back with (branch, previous and
    delivered commit, reconciled revision)."""
    flux = flux_on(ctx, cluster, channel.names)
    if channel.configuration:
        flux.apply(list(channel.configuration))
    repo = channel.repository
    with tempfile.TemporaryDirectory(prefix="gitops-") as scratch:
        started = time.monotonic()
        try:
            previous, commit = channel.promotion(digests, keys, chart).commit(
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
        f"Flux reconciled {revision}: HelmRelease {channel.names.release} Ready in {took:.1f} s"
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
