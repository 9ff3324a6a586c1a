"""Chart artefacts are versioned by their content: any change to a chart, or to a subchart the
umbrella vendors, is a new version; an untouched chart keeps its version."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from pipelines.core.charts import CERT_MANAGER, CHARTS, RELEASED_CHARTS, UMBRELLA, chart_version
from tests.support.tools import REPO_ROOT

VERSION = re.compile(r"^(\d+\.\d+\.\d+)\+([0-9a-f]{12})$")


@pytest.fixture
def charts(tmp_path: Path) -> Path:
    copy = tmp_path / CHARTS.name
    shutil.copytree(REPO_ROOT / CHARTS, copy)
    return copy


@pytest.mark.parametrize("name", RELEASED_CHARTS)
def test_the_version_is_the_charts_own_with_its_content_digest(name: str) -> None:
    chart = REPO_ROOT / CHARTS / name
    found = VERSION.match(chart_version(chart))
    assert found, chart_version(chart)
    metadata = yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8"))
    assert found.group(1) == metadata["version"]


def test_an_untouched_chart_keeps_its_version(charts: Path) -> None:
    assert chart_version(charts / UMBRELLA) == chart_version(REPO_ROOT / CHARTS / UMBRELLA)


@pytest.mark.parametrize(
    "edited",
    [
        f"{UMBRELLA}/values-prod.yaml",  # the chart's own file
        "postgresql/templates/statefulset.yaml",  # a subchart the umbrella vendors
        "inventory-api/values.yaml",
    ],
)
def test_any_change_the_archive_would_carry_is_a_new_version(charts: Path, edited: str) -> None:
    before = chart_version(charts / UMBRELLA)
    path = charts / edited
    path.write_text(path.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert chart_version(charts / UMBRELLA) != before


def test_a_new_file_is_a_new_version_but_vendored_archives_are_not(charts: Path) -> None:
    before = chart_version(charts / UMBRELLA)
    vendored = charts / UMBRELLA / "charts"
    vendored.mkdir()
    (vendored / "postgresql-0.1.0.tgz").write_bytes(b"what dependency build writes")
    (charts / UMBRELLA / "Chart.lock").write_text("generated: now\n", encoding="utf-8")
    assert chart_version(charts / UMBRELLA) == before, "its sources stand for what is vendored"
    (charts / UMBRELLA / "templates").mkdir(exist_ok=True)
    (charts / UMBRELLA / "templates" / "extra.yaml").write_text("{}\n", encoding="utf-8")
    assert chart_version(charts / UMBRELLA) != before


def test_another_chart_is_not_affected(charts: Path) -> None:
    before = chart_version(charts / CERT_MANAGER)
    path = charts / "postgresql" / "values.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert chart_version(charts / CERT_MANAGER) == before
