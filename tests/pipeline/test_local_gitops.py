"""The local target's GitOps delivery against its push deploy: the same release either way.

gitops/local's HelmRelease, with the substitutions and the platform-values ConfigMap of the
local Flux configuration (pipelines/targets/local_gitops) and a promotion's digests, rendered
as helm-controller installs it, must render what `deploy --target local` pushes with the same
digests. It must use exactly the substitutions the configuration passes. Then fixtures that
break each part.
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
from pipelines.core.image_promotion import promote
from pipelines.stages.deploy import IMAGE_VALUES
from pipelines.targets import local_gitops
from tests.contract.relations import FLUX_VARIABLE, substituted
from tests.pipeline.local_release import render_local
from tests.support.tools import REPO_ROOT
from tools.localcluster.interface import REGISTRY_SERVER

pytestmark = pytest.mark.slow

FOLDER = REPO_ROOT / local_gitops.FOLDER
DIGESTS = {image: f"sha256:{hashlib.sha256(image.encode()).hexdigest()}" for image in IMAGE_VALUES}


def release_text() -> str:
    kustomization = yaml.safe_load((FOLDER / "kustomization.yaml").read_text(encoding="utf-8"))
    assert kustomization["resources"] == [local_gitops.RELEASE_FILE.name]
    return (REPO_ROOT / local_gitops.RELEASE_FILE).read_text(encoding="utf-8")


def variables(node: Any) -> set[str]:
    return set(FLUX_VARIABLE.findall(yaml.safe_dump(node)))


def configuration() -> dict[str, dict[str, Any]]:
    """The local Flux configuration's objects by kind."""
    objects = local_gitops.configuration(local_gitops.names(), b"ca", "secret")
    return {document["kind"]: document for document in objects}


def as_installed(release: dict[str, Any]) -> dict[str, Any]:
    """The HelmRelease after Flux's post-build substitution."""
    passed = configuration()["Kustomization"]["spec"]["postBuild"]["substitute"]
    return dict(substituted(release, passed))


def flux_render(release: dict[str, Any], work: Path) -> list[dict[str, Any]]:
    """helm template of what helm-controller installs: valuesFiles, then each valuesFrom, then
    the inline values (its merge order)."""
    spec = as_installed(release)["spec"]
    platform = configuration()["ConfigMap"]
    files = []
    for number, source in enumerate(spec.get("valuesFrom", [])):
        assert source["kind"] == "ConfigMap"
        assert source["name"] == platform["metadata"]["name"]
        path = work / f"values-from-{number}.yaml"
        path.write_text(platform["data"][source["valuesKey"]], encoding="utf-8")
        files.append(path)
    inline = work / "inline-values.yaml"
    inline.write_text(yaml.safe_dump(spec.get("values", {})), encoding="utf-8")
    return render_local(work, [*files, inline], spec["chart"]["spec"]["valuesFiles"])


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


def breaks(push: list[dict[str, Any]], release: dict[str, Any], work: Path) -> bool:
    """The release renders otherwise than push, or the chart refuses its values."""
    try:
        return bool(differences(push, flux_render(release, work)))
    except subprocess.CalledProcessError:
        return True


def promoted() -> dict[str, Any]:
    return dict(yaml.safe_load(promote(release_text(), DIGESTS, IMAGE_VALUES)))


def test_it_uses_exactly_the_substitutions_the_configuration_passes() -> None:
    passed = configuration()["Kustomization"]["spec"]["postBuild"]["substitute"]
    assert variables(yaml.safe_load(release_text())) == set(passed)


def test_it_installs_the_contracts_release_from_the_configurations_source() -> None:
    spec = as_installed(promoted())["spec"]
    names = contract.load()
    source = configuration()["GitRepository"]["metadata"]
    assert (spec["releaseName"], spec["targetNamespace"]) == (names.release, names.namespace)
    reference = spec["chart"]["spec"]["sourceRef"]
    assert (reference["name"], reference["namespace"]) == (source["name"], source["namespace"])


def test_flux_renders_what_the_push_deploy_renders(
    push: list[dict[str, Any]], tmp_path: Path
) -> None:
    assert differences(push, flux_render(promoted(), tmp_path)) == []


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
    push: list[dict[str, Any]],
) -> None:
    assert replica_drift(promoted(), push) == []


# --- broken cases ---------------------------------------------------------------------------


def test_a_release_without_the_platform_values_renders_otherwise(
    push: list[dict[str, Any]], tmp_path: Path
) -> None:
    broken = promoted()
    del broken["spec"]["valuesFrom"]
    assert breaks(push, broken, tmp_path)


def test_a_release_without_the_environments_values_file_renders_otherwise(
    push: list[dict[str, Any]], tmp_path: Path
) -> None:
    broken = promoted()
    broken["spec"]["chart"]["spec"]["valuesFiles"] = broken["spec"]["chart"]["spec"]["valuesFiles"][
        :1
    ]
    assert differences(push, flux_render(broken, tmp_path))


def test_an_unpromoted_release_renders_otherwise(
    push: list[dict[str, Any]], tmp_path: Path
) -> None:
    assert breaks(push, yaml.safe_load(release_text()), tmp_path)


def test_a_statefulset_replica_count_under_drift_detection_is_reported(
    push: list[dict[str, Any]],
) -> None:
    broken = promoted()
    rules = broken["spec"]["driftDetection"]["ignore"]
    broken["spec"]["driftDetection"]["ignore"] = [
        rule for rule in rules if rule["target"]["kind"] != "StatefulSet"
    ]
    assert replica_drift(broken, push) == ["StatefulSet"]


def test_a_substitution_the_configuration_does_not_pass_is_reported() -> None:
    broken = copy.deepcopy(yaml.safe_load(release_text()))
    broken["spec"]["values"]["inventory-api"]["image"]["registry"] = "${acr_login_server}"
    passed = configuration()["Kustomization"]["spec"]["postBuild"]["substitute"]
    assert variables(broken) - set(passed) == {"acr_login_server"}
