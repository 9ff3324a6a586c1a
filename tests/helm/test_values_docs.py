"""Every value in each chart's values.yaml is documented by a comment right above it, and
every documented key is known to the chart's values.schema.json."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.helm.rendering import CHARTS_SRC

_KEY = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z][\w.-]*):")
# Self-explanatory Kubernetes shapes documented once at their parent.
_SHAPE_KEYS = {
    "requests",
    "limits",
    "cpu",
    "memory",
    "periodSeconds",
    "failureThreshold",
    "runAsUser",
    "runAsGroup",
    "fsGroup",
}


def _undocumented(values_file: Path) -> list[str]:
    missing = []
    previous = ""
    for number, line in enumerate(values_file.read_text(encoding="utf-8").splitlines(), 1):
        match = _KEY.match(line)
        if match and not line.lstrip().startswith("-"):
            documented = previous.lstrip().startswith("#")
            if not documented and match["key"] not in _SHAPE_KEYS:
                missing.append(f"{values_file.name}:{number}: {match['key']}")
        if line.strip():
            previous = line
    return missing


def _schema_keys(node: dict[str, Any], prefix: str = "") -> set[str]:
    keys = set()
    for key, sub in node.get("properties", {}).items():
        keys.add(prefix + key)
        keys |= _schema_keys(sub, f"{prefix}{key}.")
    return keys


@pytest.mark.parametrize("chart", ["inventory-api", "postgresql", "cert-manager"])
def test_every_value_has_a_comment(chart: str) -> None:
    assert _undocumented(CHARTS_SRC / chart / "values.yaml") == []


@pytest.mark.parametrize("chart", ["inventory-api", "postgresql", "cert-manager"])
def test_schema_forbids_unknown_top_level_keys(chart: str) -> None:
    schema = json.loads((CHARTS_SRC / chart / "values.schema.json").read_text(encoding="utf-8"))
    assert schema["additionalProperties"] is False
    assert {"image", "resources"} <= _schema_keys(schema)


def test_documentation_check_bites(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("# -- Documented.\nreplicaCount: 2\nundocumented: true\n", encoding="utf-8")
    assert _undocumented(values) == ["values.yaml:3: undocumented"]
