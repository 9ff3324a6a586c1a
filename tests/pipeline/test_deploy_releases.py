"""The deploy stage's releases: cert-manager first, serving the workloads' namespace, then the
umbrella, whose charts need the APIs the platform release installs."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.core import contract
from pipelines.core.charts import (
    CHARTS,
    CRD_FILES,
    PLATFORM_CHARTS,
    RELEASED_CHARTS,
    UMBRELLA,
    staged_charts,
)
from pipelines.core.stage import Options, StageContext, StageFailed
from pipelines.stages import STAGES
from pipelines.stages.build import CERT_MANAGER_IMAGE, IMAGES
from pipelines.stages.deploy import (
    Release,
    cert_manager_values,
    contract_values,
    local_values,
    platform_api_versions,
    releases,
    upgrade,
    upgrade_hint,
)
from pipelines.stages.publish import remote_reference
from tests.pipeline.local_release import API_VERSIONS as LOCAL_APIS
from tests.support.tools import REPO_ROOT, require_tool
from tools.containers.catalog import CATALOG
from tools.localcluster.certmanager import REFERENCE
from tools.localcluster.interface import REGISTRY_SERVER

BUILT = {
    **{image: CATALOG[image].reference("0123abcd") for image in IMAGES},
    CERT_MANAGER_IMAGE: f"{REFERENCE}:1.21.2-0123456789ab",
}
# what `publish --target local` records: each image in the cluster's registry, and its digest
PUBLISHED = {image: remote_reference(REGISTRY_SERVER, ref) for image, ref in BUILT.items()}
DIGESTS = {image: "sha256:" + hashlib.sha256(image.encode()).hexdigest() for image in BUILT}


def _plan(work: Path, env: str, charts: Path = REPO_ROOT / CHARTS) -> list[Release]:
    """The deploy stage's releases, with the values files it generates for `env` (locally the
    token issuer's too; on Azure the Terraform outputs' are left out: these tests need none)."""
    local = [local_values(work)] if env == "local" else []
    return releases(
        charts,
        env,
        generated=[*local, contract_values(work)],
        platform_values=cert_manager_values(work),
        images=PUBLISHED,
        digests=DIGESTS,
    )


def test_cert_manager_is_installed_before_the_workloads(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "local")
    assert [step.chart.name for step in plan] == [*PLATFORM_CHARTS, UMBRELLA]
    names = contract.load()
    assert [(step.name, step.namespace) for step in plan] == [
        (names.cert_manager["release"], names.cert_manager["namespace"]),
        (names.release, names.namespace),
    ]


@pytest.mark.parametrize("env", ["local", "prod"])
def test_the_platform_release_serves_the_workloads_namespace(tmp_path: Path, env: str) -> None:
    platform, workloads = _plan(tmp_path, env)
    generated = yaml.safe_load(platform.values[-1].read_text(encoding="utf-8"))
    assert generated["servedNamespace"] == workloads.namespace
    assert platform.values == (cert_manager_values(tmp_path),), f"no values-{env}.yaml to add"


def test_every_release_pins_each_of_its_images_by_the_published_digest(tmp_path: Path) -> None:
    for step in _plan(tmp_path, "local"):
        settings = dict(arg.split("=", 1) for arg in step.images if "=" in arg)
        registries = {v for k, v in settings.items() if k.endswith(".registry")}
        assert registries == {REGISTRY_SERVER}, step.name
        pinned = {v for k, v in settings.items() if k.endswith(".digest")}
        repositories = [k for k in settings if k.endswith(".repository")]
        assert len(pinned) == len(repositories) > 0, step.name
        assert pinned <= set(DIGESTS.values()), step.name


def test_each_release_installs_the_published_chart_artefact_by_digest(tmp_path: Path) -> None:
    """The chart folder only names the release's values; helm installs the pushed archive."""
    charts = {
        name: {
            "reference": f"oci://{REGISTRY_SERVER}/charts/{name}",
            "version": "0.1.0+0123456789ab",
            "digest": "sha256:" + hashlib.sha256(name.encode()).hexdigest(),
        }
        for name in RELEASED_CHARTS
    }
    pull = ["--registry-config", "/state/auth.json", "--ca-file", "/state/ca.crt"]
    plan = _plan(tmp_path, "local")
    assert [step.chart.name for step in plan] == list(RELEASED_CHARTS)
    for step in plan:
        chart = charts[step.chart.name]
        args = step.published(chart, pull).args()
        assert args[:2] == [step.name, f"{chart['reference']}@{chart['digest']}"]
        assert str(step.chart) not in args
        assert args[2:] == [*step.args()[2:], *pull], "values, images and waits unchanged"


