"""The Helm charts in the repository, as the lint and deploy stages see them."""

from __future__ import annotations

from pathlib import Path

import yaml

CHARTS = Path("helm-charts")
UMBRELLA = CHARTS / "inventory-platform"


def chart_dirs(root: Path) -> list[Path]:
    """Every chart folder (one with a Chart.yaml) under helm-charts/, sorted by name."""
    return sorted(path.parent for path in (root / CHARTS).glob("*/Chart.yaml"))


def has_dependencies(chart: Path) -> bool:
    """True when Chart.yaml declares subcharts that `helm dependency build` must vendor."""
    metadata = yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8")) or {}
    return bool(metadata.get("dependencies"))


def values_files(chart: Path) -> list[Path]:
    """The per-environment values files (values-<env>.yaml) next to a chart's values.yaml."""
    return sorted(chart.glob("values-*.yaml"))
