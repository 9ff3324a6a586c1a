"""GitOps delivery on the local target: a promotion commit, then Flux reconciles it.

On AKS, Terraform's Flux configuration (iac/modules/gitops) follows this repository and applies
gitops/<env>; locally the harness runs the same Flux controllers and a git server, and this
module is the configuration's stand-in: the GitRepository (Flux's read-only account, the
cluster CA), the Kustomization of gitops/local with the local platform's substitutions, and the
ConfigMap of the values the push deploy passes as files (contract names, token issuer).

`deliver` writes the promotion commit: the working tree's gitops/ and helm-charts/ with the
image digests `publish` recorded set in gitops/local/helmrelease.yaml (image_promotion), on top
of the server's main, pushed with the pipeline's account. It then asks Flux to reconcile and
waits until the Kustomization applied that commit and the HelmRelease is Ready at it. A failed
reconciliation fails the stage with Flux's own message, after a revert commit has put the
previous promotion back and Flux has reconciled that. `revert` is the smoke stage's rollback.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipelines.core import contract, image_promotion
from pipelines.core.charts import CHARTS
from pipelines.core.stage import StageContext
from pipelines.targets import local_issuer
from pipelines.targets.cluster import Cluster, kubectl_binary
from tools.kube.kubectl import Kubectl
from tools.localcluster.interface import (
    FLUX_NAMESPACE,
    GIT_PUSHER,
    GIT_READER,
    REGISTRY_SERVER,
    git_url,
    state_paths,
)

FOLDER = Path("gitops") / "local"
RELEASE_FILE = FOLDER / "helmrelease.yaml"
DELIVERED = (Path("gitops"), CHARTS)
"""What a promotion commit carries from the working tree: Flux's folders and the charts."""
VENDORED = ("charts", "Chart.lock", "*.tgz")
"""Build outputs of `helm dependency build` that never go into git."""
AUTH_SECRET = "inventory-git-reader"  # noqa: S105 (a name)
PLATFORM_VALUES = "inventory-platform-local-values"
KUSTOMIZATION_SUFFIX = "-workloads"  # what AKS names a Flux configuration's kustomization
INTERVAL = "1m"
TIMEOUT = 15 * 60.0
POLL = 3.0
AUTHOR = ("inventory-pipeline", "inventory-pipeline@localhost")
FIELD_MANAGER = "inventory-pipeline"


class ReconcileFailed(Exception):
    """Flux said the revision cannot be applied; the message is Flux's."""


@dataclass(frozen=True)
class Names:
    """The objects of the local Flux configuration, named as Terraform's on AKS."""

    source: str
    kustomization: str
    release: str
    namespace: str

    @classmethod
    def from_contract(cls) -> Names:
        names = contract.load()
        return cls(
            source=names.release,
            kustomization=f"{names.release}{KUSTOMIZATION_SUFFIX}",
            release=names.release,
            namespace=names.namespace,
        )


def helm_release_ref() -> str:
    """NAMESPACE/NAME of the HelmRelease gitops/local declares (what the smoke suite checks)."""
    return f"{FLUX_NAMESPACE}/{Names.from_contract().release}"


def substitutions(names: Names) -> dict[str, str]:
    """What the Kustomization substitutes into gitops/local (post-build), by name."""
    return {
        "release": names.release,
        "namespace": names.namespace,
        "flux_source_name": names.source,
        "flux_source_namespace": FLUX_NAMESPACE,
        "registry_server": REGISTRY_SERVER,
        "platform_values": PLATFORM_VALUES,
    }


def platform_values() -> dict[str, Any]:
    """The values the push deploy passes as generated files, merged as helm merges them."""
    return _merge(contract.chart_values(contract.load()), local_issuer.chart_values())


def configuration(names: Names, ca: bytes, reader_password: str) -> list[dict[str, Any]]:
    """The local Flux configuration: source credentials, platform values, source, kustomization."""
    meta = {"namespace": FLUX_NAMESPACE, "labels": {"app.kubernetes.io/managed-by": FIELD_MANAGER}}
    values = yaml.safe_dump(platform_values(), sort_keys=True)
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": AUTH_SECRET, **meta},
            "type": "Opaque",
            "data": {
                key: base64.b64encode(value).decode()
                for key, value in {
                    "username": GIT_READER.encode(),
                    "password": reader_password.encode(),
                    "ca.crt": ca,
                }.items()
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": PLATFORM_VALUES, **meta},
            "data": {"values.yaml": values},
        },
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": names.source, **meta},
            "spec": {
                "url": git_url(),
                "ref": {"branch": "main"},
                "interval": INTERVAL,
                "secretRef": {"name": AUTH_SECRET},
            },
        },
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": names.kustomization, **meta},
            "spec": {
                "interval": INTERVAL,
                "path": f"./{FOLDER.as_posix()}",
                "prune": True,
                "sourceRef": {"kind": "GitRepository", "name": names.source},
                "postBuild": {"substitute": substitutions(names)},
            },
        },
    ]


