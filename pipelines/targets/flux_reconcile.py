"""Waiting for Flux: the GitRepository at a commit, the Kustomization applying it, then for each
release in install order (cert-manager, then the workloads) its chart's OCIRepository at the
digest that commit pins and its HelmRelease Ready at that chart. The same
objects and the same wait on AKS (the microsoft.flux extension's controllers) and on the local
cluster (the harness's).
"""

from __future__ import annotations

import datetime
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.core.stage import StageContext
from pipelines.targets.cluster import Cluster, kubectl_binary
from tools.kube.kubectl import Kubectl

KUSTOMIZATION_SUFFIX = "-workloads"
"""What AKS appends to a Flux configuration's name for its kustomization `workloads`."""
CHART_SOURCE_SUFFIX = "-chart"
"""The OCIRepository of a release's chart is named <release>-chart (chart_source)."""
FIELD_MANAGER = "inventory-pipeline"
POLL = 3.0


class ReconcileFailed(Exception):
    """Flux said the revision cannot be applied; the message is Flux's."""


@dataclass(frozen=True)
class Names:
    """The Flux objects that deliver the release: the configuration's GitRepository and
    Kustomization (iac/modules/gitops names them on AKS), and the HelmReleases and their charts'
    OCIRepositories in the folder: the workloads' release and the platform releases it depends
    on."""

    namespace: str  # of all of them: the configuration's namespace
    source: str
    release: str  # the workloads' HelmRelease (the umbrella chart)
    chart: str | None = None  # the OCIRepository pinning the chart; None: a chart from git
    platform: tuple[str, ...] = ()  # HelmReleases installed first, in order, each chart pinned

    @classmethod
    def pinned(
        cls, namespace: str, source: str, release: str, platform: tuple[str, ...] = ()
    ) -> Names:
        """The names of releases whose charts OCIRepositories pin by digest."""
        return cls(namespace, source, release, chart_source(release), platform)

    @property
    def kustomization(self) -> str:
        return f"{self.source}{KUSTOMIZATION_SUFFIX}"

    @property
    def helm_release(self) -> str:
        """NAMESPACE/NAME of the workloads' HelmRelease (what the smoke suite checks)."""
        return f"{self.namespace}/{self.release}"

    def helm_releases(self) -> tuple[tuple[str, str | None], ...]:
        """(HelmRelease, its chart's OCIRepository) of each release, in the order Flux
        installs them: the platform's, then the workloads'."""
        return (*((name, chart_source(name)) for name in self.platform), (self.release, self.chart))


def chart_source(release: str) -> str:
    """The OCIRepository of a release's chart: <release>-chart (gitops/<env>/**/chart.yaml)."""
    return f"{release}{CHART_SOURCE_SUFFIX}"


@dataclass(frozen=True)
class Flux:
    """kubectl on the Flux objects of one configuration."""

    kubectl: Kubectl
    names: Names

    def apply(self, manifests: list[dict[str, Any]]) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump({"apiVersion": "v1", "kind": "List", "items": manifests}, handle)
        try:
            self.kubectl.run(
                "apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", handle.name,
                timeout=120,
            )  # fmt: skip
        finally:
            Path(handle.name).unlink()

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        result = self.kubectl.run("get", kind, name, "-o", "json", check=False, timeout=60)
        return json.loads(result.stdout) if result.returncode == 0 else None

    def request(self, kind: str, name: str) -> None:
        """Ask the controller to reconcile now instead of at its interval."""
        now = datetime.datetime.now(datetime.UTC).isoformat()
        self.kubectl.run(
            "annotate", "--overwrite", kind, name, f"reconcile.fluxcd.io/requestedAt={now}",
            timeout=60,
        )  # fmt: skip


def flux_on(ctx: StageContext, cluster: Cluster, names: Names) -> Flux:
    env = ctx.tool_env(cluster.env())
    kubectl = Kubectl(kubectl_binary(ctx, env), namespace=names.namespace, env=env)
    return Flux(kubectl, names)


def ready(document: dict[str, Any] | None) -> tuple[bool | None, str]:
    """(Ready status, its message) of a Flux object at its current generation; None: unknown.
    The generation is the Ready condition's own: source-controller leaves
    status.observedGeneration at the last spec it reconciled successfully while it reports a
    failure at the current one."""
    if document is None:
        return None, "not found"
    status = document.get("status", {})
    condition = _ready(document) or {}
    observed = condition.get("observedGeneration", status.get("observedGeneration", -1))
    if observed < document["metadata"].get("generation", 0):
        return None, "its latest spec is not observed yet"
    return ready_condition(document)


def ready_condition(document: dict[str, Any]) -> tuple[bool | None, str]:
    """(Ready status, its message) as the object shows it, whatever generation it is about."""
    condition = _ready(document)
    if condition is None:
        return None, "no Ready condition yet"
    state = {"True": True, "False": False}.get(condition.get("status", ""))
    return state, str(condition.get("message", ""))


