"""The deploy stage's refusal path, driven for real: a promotion Flux cannot install is
reverted by commit, the revert is reconciled, and the stage fails with Flux's own message.

The drill runs `gitops_delivery.deliver`, the function the deploy stage calls, against the live
local cluster's Flux controllers, git server and registry, on a channel of its own (branch,
folder, a one-ConfigMap chart pushed to the registry and pinned by digest as the umbrella is, a
scratch namespace) so the deployed release is never touched. First a good promotion becomes
Ready; then one whose chart the API server refuses (an invalid object name), and one whose chart
digest the registry does not hold, must each fail the stage after the revert is reconciled,
leaving the good tree on the branch and its ConfigMap in place. Everything the drill made is
removed afterwards (its charts stay in the registry, which never deletes).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.core import gitops_commits
from pipelines.core.stage import Options, StageContext, StageFailed
from pipelines.stages import STAGES
from pipelines.targets import gitops_delivery, local_gitops
from pipelines.targets.cluster import Cluster, find_cluster, local_paths
from pipelines.targets.flux_reconcile import Flux, Names, flux_on
from pipelines.targets.registry_login import local_registry
from tests.support.tools import require_tool
from tools.localcluster.interface import FLUX_NAMESPACE, REGISTRY_SERVER

pytestmark = pytest.mark.slow

PREFIX = "refusal-drill"
DRILL = f"{PREFIX}-{secrets.token_hex(3)}"
"""Every run's own name (release, source, namespace, branch), so a run never meets the objects
of an earlier one that is still being deleted, or that a killed run left behind."""
LABEL = f"inventory-platform/drill={PREFIX}"
NAMESPACE = DRILL
BRANCH = f"drills/{DRILL}"
FOLDER = Path("gitops") / PREFIX
CHART = Path("helm-charts") / PREFIX
REPOSITORY = "drills"
"""The registry path of the drill's charts, apart from the released ones under charts/."""
PUSHED = re.compile(r"Digest: (sha256:[0-9a-f]{64})")
KEYS = {"drill": "image"}
"""image -> its values key in the drill's HelmRelease, as IMAGE_VALUES is for the umbrella."""
DEPLOY = next(stage for stage in STAGES if stage.name == "deploy")


def digest(seed: str) -> dict[str, str]:
    return {"drill": f"sha256:{hashlib.sha256(seed.encode()).hexdigest()}"}


def pins(seed: str, chart: str) -> dict[str, gitops_delivery.Pinned]:
    """The drill's one release: its image digest and its chart's."""
    return {DRILL: gitops_delivery.Pinned(digest(seed), KEYS, chart)}


def write_tree(root: Path, configmap_name: str) -> None:
    """The drill's gitops/ and helm-charts/: a HelmRelease of a chart with one ConfigMap, from
    the registry."""
    (root / FOLDER).mkdir(parents=True, exist_ok=True)
    (root / CHART / "templates").mkdir(parents=True, exist_ok=True)
    (root / FOLDER / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources:\n  - chart.yaml\n  - helmrelease.yaml\n",
        encoding="utf-8",
    )
    (root / FOLDER / "chart.yaml").write_text(
        textwrap.dedent(
            f"""\
            apiVersion: source.toolkit.fluxcd.io/v1
            kind: OCIRepository
            metadata:
              name: {DRILL}-chart
              namespace: {FLUX_NAMESPACE}
            spec:
              interval: 10m
              url: oci://{REGISTRY_SERVER}/{REPOSITORY}/{PREFIX}
              secretRef:
                name: {DRILL}-registry-reader
              certSecretRef:
                name: {DRILL}-cluster-ca
              ref:
                digest: ""
              layerSelector:
                mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip
                operation: copy
            """
        ),
        encoding="utf-8",
    )
    (root / FOLDER / "helmrelease.yaml").write_text(
        textwrap.dedent(
            f"""\
            apiVersion: helm.toolkit.fluxcd.io/v2
            kind: HelmRelease
            metadata:
              name: {DRILL}
              namespace: {FLUX_NAMESPACE}
            spec:
              releaseName: {DRILL}
              targetNamespace: {NAMESPACE}
              storageNamespace: {NAMESPACE}
              interval: 10m
              timeout: 2m
              install:
                createNamespace: true
                remediation:
                  retries: 1
              upgrade:
                remediation:
                  retries: 1
                  remediateLastFailure: true
              chartRef:
                kind: OCIRepository
                name: {DRILL}-chart
                namespace: {FLUX_NAMESPACE}
              values:
                image:
                  digest: ""
            """
        ),
        encoding="utf-8",
    )
    (root / CHART / "Chart.yaml").write_text(
        f"apiVersion: v2\nname: {PREFIX}\nversion: 0.1.0\n", encoding="utf-8"
    )
    (root / CHART / "templates" / "configmap.yaml").write_text(
        textwrap.dedent(
            f"""\
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: {configmap_name}
            data:
              digest: {{{{ .Values.image.digest | quote }}}}
            """
        ),
        encoding="utf-8",
    )


