"""A gitops/<env> folder as kustomize-controller builds it, before Flux's substitution.

The build is the real kustomize: the one kubectl embeds, the kustomize API Flux links, with load
restrictions off as Flux sets them, so the environment's values file outside the folder is read
as Flux reads it. `promoted_tree` writes what a promotion commit would before the build.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.core import contract, image_promotion
from pipelines.core.charts import CERT_MANAGER, CHARTS, UMBRELLA
from pipelines.stages.deploy import CHART_IMAGES
from pipelines.targets.gitops_delivery import CHART_FILE
from tests.support.tools import REPO_ROOT
from tools.localcluster.interface import kubectl_path

GITOPS = Path("gitops")
UMBRELLA_RELEASE = "${release}"
CERT_MANAGER_RELEASE = "${cert_manager_release}"
"""The HelmReleases' names in every gitops/ folder, before Flux substitutes them."""
RELEASE_FILE = "helmrelease.yaml"


@dataclass(frozen=True)
class Built:
    """The documents one folder's build outputs."""

    documents: tuple[dict[str, Any], ...]

    def named(self, kind: str, name: str) -> dict[str, Any]:
        """The one document of `kind` named `name` (as the build names it, before substitution:
        the folder has several HelmReleases and OCIRepositories)."""
        (found,) = [
            d for d in self.documents if d.get("kind") == kind and d["metadata"]["name"] == name
        ]
        return found

    def chart_source(self, release: dict[str, Any]) -> dict[str, Any]:
        """The OCIRepository a HelmRelease's chartRef names."""
        return self.named("OCIRepository", release["spec"]["chartRef"]["name"])

    def config_maps(self) -> dict[str, dict[str, Any]]:
        return {d["metadata"]["name"]: d for d in self.documents if d.get("kind") == "ConfigMap"}


def build(folder: Path) -> Built:
    """`kubectl kustomize` of `folder`, as kustomize-controller builds it."""
    kubectl = kubectl_path()
    if not kubectl.is_file():
        pytest.fail(
            f"kubectl (its kustomize builds gitops/) is not built at {kubectl}: run "
            "`.venv/bin/python -m tools.localcluster build` (`make test` runs it first)",
            pytrace=False,
        )
    completed = subprocess.run(
        [str(kubectl), "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if completed.returncode != 0:
        raise AssertionError(f"kustomize build of {folder} failed: {completed.stderr.strip()}")
    return Built(tuple(d for d in yaml.safe_load_all(completed.stdout) if d))


def repository_folder(env: str) -> Path:
    return REPO_ROOT / GITOPS / env


def promoted_tree(
    into: Path,
    env: str,
    digests: Mapping[str, str],
    chart_digest: str,
    cert_manager_chart_digest: str,
) -> Path:
    """gitops/ and the charts' values files copied under `into`, with gitops/<env> promoted as a
    promotion commit writes it: each HelmRelease the images its chart takes (CHART_IMAGES) by
    their `digests`, and its OCIRepository the umbrella's `chart_digest` or cert-manager's
    (in <env>/<its release>/, as the channel finds it); returns the folder."""
    shutil.copytree(REPO_ROOT / GITOPS, into / GITOPS, dirs_exist_ok=True)
    for values in (REPO_ROOT / CHARTS).glob("*/values*.yaml"):
        target = into / values.relative_to(REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(values, target)
    folder = into / GITOPS / env
    pins = {
        folder / contract.load().cert_manager["release"]: (CERT_MANAGER, cert_manager_chart_digest),
        folder: (UMBRELLA, chart_digest),
    }
    for where, (chart, digest) in pins.items():
        keys = CHART_IMAGES[chart]
        release, source = where / RELEASE_FILE, where / CHART_FILE
        own = {image: digests[image] for image in keys}
        release.write_text(image_promotion.promote(release.read_text(), own, keys))
        source.write_text(image_promotion.pin_chart(source.read_text(), digest))
    return folder


def values_from(release: dict[str, Any], config_maps: Mapping[str, dict[str, Any]]) -> list[str]:
    """The values documents a HelmRelease's valuesFrom names, in order, from `config_maps` (by
    name: the build's, and those made elsewhere); a name none of them has raises KeyError."""
    return [
        config_maps[source["name"]]["data"][source.get("valuesKey", "values.yaml")]
        for source in release["spec"].get("valuesFrom", [])
        if source["kind"] == "ConfigMap"
    ]
