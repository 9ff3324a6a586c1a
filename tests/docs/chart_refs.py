"""Find the `runbook_url` of every alert in the chart sources, resolving simple templating.

Alert rules are usually written as `runbook_url: {{ $runbooks }}/name.md` with the base URL
in a template variable (`{{- $runbooks := "https://..." -}}`) or in the chart's values. The
test must read what Helm would render, so both forms are expanded here; anything else left
unresolved is reported as such rather than silently accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SOURCE_SUFFIXES = frozenset({".yaml", ".yml", ".tpl", ".json"})
_VARIABLE = re.compile(r"\{\{-?\s*\$(\w+)\s*:?=\s*\"([^\"]*)\"\s*-?\}\}")
_USE_VARIABLE = re.compile(r"\{\{-?\s*\$(\w+)\s*-?\}\}")
_USE_VALUE = re.compile(r"\{\{-?\s*\.Values\.([\w.]+)\s*-?\}\}")


@dataclass(frozen=True)
class RunbookLink:
    """One `runbook_url` line, where it is, and its value with the templating expanded."""

    where: str
    url: str


def _lookup(values: Any, dotted: str) -> str | None:
    node = values
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, str) else None


def _chart_values(source: Path) -> dict[str, Any]:
    for parent in source.parents:
        if (parent / "Chart.yaml").is_file():
            values_file = parent / "values.yaml"
            if values_file.is_file():
                loaded = yaml.safe_load(values_file.read_text(encoding="utf-8"))
                return loaded if isinstance(loaded, dict) else {}
            return {}
    return {}


def expand(line: str, variables: dict[str, str], values: dict[str, Any]) -> str:
    """Replace `{{ $var }}` and `{{ .Values.a.b }}` by their literal values where known."""
    line = _USE_VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), line)
    return _USE_VALUE.sub(lambda m: _lookup(values, m.group(1)) or m.group(0), line)


def runbook_links(charts: Path, root: Path) -> list[RunbookLink]:
    """Every `runbook_url` under `charts`, expanded, with `path:line` relative to `root`."""
    links: list[RunbookLink] = []
    for source in sorted(p for p in charts.rglob("*") if p.suffix in SOURCE_SUFFIXES):
        if not source.is_file():
            continue
        text = source.read_text(encoding="utf-8")
        if "runbook_url" not in text:
            continue
        variables = dict(_VARIABLE.findall(text))
        values = _chart_values(source)
        for number, line in enumerate(text.splitlines(), start=1):
            if "runbook_url" in line:
                value = line.split("runbook_url", 1)[1].lstrip("\"':= ").rstrip("\"', ")
                where = f"{source.relative_to(root)}:{number}"
                links.append(RunbookLink(where, expand(value, variables, values)))
    return links
