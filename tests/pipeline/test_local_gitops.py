"""The local target's GitOps delivery against its push deploy: the same releases either way.

gitops/local as a promotion commit leaves it (image and chart digests of cert-manager's release
and the umbrella's), built by kustomize as kustomize-controller builds it, with the
substitutions and the platform-values ConfigMap of the local Flux configuration
(pipelines/targets/local_gitops), rendered release by release as helm-controller installs it,
must render what `deploy --target local` pushes with the same digests. It must use exactly the
substitutions the configuration passes, and each chart source must be the registry publish
pushes to, read with the configuration's Secrets. Then fixtures that break each part.
"""

from __future__ import annotations

import copy
import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.core import contract
from pipelines.core.charts import CERT_MANAGER, CHART_REPOSITORY, CHARTS, UMBRELLA
from pipelines.stages.deploy import CHART_IMAGES, cert_manager_values, install_args, releases
from pipelines.targets import local_gitops
from tests.contract.relations import FLUX_VARIABLE, substituted
from tests.pipeline.local_release import render_local, template
from tests.support.gitops_build import (
    CERT_MANAGER_RELEASE,
    UMBRELLA_RELEASE,
    Built,
    build,
    promoted_tree,
    values_from,
)
from tests.support.tools import REPO_ROOT
from tools.localcluster.interface import REGISTRY_SERVER

pytestmark = pytest.mark.slow

FOLDER = REPO_ROOT / local_gitops.FOLDER
DIGESTS = {
    image: f"sha256:{hashlib.sha256(image.encode()).hexdigest()}"
    for keys in CHART_IMAGES.values()
    for image in keys
}
CHART_DIGESTS = {
    chart: f"sha256:{hashlib.sha256(chart.encode()).hexdigest()}" for chart in CHART_IMAGES
}
"""What publish records for each chart's artefact, by chart."""
RELEASES = {CERT_MANAGER_RELEASE: CERT_MANAGER, UMBRELLA_RELEASE: UMBRELLA}
"""The folder's HelmReleases (by their names before substitution) and the chart each installs."""


def variables(node: Any) -> set[str]:
    return set(FLUX_VARIABLE.findall(yaml.safe_dump(node)))


def configuration() -> dict[str, dict[str, Any]]:
    """The local Flux configuration's objects by kind (Secrets by name)."""
    objects = local_gitops.configuration(local_gitops.names(), b"ca", "secret", b"{}")
    by_kind = {document["kind"]: document for document in objects}
    by_kind.update({d["metadata"]["name"]: d for d in objects if d["kind"] == "Secret"})
    return by_kind


def substitutions() -> dict[str, str | None]:
    return dict(configuration()["Kustomization"]["spec"]["postBuild"]["substitute"])


def as_installed(document: dict[str, Any]) -> dict[str, Any]:
    """A built document after Flux's post-build substitution."""
    return dict(substituted(document, substitutions()))


