"""The local target's GitOps delivery against its push deploy: the same release either way.

gitops/local as a promotion commit leaves it (image and chart digests), built by kustomize as
kustomize-controller builds it, with the substitutions and the platform-values ConfigMap of the
local Flux configuration (pipelines/targets/local_gitops), rendered as helm-controller installs
it, must render what `deploy --target local` pushes with the same digests. It must use exactly
the substitutions the configuration passes, and its chart source must be the registry publish
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
from pipelines.core.charts import CHART_REPOSITORY, UMBRELLA
from pipelines.stages.deploy import IMAGE_VALUES
from pipelines.targets import local_gitops
from tests.contract.relations import FLUX_VARIABLE, substituted
from tests.pipeline.local_release import render_local
from tests.support.gitops_build import Built, build, promoted_tree, values_from
from tests.support.tools import REPO_ROOT
from tools.localcluster.interface import REGISTRY_SERVER

pytestmark = pytest.mark.slow

FOLDER = REPO_ROOT / local_gitops.FOLDER
DIGESTS = {image: f"sha256:{hashlib.sha256(image.encode()).hexdigest()}" for image in IMAGE_VALUES}
CHART_DIGEST = f"sha256:{hashlib.sha256(b'chart').hexdigest()}"


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
    folder = promoted_tree(work, local_gitops.ENVIRONMENT, (DIGESTS, IMAGE_VALUES), CHART_DIGEST)
    return build(folder)


def flux_render(built: Built, release: dict[str, Any], work: Path) -> list[dict[str, Any]]:
    """helm template of what helm-controller installs: the chart's values.yaml, each valuesFrom
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
    return render_local(work, [*files, inline], only_extra=True)


def push_render(work: Path) -> list[dict[str, Any]]:
    """What the push deploy renders with the same registry and digests (tags aside)."""
    images: dict[str, Any] = {}
    for image, key in IMAGE_VALUES.items():
        node = images
        for part in key.split("."):
            node = node.setdefault(part, {})
        node.update({"registry": REGISTRY_SERVER, "digest": DIGESTS[image]})
    path = work / "push-images.yaml"
    path.write_text(yaml.safe_dump(images), encoding="utf-8")
    return render_local(work, [path])


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
def push(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return push_render(tmp_path_factory.mktemp("push"))


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


def test_it_installs_the_contracts_release_from_the_pinned_chart(promoted: Built) -> None:
    spec = as_installed(promoted.one("HelmRelease"))["spec"]
    names = contract.load()
    chart = as_installed(promoted.one("OCIRepository"))
    flux = local_gitops.names()
    assert (spec["releaseName"], spec["targetNamespace"]) == (names.release, names.namespace)
    reference = spec["chartRef"]
    assert reference == {"kind": "OCIRepository", "name": flux.chart, "namespace": flux.namespace}
    assert chart["metadata"] == {"name": flux.chart, "namespace": flux.namespace}
    assert chart["spec"]["ref"] == {"digest": CHART_DIGEST}


def test_its_chart_is_where_publish_pushes_it_read_with_the_configurations_secrets(
    promoted: Built,
) -> None:
    spec = as_installed(promoted.one("OCIRepository"))["spec"]
    assert spec["url"] == f"oci://{REGISTRY_SERVER}/{CHART_REPOSITORY}/{UMBRELLA}"
    login = configuration()[spec["secretRef"]["name"]]
    assert login["type"] == "kubernetes.io/dockerconfigjson"
    assert set(login["data"]) == {".dockerconfigjson"}
    assert set(configuration()[spec["certSecretRef"]["name"]]["data"]) == {"ca.crt"}


def test_flux_renders_what_the_push_deploy_renders(
    push: list[dict[str, Any]], promoted: Built, tmp_path: Path
) -> None:
    release = promoted.one("HelmRelease")
    assert differences(push, flux_render(promoted, release, tmp_path)) == []


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
    assert replica_drift(promoted.one("HelmRelease"), push) == []


# --- broken cases ---------------------------------------------------------------------------


def test_a_release_without_the_platform_values_renders_otherwise(
    push: list[dict[str, Any]], promoted: Built, tmp_path: Path
) -> None:
    broken = copy.deepcopy(promoted.one("HelmRelease"))
    broken["spec"]["valuesFrom"] = broken["spec"]["valuesFrom"][:1]
    assert breaks(push, promoted, broken, tmp_path)


def test_a_release_without_the_environments_values_renders_otherwise(
    push: list[dict[str, Any]], promoted: Built, tmp_path: Path
) -> None:
    broken = copy.deepcopy(promoted.one("HelmRelease"))
    broken["spec"]["valuesFrom"] = broken["spec"]["valuesFrom"][1:]
    assert differences(push, flux_render(promoted, broken, tmp_path))


def test_an_unpromoted_release_renders_otherwise(
    push: list[dict[str, Any]], tmp_path: Path
) -> None:
    unpromoted = build(FOLDER)
    assert breaks(push, unpromoted, unpromoted.one("HelmRelease"), tmp_path)


def test_a_statefulset_replica_count_under_drift_detection_is_reported(
    push: list[dict[str, Any]], promoted: Built
) -> None:
    broken = copy.deepcopy(promoted.one("HelmRelease"))
    rules = broken["spec"]["driftDetection"]["ignore"]
    broken["spec"]["driftDetection"]["ignore"] = [
        rule for rule in rules if rule["target"]["kind"] != "StatefulSet"
    ]
    assert replica_drift(broken, push) == ["StatefulSet"]


def test_a_substitution_the_configuration_does_not_pass_is_reported(promoted: Built) -> None:
    broken = copy.deepcopy(promoted.one("OCIRepository"))
    broken["spec"]["url"] = f"oci://${{acr_login_server}}/{CHART_REPOSITORY}/{UMBRELLA}"
    assert variables(broken) - set(substitutions()) == {"acr_login_server"}
