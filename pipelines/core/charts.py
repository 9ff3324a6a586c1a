"""The Helm charts in the repository, as the lint and deploy stages see them."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

CHARTS = Path("helm-charts")
UMBRELLA = "inventory-platform"
CERT_MANAGER = "cert-manager"
"""The platform chart the deploy stage installs, as its own release, before the umbrella."""
CRD_FILES = "files/crds/*.yaml"
"""Where a platform chart keeps the CustomResourceDefinitions it installs."""


def chart_dirs(charts: Path) -> list[Path]:
    """Every chart folder (one with a Chart.yaml) in `charts`, sorted by name."""
    return sorted(path.parent for path in charts.glob("*/Chart.yaml"))


def has_dependencies(chart: Path) -> bool:
    """True when Chart.yaml declares subcharts that `helm dependency build` must vendor."""
    metadata = yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8")) or {}
    return bool(metadata.get("dependencies"))


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
