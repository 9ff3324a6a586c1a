"""The settings the postgresql chart computes for given limits, read from the rendered chart.

Why render instead of copying numbers: the benchmark then measures exactly what the chart
deploys, and a change to templates/_tuning.tpl changes the benchmark with it.
"""

from __future__ import annotations

import subprocess

import yaml

from tests.support.tools import REPO_ROOT
from tools.toolchain import tool_env

CHART = REPO_ROOT / "helm-charts" / "postgresql"


def chart_tuning(memory: str = "2Gi", cpu: str = "2") -> dict[str, str]:
    """conf.d/10-tuning.conf of the chart rendered with these limits, as a settings dict."""
    rendered = subprocess.run(
        ["helm", "template", "bench", str(CHART), "--show-only", "templates/configmap.yaml",
         "--set", f"resources.limits.memory={memory}", "--set", f"resources.limits.cpu={cpu}"],
        capture_output=True, text=True, check=True, env=tool_env(), timeout=120,
    )  # fmt: skip
    config_map = next(
        doc
        for doc in yaml.safe_load_all(rendered.stdout)
        if doc and "10-tuning.conf" in doc["data"]
    )
    return parse_conf(config_map["data"]["10-tuning.conf"])


def parse_conf(text: str) -> dict[str, str]:
    """`key = value` lines of a rendered postgresql.conf fragment, comments skipped."""
    settings: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            settings[key.strip()] = value.strip()
    return settings
