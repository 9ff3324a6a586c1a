"""The charts' rule files, as the charts render them into PrometheusRules, pass `promtool check
rules`, and `promtool test rules` proves each alert fires on a synthetic failure and stays quiet
when healthy. The rendered rules are exactly the rule files' (the one source Terraform reads)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from inventory_api.metrics import LATENCY_BUCKETS

from tests.helm import rule_source
from tests.helm.alert_cases import CASES, RULE_VALUES, SHORT_AGES, AlertCase, Scenario
from tests.helm.rendering import REPO_ROOT, Renderer, RenderError
from tests.support.tools import require_tool

PROMTOOL_INSTALL = "apt-get install -y prometheus"
RUNBOOK_PREFIX = "https://github.com/example-org/inventory-platform/blob/main/"
_LABEL_REF = re.compile(r"\{\{\s*\$labels\.(\w+)\s*\}\}")


@pytest.fixture(scope="session")
def promtool() -> str:
    return require_tool("promtool", PROMTOOL_INSTALL)


def _values_file(directory: Path, values: dict[str, Any]) -> Path:
    path = directory / "values.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def rule_groups(
    renderer: Renderer, fixtures_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[dict[str, Any]]:
    """Rule groups of both charts with every optional alert switched on (backups on, repo2 too,
    Patroni in strict synchronous mode, the pooler), the backup ages shortened through
    monitoring.ruleParameters."""
    short = _values_file(
        tmp_path_factory.mktemp("short-ages"),
        {"monitoring": {"ruleParameters": SHORT_AGES}, **RULE_VALUES},
    )
    db = renderer.render(
        "postgresql",
        values=[fixtures_dir / "backup-enabled.yaml", fixtures_dir / "backup-repo2.yaml", short],
        sets=["monitoring.enabled=true"],
        monitoring_crds=True,
    )
    api = renderer.render("inventory-api", sets=["monitoring.enabled=true"], monitoring_crds=True)
    return [g for r in (db, api) for g in r.one("PrometheusRule")["spec"]["groups"]]


@pytest.fixture(scope="session")
def rules_file(rule_groups: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule_groups}, sort_keys=False), encoding="utf-8")
    return path


def _alerts(groups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}


def _promtool(
    promtool: str, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, check=False, timeout=120, cwd=cwd
    )


def _expand(template: str, labels: dict[str, str]) -> str:
    return _LABEL_REF.sub(lambda m: labels.get(m.group(1), "<no value>"), template)


def _test_group(
    rules_file: Path, rule: dict[str, Any], case: AlertCase, scenario: Scenario, fires: bool
) -> dict[str, Any]:
    expected = []
    if fires:
        expected = [
            {
                "exp_labels": case.labels,
                "exp_annotations": {
                    k: _expand(v, case.labels) for k, v in rule["annotations"].items()
                },
            }
        ]
    return {
        "interval": scenario.interval,
        "input_series": [{"series": s, "values": v} for s, v in scenario.series.items()],
        "alert_rule_test": [
            {"eval_time": scenario.eval_time, "alertname": case.alert, "exp_alerts": expected}
        ],
    }


def _write_tests(
    path: Path,
    rules_file: Path,
    groups: list[dict[str, Any]],
    cases: tuple[AlertCase, ...],
    invert: bool = False,
) -> Path:
    alerts = _alerts(groups)
    tests = []
    for case in cases:
        rule = alerts[case.alert]
        tests.append(_test_group(rules_file, rule, case, case.firing, fires=not invert))
        tests.append(_test_group(rules_file, rule, case, case.healthy, fires=invert))
    doc = {"rule_files": [str(rules_file)], "evaluation_interval": "1m", "tests": tests}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_rules_pass_promtool_check(promtool: str, rules_file: Path) -> None:
    proc = _promtool(promtool, "check", "rules", str(rules_file))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_check_bites_on_a_broken_expression(promtool: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "groups:\n- name: x\n  rules:\n  - alert: X\n    expr: rate(pg_up[5m]\n", encoding="utf-8"
    )
    assert _promtool(promtool, "check", "rules", str(bad)).returncode != 0


def test_rendered_rules_are_the_rule_files(rule_groups: list[dict[str, Any]]) -> None:
    alerts = _alerts(rule_groups)
    assert set(alerts) == set().union(*(rule_source.alert_names(c) for c in rule_source.RULE_FILES))
    records = {r["record"] for g in rule_groups for r in g["rules"] if "record" in r}
    assert records == rule_source.recorded_names()
    assert "${" not in yaml.safe_dump(rule_groups), "a placeholder was left unfilled"


def test_every_alert_has_a_case_and_a_runbook(rule_groups: list[dict[str, Any]]) -> None:
    alerts = _alerts(rule_groups)
    assert set(alerts) == {c.alert for c in CASES}
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        assert {"summary", "description", "runbook_url"} <= rule["annotations"].keys(), name
        url = rule["annotations"]["runbook_url"]
        assert url.startswith(RUNBOOK_PREFIX + "docs/runbooks/"), url
        assert (REPO_ROOT / url.removeprefix(RUNBOOK_PREFIX)).is_file(), f"{name}: {url} missing"


def test_unknown_rule_parameter_is_refused(renderer: Renderer, tmp_path: Path) -> None:
    values = _values_file(
        tmp_path, {"monitoring": {"enabled": True, "ruleParameters": {"xid_agee": "5"}}}
    )
    with pytest.raises(RenderError, match=r"monitoring\.ruleParameters\.xid_agee: rules/"):
        renderer.render("postgresql", values=[values], monitoring_crds=True)


def test_latency_objective_is_a_bucket_the_api_exposes() -> None:
    """The latency SLO reads one histogram bucket; a boundary the API lacks would read nothing."""
    assert float(rule_source.parameters("inventory-api")["latency_bucket"]) in LATENCY_BUCKETS


def test_series_names_are_read_from_expressions() -> None:
    """The extraction the real-scrape test relies on finds every series and nothing else."""
    expr = (
        'sum by (namespace, pod) (rate(pg_a_total{job="x", le="0.25"}[5m])) / on (pod) '
        'max(pg_b) > 1e9 and absent(up{job="y"}) unless 2.5 * pg_c '
        "> pg_d offset ${window}m"
    )
    assert rule_source.metric_names(expr) == {"pg_a_total", "pg_b", "up", "pg_c", "pg_d"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.alert)
def test_alert_fires_on_failure_and_stays_quiet_when_healthy(
    promtool: str,
    rules_file: Path,
    rule_groups: list[dict[str, Any]],
    case: AlertCase,
    tmp_path: Path,
) -> None:
    tests = _write_tests(tmp_path / "test.yaml", rules_file, rule_groups, (case,))
    proc = _promtool(promtool, "test", "rules", str(tests))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_tests_bite(
    promtool: str, rules_file: Path, rule_groups: list[dict[str, Any]], tmp_path: Path
) -> None:
    """Swapping the expectations (quiet on failure, firing when healthy) must fail."""
    tests = _write_tests(
        tmp_path / "inverted.yaml", rules_file, rule_groups, CASES[:2], invert=True
    )
    proc = _promtool(promtool, "test", "rules", str(tests))
    assert proc.returncode != 0
    assert "FAILED" in proc.stdout + proc.stderr


def _db_alerts(renderer: Renderer, directory: Path, values: dict[str, Any]) -> dict[str, Any]:
    """The database chart's alerts rendered with `values` (monitoring on)."""
    rendered = renderer.render(
        "postgresql",
        values=[_values_file(directory, {"monitoring": {"enabled": True}, **values})],
        monitoring_crds=True,
    )
    return _alerts(rendered.one("PrometheusRule")["spec"]["groups"])