# --- the promotion commit -------------------------------------------------------------------


@dataclass(frozen=True)
class Repository:
    """The harness's git server as the pipeline's account sees it."""

    url: str
    ca_file: Path
    password: str
    user: str = GIT_PUSHER

    def env(self) -> dict[str, str]:
        """git's environment: the account as a header (never in a URL or a log line)."""
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return {
            "GIT_SSL_CAINFO": str(self.ca_file),
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {token}",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": AUTHOR[0],
            "GIT_AUTHOR_EMAIL": AUTHOR[1],
            "GIT_COMMITTER_NAME": AUTHOR[0],
            "GIT_COMMITTER_EMAIL": AUTHOR[1],
        }


def repository() -> Repository:
    paths = state_paths()
    return Repository(
        url=git_url(),
        ca_file=paths.pki / "ca.crt",
        password=paths.git_password(GIT_PUSHER).read_text(encoding="utf-8").strip(),
    )


def git(checkout: Path, repo: Repository, *args: str) -> str:
    completed = subprocess.run(
        ["git", "-C", str(checkout), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**_base_env(), **repo.env()},
    )
    if completed.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {completed.stderr.strip()}")
    return completed.stdout.strip()


def _base_env() -> dict[str, str]:
    return {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}


def checkout(repo: Repository, into: Path) -> str | None:
    """Clone the server's main into `into`; returns its head commit (None while empty)."""
    into.mkdir(parents=True, exist_ok=True)
    git(into, repo, "init", "--quiet", "--initial-branch=main")
    git(into, repo, "remote", "add", "origin", repo.url)
    heads = git(into, repo, "ls-remote", "--heads", "origin", "main")
    if not heads:
        return None
    git(into, repo, "fetch", "--quiet", "origin", "main")
    git(into, repo, "checkout", "--quiet", "-B", "main", "FETCH_HEAD")
    return git(into, repo, "rev-parse", "HEAD")


def stage_tree(root: Path, into: Path) -> None:
    """Replace the checkout's delivered folders by the working tree's (build outputs left out)."""
    for folder in DELIVERED:
        target = into / folder
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(root / folder, target, ignore=shutil.ignore_patterns(*VENDORED))


def promotion_message(source_commit: str, digests: Mapping[str, str]) -> str:
    images = "\n".join(f"- {image}: {digest}" for image, digest in sorted(digests.items()))
    return f"Promote {source_commit[:12]} to local\n\n{images}\n"


def commit_promotion(
    root: Path,
    repo: Repository,
    work: Path,
    digests: Mapping[str, str],
    keys: Mapping[str, str],
    *,
    source_commit: str,
) -> tuple[str | None, str]:
    """Write and push the promotion commit; returns (previous head, new head). Nothing changed
    since the last promotion: no commit, both are the current head."""
    previous = checkout(repo, work)
    stage_tree(root, work)
    release = work / RELEASE_FILE
    text = release.read_text(encoding="utf-8")
    release.write_text(image_promotion.promote(text, digests, keys), encoding="utf-8")
    git(work, repo, "add", "--all", *(str(folder) for folder in DELIVERED))
    if previous is not None and not git(work, repo, "status", "--porcelain"):
        return previous, previous
    git(work, repo, "commit", "--quiet", "--message", promotion_message(source_commit, digests))
    git(work, repo, "push", "--quiet", "origin", "HEAD:refs/heads/main")
    return previous, git(work, repo, "rev-parse", "HEAD")


def revert_to(repo: Repository, work: Path, good: str) -> str:
    """A commit on top of main whose tree is `good`'s (every promotion since undone); pushed."""
    checkout(repo, work)
    head = git(work, repo, "rev-parse", "HEAD")
    git(work, repo, "read-tree", "--reset", "-u", good)
    git(
        work, repo, "commit", "--quiet", "--allow-empty",
        "--message", f"Revert to {good[:12]}\n\nUndoes {good[:12]}..{head[:12]}.\n",
    )  # fmt: skip
    git(work, repo, "push", "--quiet", "origin", "HEAD:refs/heads/main")
    return git(work, repo, "rev-parse", "HEAD")


# --- reconciliation -------------------------------------------------------------------------


@dataclass(frozen=True)
class Flux:
    """kubectl on the Flux objects of the local configuration."""

    ctx: StageContext
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


def ready(document: dict[str, Any] | None) -> tuple[bool | None, str]:
    """(Ready status, its message) of a Flux object at its current generation; None: unknown."""
    if document is None:
        return None, "not found"
    status = document.get("status", {})
    if status.get("observedGeneration", -1) < document["metadata"].get("generation", 0):
        return None, "its latest spec is not observed yet"
    for condition in status.get("conditions", []):
        if condition.get("type") == "Ready":
            state = {"True": True, "False": False}.get(condition.get("status", ""))
            return state, str(condition.get("message", ""))
    return None, "no Ready condition yet"


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