def _ready(document: dict[str, Any]) -> dict[str, Any] | None:
    """The object's Ready condition, if it has one yet."""
    for condition in document.get("status", {}).get("conditions", []):
        if condition.get("type") == "Ready":
            return dict(condition)
    return None


def wait_until(check: Callable[[], tuple[bool, str]], what: str, deadline: float) -> None:
    """Poll `check` (done, progress) until done; a ReconcileFailed from it ends the wait."""
    progress = ""
    while True:
        done, progress = check()
        if done:
            return
        if time.monotonic() > deadline:
            raise ReconcileFailed(f"{what} not reached in time: {progress}")
        time.sleep(POLL)


def reconcile(flux: Flux, branch: str, commit: str, deadline: float) -> str:
    """Make Flux apply `commit` of `branch` and wait for each HelmRelease to be Ready at it;
    returns the revision Flux reports."""
    names = flux.names
    revision = f"{branch}@sha1:{commit}"
    flux.request("gitrepository", names.source)

    def fetched() -> tuple[bool, str]:
        source = flux.get("gitrepository", names.source)
        got = ((source or {}).get("status", {}).get("artifact") or {}).get("revision", "")
        state, message = ready(source)
        if state is False and got != revision:
            raise ReconcileFailed(f"GitRepository {names.source}: {message}")
        return got == revision, f"GitRepository at {got or 'nothing'}: {message}"

    wait_until(fetched, f"GitRepository {names.source} at {revision}", deadline)
    flux.request("kustomization", names.kustomization)

    def applied() -> tuple[bool, str]:
        document = flux.get("kustomization", names.kustomization)
        status = (document or {}).get("status", {})
        state, message = ready(document)
        if status.get("lastAttemptedRevision") == revision and state is False:
            raise ReconcileFailed(f"Kustomization {names.kustomization}: {message}")
        return status.get("lastAppliedRevision") == revision and bool(state), message

    wait_until(applied, f"Kustomization {names.kustomization} applying {revision}", deadline)
    for release, chart_source_name in names.helm_releases():
        if release in names.platform and flux.get("helmrelease", release) is None:
            continue  # a tree from before this platform release was delivered by Flux
        _released(flux, release, chart_source_name, commit, deadline)
    return revision


def _released(
    flux: Flux, release: str, chart_source_name: str | None, commit: str, deadline: float
) -> None:
    """Wait until the HelmRelease `release` is Ready at the chart the applied commit pins."""
    chart = _pulled_chart(flux, chart_source_name, deadline) if chart_source_name else None
    flux.request("helmrelease", release)
    # helm-controller versions the chart <version>+<12 hex>: of the digest of an OCI artefact,
    # of the commit of a chart built from git (then .<HelmChart generation> may follow)
    chart_revision = chart.split(":", 1)[1][:12] if chart else commit[:12]

    def released() -> tuple[bool, str]:
        document = flux.get("helmrelease", release)
        status = (document or {}).get("status", {})
        attempted = str(status.get("lastAttemptedRevision", ""))
        state, message = ready(document)
        at_chart = (
            status.get("lastAttemptedRevisionDigest") == chart
            if chart is not None
            else f"+{chart_revision}" in attempted
        )
        # helm-controller reports progress as Unknown; False at this chart is a failed install
        # or upgrade (remediated or not), so waiting gains nothing. It keeps observedGeneration
        # at the last spec it finished while it retries a failure, so a failure at this chart
        # counts whatever generation the status claims; success needs the current one.
        failed, reason = ready_condition(document) if document else (None, message)
        if at_chart and failed is False:
            raise ReconcileFailed(f"HelmRelease {release}: {reason}")
        return at_chart and bool(state), f"chart {attempted or 'none'}: {message}"

    wait_until(released, f"HelmRelease {release} Ready at {chart_revision}", deadline)


def _pulled_chart(flux: Flux, name: str, deadline: float) -> str | None:
    """Wait until the chart's OCIRepository `name` holds the artefact its spec pins (the applied
    commit's); returns that digest, or None when the applied commit has no such source (an
    earlier tree, whose chart came from git). A source that cannot pull it fails at once."""
    if flux.get("ocirepository", name) is None:
        return None
    flux.request("ocirepository", name)
    pinned = ""

    def pulled() -> tuple[bool, str]:
        nonlocal pinned
        document = flux.get("ocirepository", name)
        pinned = str(((document or {}).get("spec", {}).get("ref") or {}).get("digest", ""))
        artifact = ((document or {}).get("status", {}).get("artifact") or {}).get("revision", "")
        state, message = ready(document)
        if state is False:
            raise ReconcileFailed(f"OCIRepository {name}: {message}")
        return bool(pinned) and artifact == pinned and bool(state), f"at {artifact or 'nothing'}"

    wait_until(pulled, f"OCIRepository {name} at the pinned chart", deadline)
    return pinned