def _group_alerts(keys: tuple[str, ...]) -> set[str]:
    return {str(r["alert"]) for r in rule_source.rules("postgresql", keys) if "alert" in r}


@pytest.mark.parametrize(
    ("values", "present"),
    [
        ({}, ()),
        ({"ha": {"enabled": True, "members": 3, "synchronousMode": "off"}}, ("ha_groups",)),
        ({"ha": {"enabled": True, "members": 3, "synchronousMode": "on"}},
         ("ha_groups", "ha_sync_groups")),
        # One member has no standby to wait for: nothing to expect of synchronous mode.
        ({"ha": {"enabled": True, "members": 1, "synchronousMode": "on"}}, ("ha_groups",)),
        ({"pooler": {"enabled": True}}, ("pooler_groups",)),
    ],
)  # fmt: skip
def test_patroni_and_pooler_alerts_only_where_they_apply(
    renderer: Renderer, tmp_path: Path, values: dict[str, Any], present: tuple[str, ...]
) -> None:
    """Without Patroni its series do not exist (the absent() of PatroniNoLeader would fire), and
    without the pooler neither do its: their groups render only with them."""
    optional = (*rule_source.PATRONI_GROUPS, *rule_source.POOLER_GROUPS)
    alerts = set(_db_alerts(renderer, tmp_path, values))
    assert alerts & _group_alerts(optional) == _group_alerts(present)


def test_counts_in_the_patroni_and_pooler_alerts_are_the_values(
    renderer: Renderer, tmp_path: Path
) -> None:
    """Members, synchronous standbys (capped at members - 1), the failover lag limit and the pool
    size are read from the values the cluster runs with, never restated in the rule file."""
    values = {
        "ha": {
            "enabled": True,
            "members": 3,
            "synchronousMode": "strict",
            "synchronousNodeCount": 4,
            "maximumLagOnFailoverBytes": 1048576,
        },
        "pooler": {"enabled": True, "poolSize": 7},
    }
    alerts = _db_alerts(renderer, tmp_path, values)
    assert alerts["PatroniMembersMissing"]["expr"].rstrip().endswith("< 3")
    assert alerts["PatroniSyncStandbyMissing"]["expr"].rstrip().endswith("< 2")
    assert alerts["PatroniReplicationLagHigh"]["expr"].rstrip().endswith("> 1048576")
    assert alerts["PoolerPoolNearLimit"]["expr"].rstrip().endswith("* 7")
    rendered = renderer.render(
        "postgresql",
        values=[_values_file(tmp_path, {"monitoring": {"enabled": True}, **values})],
        monitoring_crds=True,
    )
    (postgres,) = [
        c
        for c in rendered.one("StatefulSet")["spec"]["template"]["spec"]["containers"]
        if c["name"] == "postgresql"
    ]
    env = {e["name"]: e.get("value") for e in postgres["env"]}
    assert env["HA_MAXIMUM_LAG_BYTES"] == "1048576", "Patroni and the alert share one limit"


def test_parameters_the_values_decide_cannot_be_overridden(
    renderer: Renderer, tmp_path: Path
) -> None:
    values = _values_file(
        tmp_path, {"monitoring": {"enabled": True, "ruleParameters": {"ha_members": "9"}}}
    )
    with pytest.raises(
        RenderError, match=r"ruleParameters\.ha_members: set from the chart's values"
    ):
        renderer.render("postgresql", values=[values], monitoring_crds=True)