def _repositories(step: Release) -> set[str]:
    return {arg.split("=", 1)[1] for arg in step.images if ".repository=" in arg}


def test_each_release_gets_only_its_own_images(tmp_path: Path) -> None:
    platform, workloads = _plan(tmp_path, "local")
    controller = PUBLISHED[CERT_MANAGER_IMAGE].rsplit(":", 1)[0].split("/", 1)[1]
    assert _repositories(platform) == {controller}
    assert controller not in _repositories(workloads)
    assert len(_repositories(workloads)) == len(IMAGES)


def _render_umbrella(
    helm: str, charts: Path, work: Path, env: str
) -> subprocess.CompletedProcess[str]:
    """The umbrella as the plan installs it on the local target, against what the cluster serves
    there before it (Traefik's CRDs, the monitoring APIs) and what the platform releases serve."""
    (*_, workloads) = _plan(work, env, charts)
    subprocess.run(
        [helm, "dependency", "build", "--skip-refresh", str(workloads.chart)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    served = (*LOCAL_APIS, *platform_api_versions(charts))
    apis = [arg for api in served for arg in ("--api-versions", api)]
    return subprocess.run(
        [helm, "template", *workloads.args(), "--kube-version", "1.34.2", *apis],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("drop_crds", [False, True], ids=["platform", "platform-without-crds"])
def test_the_workloads_render_only_after_a_platform_that_serves_their_apis(
    tmp_path: Path, drop_crds: bool
) -> None:
    helm = require_tool("helm", "make tools")
    with staged_charts(REPO_ROOT) as charts:
        if drop_crds:
            for path in charts.glob(f"{PLATFORM_CHARTS[0]}/{CRD_FILES}"):
                path.unlink()
        result = _render_umbrella(helm, charts, tmp_path, "local")
    if drop_crds:
        assert result.returncode != 0
        assert "the cluster serves no cert-manager.io/v1 API" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert "kind: Certificate" in result.stdout


# What the API server answers when an upgrade turns a one-server release into Patroni members.
IMMUTABLE = (
    'Error: UPGRADE FAILED: cannot patch "inventory-platform-postgresql" with kind StatefulSet: '
    'StatefulSet.apps "inventory-platform-postgresql" is invalid: spec: Forbidden: updates to '
    "statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
    "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
)


def test_an_upgrade_refused_for_an_immutable_statefulset_field_says_what_to_do() -> None:
    hint = upgrade_hint(["Upgrading inventory-platform", IMMUTABLE])
    assert hint is not None
    assert "podManagementPolicy" in hint
    assert "docs/disaster-recovery.md" in hint
    assert (REPO_ROOT / "docs" / "disaster-recovery.md").is_file()


def test_other_upgrade_failures_get_no_hint() -> None:
    assert upgrade_hint(["Error: UPGRADE FAILED: context deadline exceeded"]) is None


DEPLOY = next(stage for stage in STAGES if stage.name == "deploy")


@pytest.mark.parametrize(
    ("refusal", "hinted"), [(IMMUTABLE, True), ("Error: UPGRADE FAILED: timed out", False)]
)
def test_a_refused_upgrade_is_one_failed_step_that_says_what_to_do_when_known(
    tmp_path: Path, refusal: str, hinted: bool
) -> None:
    # a real program where helm goes: it answers the upgrade as the API server refused it
    helm = tmp_path / "helm"
    helm.write_text(f"#!{sys.executable}\nimport sys\nsys.exit({refusal!r})\n")
    helm.chmod(0o755)
    ctx = StageContext(DEPLOY, Options(root=tmp_path, reports=tmp_path), echo=lambda _line: None)
    step = Release("inventory-platform", "inventory", tmp_path / "chart", (), ())

    with pytest.raises(StageFailed) as failed:
        upgrade(ctx, str(helm), step, {})

    [record] = ctx.steps
    assert not record.ok
    assert record.name == "helm upgrade inventory-platform"
    assert str(failed.value) == record.message
    assert record.message.startswith("helm upgrade inventory-platform exited 1: Error:")
    hint = upgrade_hint([IMMUTABLE])
    assert hint is not None
    assert record.message.endswith(f": {hint}") is hinted
