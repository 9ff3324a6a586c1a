"""Runbook links are read the way Helm would render them, and unresolvable ones stay visible."""

from __future__ import annotations

from pathlib import Path

from tests.docs import chart_refs

BASE = "https://github.com/example-org/inventory-platform/blob/main/docs/runbooks"


def _chart(tmp_path: Path, rule: str, values: str = "") -> Path:
    chart = tmp_path / "helm-charts" / "db"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: db\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text(values)
    (chart / "templates" / "rule.yaml").write_text(rule)
    return tmp_path


def test_template_variables_and_values_are_expanded(tmp_path: Path) -> None:
    rule = (
        f'{{{{- $runbooks := "{BASE}" -}}}}\n'
        "  runbook_url: {{ $runbooks }}/db-down.md\n"
        '  runbook_url: "{{ .Values.monitoring.runbooks }}/disk-full.md"\n'
        f"  runbook_url: {BASE}/literal.md\n"
    )
    root = _chart(tmp_path, rule, f"monitoring:\n  runbooks: {BASE}\n")
    links = chart_refs.runbook_links(root / "helm-charts", root)
    assert [link.url for link in links] == [
        f"{BASE}/db-down.md",
        f"{BASE}/disk-full.md",
        f"{BASE}/literal.md",
    ]
    assert links[0].where == "helm-charts/db/templates/rule.yaml:2"


def test_unknown_templating_is_left_visible(tmp_path: Path) -> None:
    rule = "  runbook_url: {{ $undefined }}/x.md\n  runbook_url: {{ .Values.nope.base }}/y.md\n"
    root = _chart(tmp_path, rule)
    urls = [link.url for link in chart_refs.runbook_links(root / "helm-charts", root)]
    assert urls == ["{{ $undefined }}/x.md", "{{ .Values.nope.base }}/y.md"]