def reconcile(flux: Flux, commit: str, deadline: float) -> str:
    """Make Flux apply `commit` and wait for the HelmRelease to be Ready at it; returns the
    revision Flux reports."""
    names = flux.names
    revision = f"main@sha1:{commit}"
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
    flux.request("helmrelease", names.release)
    chart_revision = commit[:12]

    def released() -> tuple[bool, str]:
        document = flux.get("helmrelease", names.release)
        status = (document or {}).get("status", {})
        attempted = str(status.get("lastAttemptedRevision", ""))
        state, message = ready(document)
        # <version>+<12 hex of the commit>[.<HelmChart generation>], as source-controller
        # versions a chart built from a git revision with values files
        at_commit = f"+{chart_revision}" in attempted
        # helm-controller reports progress as Unknown; False at this chart is a failed install
        # or upgrade it has already remediated (rolled back), so waiting gains nothing
        if at_commit and state is False:
            raise ReconcileFailed(f"HelmRelease {names.release}: {message}")
        return at_commit and bool(state), f"chart {attempted or 'none'}: {message}"

    wait_until(released, f"HelmRelease {names.release} Ready at {chart_revision}", deadline)
    return revision


def flux_steps(ctx: StageContext, cluster: Cluster) -> Flux:
    env = ctx.tool_env(cluster.env())
    kubectl = Kubectl(kubectl_binary(ctx, env), namespace=FLUX_NAMESPACE, env=env)
    return Flux(ctx, kubectl, Names.from_contract())


def deliver(
    ctx: StageContext,
    cluster: Cluster,
    digests: Mapping[str, str],
    keys: Mapping[str, str],
) -> dict[str, Any]:
    """Promote `digests` by commit and wait for Flux to reconcile it; returns the record the
    smoke stage rolls back with (previous and delivered commit, reconciled revision)."""
    flux = flux_steps(ctx, cluster)
    repo = repository()
    paths = state_paths()
    reader = paths.git_password(GIT_READER).read_text(encoding="utf-8").strip()
    flux.apply(configuration(flux.names, repo.ca_file.read_bytes(), reader))
    source_commit = _source_commit(ctx.root)
    with tempfile.TemporaryDirectory(prefix="gitops-") as scratch:
        started = time.monotonic()
        previous, commit = commit_promotion(
            ctx.root, repo, Path(scratch) / "work", digests, keys, source_commit=source_commit
        )
        ctx.note(f"promotion commit {commit[:12]} on {repo.url} (previous {_short(previous)})")
        deadline = time.monotonic() + TIMEOUT
        try:
            revision = reconcile(flux, commit, deadline)
        except ReconcileFailed as failed:
            ctx.note(f"Flux refused {commit[:12]}: {failed}")
            if previous is None or previous == commit:
                ctx.fail(f"Flux could not reconcile {commit[:12]}: {failed}")
            reverted = revert_to(repo, Path(scratch) / "revert", previous)
            ctx.note(f"reverted by {reverted[:12]} to {previous[:12]}; waiting for Flux")
            try:
                reconcile(flux, reverted, time.monotonic() + TIMEOUT)
            except ReconcileFailed as again:
                ctx.fail(
                    f"Flux could not reconcile {commit[:12]}: {failed}; the revert to "
                    f"{previous[:12]} did not reconcile either: {again}"
                )
            ctx.fail(
                f"Flux could not reconcile {commit[:12]}: {failed}; reverted to "
                f"{previous[:12]}, which Flux reconciled"
            )
        took = time.monotonic() - started
    ctx.note(f"Flux reconciled {revision}: HelmRelease {flux.names.release} Ready in {took:.1f} s")
    return {
        "delivery": "flux",
        "commit": commit,
        "previous_commit": previous,
        "reconciled": revision,
    }


def revert(ctx: StageContext, cluster: Cluster, record: Mapping[str, Any]) -> str:
    """The smoke stage's rollback: main back to the previous promotion, reconciled."""
    previous = record.get("previous_commit")
    if not previous:
        ctx.fail(
            f"promotion {str(record.get('commit'))[:12]} is the first, so there is nothing to "
            "revert to (left in place for inspection)"
        )
    flux = flux_steps(ctx, cluster)
    with tempfile.TemporaryDirectory(prefix="gitops-") as scratch:
        reverted = revert_to(repository(), Path(scratch) / "work", str(previous))
    try:
        return reconcile(flux, reverted, time.monotonic() + TIMEOUT)
    except ReconcileFailed as failed:
        ctx.fail(f"the revert {reverted[:12]} to {str(previous)[:12]} did not reconcile: {failed}")


def _source_commit(root: Path) -> str:
    completed = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    return completed.stdout.strip() or "working-tree"


def _short(commit: str | None) -> str:
    return commit[:12] if commit else "none"


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
