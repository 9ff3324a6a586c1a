"""The Helm charts in the repository, as the lint, publish and deploy stages see them."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from pipelines.core.stage import StageContext

CHARTS = Path("helm-charts")
UMBRELLA = "inventory-platform"
CERT_MANAGER = "cert-manager"
"""The platform chart the deploy stage installs, as its own release, before the umbrella."""
PLATFORM_CHARTS = (CERT_MANAGER,)
"""Charts installed, each as its own release, before the umbrella (in this order)."""
RELEASED_CHARTS = (*PLATFORM_CHARTS, UMBRELLA)
"""The charts `publish` pushes as OCI artefacts and `deploy` installs, in install order."""
CHART_REPOSITORY = "charts"
"""The registry repository the charts go to: oci://<registry>/charts/<chart>."""
CRD_FILES = "files/crds/*.yaml"
"""Where a platform chart keeps the CustomResourceDefinitions it installs."""


def chart_dirs(charts: Path) -> list[Path]:
    """Every chart folder (one with a Chart.yaml) in `charts`, sorted by name."""
    return sorted(path.parent for path in charts.glob("*/Chart.yaml"))


def has_dependencies(chart: Path) -> bool:
    """True when Chart.yaml declares subcharts that `helm dependency build` must vendor."""
    return bool(_metadata(chart).get("dependencies"))


def _metadata(chart: Path) -> dict[str, Any]:
    return yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8")) or {}


def local_dependencies(chart: Path) -> list[Path]:
    """The chart folders its `file://` dependencies name (the umbrella's subcharts)."""
    found = []
    for dependency in _metadata(chart).get("dependencies") or []:
        repository = str(dependency.get("repository", ""))
        if repository.startswith("file://"):
            found.append((chart / repository.removeprefix("file://")).resolve())
    return found


def _sources(chart: Path) -> list[Path]:
    """The chart's own files: not what `helm dependency build` vendors from its dependencies
    (charts/, Chart.lock), which their own digests stand for."""
    vendored = (chart / "charts", chart / "Chart.lock")
    return sorted(
        path
        for path in chart.rglob("*")
        if path.is_file() and not any(path == v or v in path.parents for v in vendored)
    )


def content_digest(chart: Path) -> str:
    """sha256 over every file of the chart and of its `file://` dependencies (paths and bytes),
    so any change to what `helm package` would put in the archive changes it."""
    digest = hashlib.sha256()
    for path in _sources(chart):
        digest.update(path.relative_to(chart).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for dependency in local_dependencies(chart):
        digest.update(f"dependency {dependency.name}\0{content_digest(dependency)}".encode())
    return digest.hexdigest()


def chart_version(chart: Path) -> str:
    """What `publish` packages the chart as: Chart.yaml's version with the content digest as
    semver build metadata (`0.1.0+3f9a0c1b2d4e`), so every change to a chart, or to a subchart
    it vendors, is a new version in the registry while Chart.yaml stays hand-kept. (OCI tags
    cannot hold `+`: helm pushes the tag as `0.1.0_3f9a0c1b2d4e`.)"""
    return f"{_metadata(chart)['version']}+{content_digest(chart)[:12]}"


def vendor_dependencies(
    ctx: StageContext, helm: str, chart: Path, env: Mapping[str, str], timeout: float
) -> None:
    """`helm dependency build` of a (staged) chart that declares subcharts; nothing otherwise."""
    if has_dependencies(chart):
        ctx.run(
            f"helm dependency build {chart.name}",
            [helm, "dependency", "build", "--skip-refresh", str(chart)],
            timeout=timeout,
            env=env,
        )


def values_files(chart: Path) -> list[Path]:
    """The per-environment values files (values-<env>.yaml) next to a chart's values.yaml."""
    return sorted(chart.glob("values-*.yaml"))


@contextmanager
def staged_charts(root: Path) -> Iterator[Path]:
    """A scratch copy of helm-charts/, so `helm dependency build` never writes into the tree.

    `file://../<chart>` dependencies keep working because the whole folder is copied.
    """
    with tempfile.TemporaryDirectory(prefix="pipeline-charts-") as scratch:
        copy = Path(scratch) / CHARTS.name
        shutil.copytree(root / CHARTS, copy)
        yield copy


def served_api_versions(chart: Path) -> tuple[str, ...]:
    """`group/version` of every version the chart's CRDs serve: the APIs a cluster has once the
    chart is installed (what `.Capabilities.APIVersions` then holds), sorted, each once."""
    served = set()
    for path in sorted(chart.glob(CRD_FILES)):
        crd = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if crd.get("kind") != "CustomResourceDefinition":
            raise ValueError(f"{path} is not a CustomResourceDefinition")
        spec = crd["spec"]
        served |= {f"{spec['group']}/{v['name']}" for v in spec["versions"] if v.get("served")}
    return tuple(sorted(served))
