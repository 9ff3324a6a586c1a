"""The charts' alert rule files (helm-charts/<chart>/rules/<chart>.yaml), read as the tests'
one source: the chart renders them as PrometheusRule, Terraform as Azure rule groups, and the
tests derive the alert list, the parameters and the series each rule reads from the same file."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.support.tools import REPO_ROOT

RULE_FILES = {
    "postgresql": REPO_ROOT / "helm-charts" / "postgresql" / "rules" / "postgresql.yaml",
    "inventory-api": REPO_ROOT / "helm-charts" / "inventory-api" / "rules" / "inventory-api.yaml",
}
# Series that no exporter produces: the scraper's own per-target series and the kubelet's
# volume statistics (scraped by the cluster's Prometheus from every node).
NON_EXPORTER_SERIES = {
    "up": "the scraper, per target",
    "kubelet_volume_stats_available_bytes": "the kubelet",
    "kubelet_volume_stats_capacity_bytes": "the kubelet",
}
# The rule file's group lists by the exporter whose series they read: postgres_exporter's (and
# the scraper's, the kubelet's), Patroni's own /metrics, and the pooler's exporter.
DATABASE_EXPORTER_GROUPS = ("groups", "backup_groups", "repo2_backup_groups")
PATRONI_GROUPS = ("ha_groups", "ha_sync_groups")
POOLER_GROUPS = ("pooler_groups",)
ALL_GROUPS = (*DATABASE_EXPORTER_GROUPS, *PATRONI_GROUPS, *POOLER_GROUPS)
_PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "bool", "offset", "inf", "nan",
}  # fmt: skip
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_OFFSET = re.compile(r"\boffset\s+[^\s()]+")  # `offset 15m`, or a placeholder before the unit
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def source(chart: str) -> dict[str, Any]:
    """The rule file as written (placeholders unfilled)."""
    loaded: dict[str, Any] = yaml.safe_load(RULE_FILES[chart].read_text(encoding="utf-8"))
    return loaded


def parameters(chart: str) -> dict[str, str]:
    return {str(k): str(v) for k, v in source(chart)["parameters"].items()}


def rules(chart: str, keys: tuple[str, ...] = ALL_GROUPS) -> list[dict[str, Any]]:
    """The rules of the file's group lists `keys`: by default every one (backup, second
    repository, Patroni and pooler groups included)."""
    doc = source(chart)
    groups = [group for key in keys for group in doc.get(key) or []]
    return [rule for group in groups for rule in group["rules"]]


def alert_names(chart: str) -> set[str]:
    return {str(r["alert"]) for r in rules(chart) if "alert" in r}


def recorded_names() -> set[str]:
    return {str(r["record"]) for chart in RULE_FILES for r in rules(chart) if "record" in r}


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression reads: identifiers left once strings, label
    matchers, ranges and label lists are removed, that are neither functions nor keywords."""
    text = _STRING.sub('""', expr)
    text = _OFFSET.sub(" ", text)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _LABEL_LIST.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        word = match.group(0)
        rest = text[match.end() :].lstrip()
        if rest.startswith("(") or word.lower() in _PROMQL_WORDS:
            continue
        if match.start() > 0 and (
            text[match.start() - 1].isdigit() or text[match.start() - 1] == "."
        ):
            continue  # the exponent or suffix of a number
        names.add(word)
    return names


def series_read(chart: str, keys: tuple[str, ...] = ALL_GROUPS) -> dict[str, set[str]]:
    """Per rule (alert or record name) of the group lists `keys`, the series its expression
    reads."""
    return {
        str(r.get("alert") or r["record"]): metric_names(str(r["expr"])) for r in rules(chart, keys)
    }
