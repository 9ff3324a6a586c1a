"""The backup alerts in the postgresql chart's PrometheusRule: `promtool test rules` shows each
fires on its failure scenario and stays quiet when healthy, and each has a runbook."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.toolchain import tool_env
from tests.backup.alert_cases import BACKUP_CASES
from tests.helm.alert_cases import DB_JOB, NS, AlertCase, Scenario
from tests.support.tools import REPO_ROOT, require_tool

CHART = REPO_ROOT / "helm-charts" / "postgresql"
RUNBOOKS = "https://github.com/example-org/inventory-platform/blob/main/"
LABEL_REF = re.compile(r"\{\{\s*\$labels\.(\w+)\s*\}\}")
VALUES = {
    "monitoring.enabled": "true",
    "monitoring.forceCreate": "true",
    "backup.enabled": "true",
    "backup.azure.account": "stinventorybackup",
    "backup.tlsServer.enabled": "true",
    "backup.tlsServer.certificateSecret": "pgbackrest-server-tls",
    "backup.tlsServer.clientCertificateSecret": "pgbackrest-client-tls",
}


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    """The chart's rendered rule groups as a promtool rule file, and its alerts by name."""
    helm = require_tool("helm")
    sets = [arg for key, value in VALUES.items() for arg in ("--set", f"{key}={value}")]
    rendered = subprocess.run(
        [helm, "template", "inventory", str(CHART), "--namespace", NS,
         "--show-only", "templates/prometheusrule.yaml", *sets],
        capture_output=True, text=True, check=True, env=tool_env(), timeout=120,
    )  # fmt: skip
    groups = yaml.safe_load(rendered.stdout)["spec"]["groups"]
    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    alerts = {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}
    return path, alerts


def _group(
    rule: dict[str, Any], case: AlertCase, scenario: Scenario, fires: bool
) -> dict[str, Any]:
    expected = []
    if fires:
        annotations = {
            key: LABEL_REF.sub(lambda m: case.labels.get(m.group(1), "<no value>"), value)
            for key, value in rule["annotations"].items()
        }
        expected = [{"exp_labels": case.labels, "exp_annotations": annotations}]
    return {
        "interval": scenario.interval,
        "input_series": [{"series": s, "values": v} for s, v in scenario.series.items()],
        "alert_rule_test": [
            {"eval_time": scenario.eval_time, "alertname": case.alert, "exp_alerts": expected}
        ],
    }


def _promtool_test(path: Path, rules_file: Path, alerts: dict[str, Any], invert: bool) -> str:
    tests = []
    for case in BACKUP_CASES:
        tests.append(_group(alerts[case.alert], case, case.firing, fires=not invert))
        tests.append(_group(alerts[case.alert], case, case.healthy, fires=invert))
    doc = {"rule_files": [str(rules_file)], "evaluation_interval": "1m", "tests": tests}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    promtool = require_tool("promtool", "apt-get install -y prometheus")
    result = subprocess.run(
        [promtool, "test", "rules", str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return ("ok" if result.returncode == 0 else "failed") + "\n" + result.stdout + result.stderr


def test_backup_alerts_fire_on_failure_and_stay_quiet_when_healthy(
    rules: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    rules_file, alerts = rules
    outcome = _promtool_test(tmp_path / "tests.yaml", rules_file, alerts, invert=False)
    assert outcome.startswith("ok"), outcome


def test_the_alert_tests_bite(rules: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    """Swapping the failure and healthy expectations must make promtool fail."""
    rules_file, alerts = rules
    outcome = _promtool_test(tmp_path / "inverted.yaml", rules_file, alerts, invert=True)
    assert outcome.startswith("failed"), outcome


def test_every_backup_alert_has_a_runbook(rules: tuple[Path, dict[str, Any]]) -> None:
    _, alerts = rules
    for case in BACKUP_CASES:
        url = alerts[case.alert]["annotations"]["runbook_url"]
        assert url.startswith(RUNBOOKS)
        assert (REPO_ROOT / url.removeprefix(RUNBOOKS)).is_file(), url
    assert DB_JOB in {case.labels.get("job") for case in BACKUP_CASES}