def push_chart(ctx: StageContext, version: str) -> str:
    """Package the drill's chart and push it as publish pushes the released ones; its digest."""
    helm = require_tool("helm")
    login = local_registry(ctx)
    packages = ctx.root / "packages"
    subprocess.run(
        [helm, "package", str(ctx.root / CHART), "--version", version, "-d", str(packages)],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    pushed = subprocess.run(
        [helm, "push", str(packages / f"{PREFIX}-{version}.tgz"),
         f"oci://{login.server}/{REPOSITORY}", *login.helm_options()],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    found = PUSHED.search(pushed.stdout + pushed.stderr)
    assert found, f"helm push printed no digest: {pushed.stdout}{pushed.stderr}"
    return found[1]


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> StageContext:
    root = tmp_path_factory.mktemp("drill-tree")
    options = Options(root=root, reports=root / "reports", target="local", env=None)
    return StageContext(DEPLOY, options, echo=lambda _line: None)


@pytest.fixture(scope="module")
def cluster(ctx: StageContext) -> Cluster:
    return find_cluster(ctx)


@pytest.fixture(scope="module")
def channel(ctx: StageContext, cluster: Cluster) -> Iterator[gitops_delivery.Channel]:
    """The drill's channel on the harness's git server, with a configuration like the local
    one; removed afterwards (pruning uninstalls the release), with its branch."""
    local = local_gitops.channel()
    names = Names.pinned(namespace=FLUX_NAMESPACE, source=DRILL, release=DRILL)
    assert local.repository.ca_file is not None
    ca = local.repository.ca_file.read_bytes()
    registry_auth = local_paths().registry_auth_file.read_bytes()
    objects = [
        *local_gitops.source_objects(names, ca, local_gitops.reader_password(), BRANCH),
        *local_gitops.registry_objects(names, ca, registry_auth),
        local_gitops.kustomization(names, FOLDER, {}),
    ]
    for document in objects:
        key, value = LABEL.split("=")
        document["metadata"]["labels"][key] = value
    drill = gitops_delivery.Channel(
        environment=DRILL,
        repository=local.repository,
        branch=BRANCH,
        release_file=FOLDER / "helmrelease.yaml",
        names=names,
        configuration=tuple(objects),
    )
    flux = flux_on(ctx, cluster, names)
    _remove_leftovers(flux)
    try:
        yield drill
    finally:
        _remove(flux, drill, ctx.root)


def _remove_leftovers(flux: Flux) -> None:
    """What a run left, or a killed run: its configuration (pruning uninstalls its release and
    its chart source), its Secrets, its namespace."""
    kubectl = flux.kubectl
    kubectl.run("delete", "kustomization", "-l", LABEL, "--wait=true", "--timeout=120s",
                check=False, timeout=180)  # fmt: skip
    kubectl.run("delete", "gitrepository,secret", "-l", LABEL, check=False, timeout=120)
    listed = kubectl.run("get", "namespaces", "-o", "name", check=False, timeout=60).stdout
    for namespace in listed.split():
        if namespace.startswith(f"namespace/{PREFIX}-"):
            kubectl.run("delete", namespace, "--wait=false", check=False, timeout=60)


def _remove(flux: Flux, drill: gitops_delivery.Channel, scratch: Path) -> None:
    """This run's objects once its release is gone, and its branch."""
    kubectl = flux.kubectl
    kubectl.run("delete", "kustomization", drill.names.kustomization, "--ignore-not-found",
                "--wait=true", "--timeout=120s", check=False, timeout=180)  # fmt: skip
    kubectl.run("wait", "--for=delete", f"helmrelease/{DRILL}", "--timeout=120s",
                check=False, timeout=180)  # fmt: skip
    _remove_leftovers(flux)
    work = scratch / "cleanup"
    if gitops_commits.checkout(drill.repository, work, drill.branch) is not None:
        gitops_commits.git(work, drill.repository, "push", "--quiet", "origin",
                           f":refs/heads/{drill.branch}")  # fmt: skip


def configmap_digest(flux: Flux, name: str) -> str | None:
    result = flux.kubectl.run("get", "configmap", name, f"--namespace={NAMESPACE}",
                              "-o", "jsonpath={.data.digest}", check=False, timeout=60)  # fmt: skip
    return result.stdout if result.returncode == 0 else None


def test_a_refused_promotion_is_reverted_and_the_stage_fails_with_fluxs_message(
    ctx: StageContext, cluster: Cluster, channel: gitops_delivery.Channel,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    flux = flux_on(ctx, cluster, channel.names)
    write_tree(ctx.root, "drill")
    good_chart = push_chart(ctx, "0.1.0")
    started = time.monotonic()
    good = gitops_delivery.deliver(ctx, cluster, channel, pins("good", good_chart))
    took_good = time.monotonic() - started
    assert good["previous_commit"] is None
    assert configmap_digest(flux, "drill") == digest("good")["drill"]

    write_tree(ctx.root, "Not_A_Valid_Name")  # the API server refuses it; helm renders it
    refused_chart = push_chart(ctx, "0.2.0")
    started = time.monotonic()
    with pytest.raises(StageFailed) as failed:
        gitops_delivery.deliver(ctx, cluster, channel, pins("bad", refused_chart))
    took_refusal = time.monotonic() - started
    message = str(failed.value)
    bad = re.search(r"Flux could not reconcile ([0-9a-f]{12})", message)
    assert bad, message
    assert f"reverted to {good['commit'][:12]}, which Flux reconciled" in message
    assert f"HelmRelease {DRILL}: " in message, "the stage passes on Flux's own message"

    work = ctx.root / "check"
    head = gitops_commits.checkout(channel.repository, work, channel.branch)
    assert head is not None
    trees = subprocess.run(
        ["git", "-C", str(work), "rev-parse", f"{head}^{{tree}}", f"{good['commit']}^{{tree}}"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert trees[0] == trees[1], "the branch holds the good promotion's tree again"
    assert configmap_digest(flux, "drill") == digest("good")["drill"], "the good release runs"
    with capsys.disabled():
        print(
            f"\nrefusal drill: good promotion Ready in {took_good:.1f} s; refused promotion "
            f"reverted and reconciled, stage failed after {took_refusal:.1f} s: {message}",
            flush=True,
        )


def test_a_chart_the_registry_does_not_hold_fails_at_its_source_and_is_reverted(
    ctx: StageContext, cluster: Cluster, channel: gitops_delivery.Channel,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """After the refusal above, the branch holds the good tree; a promotion pinning a digest
    nobody pushed must fail at the OCIRepository, not wait out the HelmRelease's timeout."""
    flux = flux_on(ctx, cluster, channel.names)
    before = gitops_commits.checkout(channel.repository, ctx.root / "before", channel.branch)
    assert before is not None
    write_tree(ctx.root, "drill")
    absent = f"sha256:{hashlib.sha256(DRILL.encode()).hexdigest()}"
    started = time.monotonic()
    with pytest.raises(StageFailed) as failed:
        gitops_delivery.deliver(ctx, cluster, channel, pins("absent", absent))
    took = time.monotonic() - started
    message = str(failed.value)
    assert f"OCIRepository {DRILL}-chart: " in message, "the stage passes on the source's message"
    assert f"reverted to {before[:12]}, which Flux reconciled" in message
    assert configmap_digest(flux, "drill") == digest("good")["drill"], "the good release runs"
    with capsys.disabled():
        print(f"\nunpullable chart: reverted, stage failed after {took:.1f} s: {message}")