@pytest.fixture(scope="module")
def promoted(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """gitops/local as the promotion commit leaves it, built."""
    work = tmp_path_factory.mktemp("promoted")
    folder = promoted_tree(
        work,
        local_gitops.ENVIRONMENT,
        DIGESTS,
        CHART_DIGESTS[UMBRELLA],
        CHART_DIGESTS[CERT_MANAGER],
    )
    return build(folder)


def umbrella(built: Built) -> dict[str, Any]:
    """The umbrella's HelmRelease, the one the platform values and drift rules are about."""
    return built.named("HelmRelease", UMBRELLA_RELEASE)


def flux_values(built: Built, release: dict[str, Any], work: Path) -> list[Path]:
    """The values files helm-controller merges over the chart's values.yaml: each valuesFrom
    in order (the build's ConfigMaps and the configuration's), then the inline values."""
    spec = as_installed(release)["spec"]
    platform = configuration()["ConfigMap"]
    installed = [as_installed(d) for d in built.config_maps().values()]
    maps = {d["metadata"]["name"]: d for d in [*installed, platform]}
    files = []
    for number, text in enumerate(values_from(as_installed(release), maps)):
        path = work / f"values-from-{number}.yaml"
        path.write_text(text, encoding="utf-8")
        files.append(path)
    inline = work / "inline-values.yaml"
    inline.write_text(yaml.safe_dump(spec.get("values", {})), encoding="utf-8")
    return [*files, inline]


def flux_render(built: Built, release: dict[str, Any], work: Path) -> list[dict[str, Any]]:
    """helm template of what helm-controller installs for `release`: the chart its OCIRepository
    pulls, with flux_values, into its release and namespace."""
    chart = as_installed(built.chart_source(release))["spec"]["url"].rsplit("/", 1)[-1]
    values = flux_values(built, release, work)
    if chart == UMBRELLA:
        return render_local(work, values, only_extra=True)
    spec = as_installed(release)["spec"]
    return template(
        install_args(
            REPO_ROOT / CHARTS / chart,
            values,
            [],
            release=spec["releaseName"],
            namespace=spec["targetNamespace"],
        )
    )


def images_file(work: Path, chart: str) -> Path:
    """The chart's image values with the registry and the digests a promotion pins (tags aside:
    the push deploy also sets publish's, which a HelmRelease leaves at the chart's own; the
    digest is what the node pulls)."""
    images: dict[str, Any] = {}
    for image, key in CHART_IMAGES[chart].items():
        node = images
        for part in key.split("."):
            node = node.setdefault(part, {})
        node.update({"registry": REGISTRY_SERVER, "digest": DIGESTS[image]})
    path = work / f"push-images-{chart}.yaml"
    path.write_text(yaml.safe_dump(images), encoding="utf-8")
    return path


def push_render(work: Path, chart: str) -> list[dict[str, Any]]:
    """What the push deploy renders for the release of `chart` with the same registry and
    digests: cert-manager as the deploy stage's plan installs it, the umbrella as
    render_local does."""
    if chart == UMBRELLA:
        return render_local(work, [images_file(work, chart)])
    (platform,) = [
        step
        for step in releases(
            REPO_ROOT / CHARTS,
            local_gitops.ENVIRONMENT,
            generated=[],
            platform_values=cert_manager_values(work),
            images={},
            digests={},
        )
        if step.chart.name == chart
    ]
    values = [*platform.values, images_file(work, chart)]
    return template(
        install_args(
            platform.chart, values, [], release=platform.name, namespace=platform.namespace
        )
    )


def differences(push: list[dict[str, Any]], flux: list[dict[str, Any]]) -> list[str]:
    def key(document: dict[str, Any]) -> str:
        return f"{document['kind']} {document['metadata']['name']}"

    def comparable(document: dict[str, Any]) -> dict[str, Any]:
        if document.get("kind") != "Secret":  # Patroni's generated passwords differ per render
            return document
        return {**document, "data": dict.fromkeys(document.get("data") or {}, "<generated>")}

    pushed = {key(d): comparable(d) for d in push}
    fluxed = {key(d): comparable(d) for d in flux}
    return [
        name for name in sorted(set(pushed) | set(fluxed)) if pushed.get(name) != fluxed.get(name)
    ]


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """The push deploy's render of each chart's release."""
    return {chart: push_render(tmp_path_factory.mktemp(chart), chart) for chart in CHART_IMAGES}


@pytest.fixture(scope="module")
def push(pushed: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The push deploy's render of the umbrella."""
    return pushed[UMBRELLA]


def breaks(push: list[dict[str, Any]], built: Built, release: dict[str, Any], work: Path) -> bool:
    """The release renders otherwise than push, or the chart refuses its values."""
    try:
        return bool(differences(push, flux_render(built, release, work)))
    except subprocess.CalledProcessError:
        return True


def test_the_folder_uses_exactly_the_substitutions_the_configuration_passes(
    promoted: Built,
) -> None:
    assert variables(list(promoted.documents)) == set(substitutions())


def contract_release(chart: str) -> tuple[str, str]:
    """(release, namespace) the contract gives the release of `chart`."""
    names = contract.load()
    platform = (names.cert_manager["release"], names.cert_manager["namespace"])
    return platform if chart == CERT_MANAGER else (names.release, names.namespace)


@pytest.mark.parametrize(("name", "chart"), RELEASES.items(), ids=RELEASES.values())
def test_it_installs_the_contracts_release_from_the_pinned_chart(
    promoted: Built, name: str, chart: str
) -> None:
    release = promoted.named("HelmRelease", name)
    spec = as_installed(release)["spec"]
    source = as_installed(promoted.chart_source(release))
    flux = local_gitops.names()
    installed, namespace = contract_release(chart)
    assert (spec["releaseName"], spec["targetNamespace"]) == (installed, namespace)
    assert spec["storageNamespace"] == namespace
    where = {"name": dict(flux.helm_releases())[installed], "namespace": flux.namespace}
    assert spec["chartRef"] == {"kind": "OCIRepository", **where}
    assert {key: source["metadata"][key] for key in where} == where
    assert source["spec"]["ref"] == {"digest": CHART_DIGESTS[chart]}


@pytest.mark.parametrize(("name", "chart"), RELEASES.items(), ids=RELEASES.values())
def test_its_chart_is_where_publish_pushes_it_read_with_the_configurations_secrets(
    promoted: Built, name: str, chart: str
) -> None:
    spec = as_installed(promoted.chart_source(promoted.named("HelmRelease", name)))["spec"]
    assert spec["url"] == f"oci://{REGISTRY_SERVER}/{CHART_REPOSITORY}/{chart}"
    login = configuration()[spec["secretRef"]["name"]]
    assert login["type"] == "kubernetes.io/dockerconfigjson"
    assert set(login["data"]) == {".dockerconfigjson"}
    assert set(configuration()[spec["certSecretRef"]["name"]]["data"]) == {"ca.crt"}


@pytest.mark.parametrize(("name", "chart"), RELEASES.items(), ids=RELEASES.values())
def test_flux_renders_what_the_push_deploy_renders(
    pushed: dict[str, list[dict[str, Any]]], promoted: Built, tmp_path: Path, name: str, chart: str
) -> None:
    release = promoted.named("HelmRelease", name)
    assert differences(pushed[chart], flux_render(promoted, release, tmp_path)) == []


def replica_drift(release: dict[str, Any], rendered: list[dict[str, Any]]) -> list[str]:
    """Workload kinds with a replica count whose /spec/replicas drift detection would put
    back (the HPA and the runbooks change them on purpose)."""
    ignored = {
        rule["target"]["kind"]
        for rule in release["spec"].get("driftDetection", {}).get("ignore", [])
        if "/spec/replicas" in rule.get("paths", []) and "kind" in rule.get("target", {})
    }
    kinds = {d["kind"] for d in rendered if "replicas" in d.get("spec", {})}
    return sorted(kinds - ignored)


def test_drift_detection_leaves_every_replica_count_to_its_operators(
    push: list[dict[str, Any]], promoted: Built
) -> None:
    assert replica_drift(umbrella(promoted), push) == []


# --- broken cases ---------------------------------------------------------------------------


def test_a_release_without_the_platform_values_renders_otherwise(
    push: list[dict[str, Any]], promoted: Built, tmp_path: Path
) -> None:
    broken = copy.deepcopy(umbrella(promoted))
    broken["spec"]["valuesFrom"] = broken["spec"]["valuesFrom"][:1]
    assert breaks(push, promoted, broken, tmp_path)


def test_a_release_without_the_environments_values_renders_otherwise(
    push: list[dict[str, Any]], promoted: Built, tmp_path: Path
) -> None:
    broken = copy.deepcopy(umbrella(promoted))
    broken["spec"]["valuesFrom"] = broken["spec"]["valuesFrom"][1:]
    assert differences(push, flux_render(promoted, broken, tmp_path))


@pytest.mark.parametrize(("name", "chart"), RELEASES.items(), ids=RELEASES.values())
def test_an_unpromoted_release_renders_otherwise(
    pushed: dict[str, list[dict[str, Any]]], tmp_path: Path, name: str, chart: str
) -> None:
    unpromoted = build(FOLDER)
    assert breaks(pushed[chart], unpromoted, unpromoted.named("HelmRelease", name), tmp_path)


def test_a_cert_manager_release_without_its_served_namespace_renders_otherwise(
    pushed: dict[str, list[dict[str, Any]]], promoted: Built, tmp_path: Path
) -> None:
    """Without servedNamespace the controller serves its own namespace, not the workloads'."""
    broken = copy.deepcopy(promoted.named("HelmRelease", CERT_MANAGER_RELEASE))
    del broken["spec"]["values"]["servedNamespace"]
    assert differences(pushed[CERT_MANAGER], flux_render(promoted, broken, tmp_path))


def test_a_statefulset_replica_count_under_drift_detection_is_reported(
    push: list[dict[str, Any]], promoted: Built
) -> None:
    broken = copy.deepcopy(umbrella(promoted))
    rules = broken["spec"]["driftDetection"]["ignore"]
    broken["spec"]["driftDetection"]["ignore"] = [
        rule for rule in rules if rule["target"]["kind"] != "StatefulSet"
    ]
    assert replica_drift(broken, push) == ["StatefulSet"]


def test_a_substitution_the_configuration_does_not_pass_is_reported(promoted: Built) -> None:
    broken = copy.deepcopy(promoted.chart_source(umbrella(promoted)))
    broken["spec"]["url"] = f"oci://${{acr_login_server}}/{CHART_REPOSITORY}/{UMBRELLA}"
    assert variables(broken) - set(substitutions()) == {"acr_login_server"}
