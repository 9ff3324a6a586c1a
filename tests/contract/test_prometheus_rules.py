"""AKS's managed Prometheus evaluates no PrometheusRule, so Terraform turns the charts' rule files
into Azure Monitor Prometheus rule groups. The planned rules are exactly the rules the charts
render for a Prometheus Operator as the deploy stage installs them: one source, two
readers, and this test can tell them apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.contract.capabilities import capabilities
from tests.contract.conftest import ENVIRONMENTS
from tests.contract.deployment import planned_releases, template_args
from tests.helm.rendering import MONITORING_API, Renderer
from tests.terraform.harness import planned_resources

pytestmark = pytest.mark.slow

RULE_GROUP = "azurerm_monitor_alert_prometheus_rule_group"
AZURE_SEVERITY = {"critical": 1, "warning": 2}


def chart_rules(
    renderer: Renderer, plan: dict[str, Any], env: str, workdir: Path
) -> dict[str, dict[str, Any]]:
    """The umbrella's rules as the deploy stage installs `env` (its arguments, the values its
    Terraform outputs generate: the second backup repository's alerts where the plan has one,
    against the APIs the planned cluster and the platform releases serve), but for a Prometheus
    Operator (which renders them as PrometheusRule), keyed by alert or record name."""
    _, umbrella = planned_releases(renderer, plan, env, workdir)
    args = template_args(umbrella, capabilities(plan))
    args += ["--set", "global.monitoring.provider=prometheus-operator"]
    args += ["--api-versions", MONITORING_API]
    docs = [d for d in yaml.safe_load_all(renderer.run(*args)) if d]
    return {
        str(rule.get("alert") or rule["record"]): rule
        for doc in docs
        if doc["kind"] == "PrometheusRule"
        for group in doc["spec"]["groups"]
        for rule in group["rules"]
    }


def planned_rules(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        str(rule.get("alert") or rule["record"]): rule
        for resource in planned_resources(plan)
        if resource.type == RULE_GROUP
        for rule in resource.values["rule"]
    }


def differences(
    planned: dict[str, dict[str, Any]], rendered: dict[str, dict[str, Any]]
) -> list[str]:
    """Where Terraform's rule and the chart's rule of the same name disagree."""
    if planned.keys() != rendered.keys():
        return [f"names: only planned {planned.keys() - rendered.keys()}, "
                f"only rendered {rendered.keys() - planned.keys()}"]  # fmt: skip
    wrong = []
    for name, rule in rendered.items():
        azure = planned[name]
        expected = {
            "expression": rule["expr"],
            "for": f"PT{rule['for'].upper()}" if "for" in rule else None,
            "labels": rule.get("labels"),
            "annotations": rule.get("annotations"),
            "severity": AZURE_SEVERITY[rule["labels"]["severity"]] if "alert" in rule else None,
        }
        wrong += [
            f"{name}.{k}: {azure.get(k)!r} != {v!r}"
            for k, v in expected.items()
            if azure.get(k) != v
        ]
        if len(azure.get("action") or []) != (1 if "alert" in rule else 0):
            wrong.append(f"{name}: {len(azure.get('action') or [])} actions")
    return wrong


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_azure_rule_groups_are_the_charts_rules(
    plans: dict[str, dict[str, Any]], renderer: Renderer, env: str, tmp_path: Path
) -> None:
    rendered = chart_rules(renderer, plans[env], env, tmp_path)
    assert differences(planned_rules(plans[env]), rendered) == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_rule_groups_watch_the_environment_cluster(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    resources = planned_resources(plans[env])
    (cluster,) = [r.values["name"] for r in resources if r.type == "azurerm_kubernetes_cluster"]
    groups = [r.values for r in resources if r.type == RULE_GROUP]
    assert groups
    assert {g["cluster_name"] for g in groups} == {cluster}
    assert all(g["interval"] == "PT1M" and g["rule_group_enabled"] for g in groups)


def test_the_comparison_bites(
    plans: dict[str, dict[str, Any]],
    renderer: Renderer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Rules rendered into another namespace select other series: they must not match."""
    monkeypatch.setattr("pipelines.stages.deploy.NAMESPACE", "elsewhere")
    other = chart_rules(renderer, plans["dev"], "dev", tmp_path)
    assert any("expression" in d for d in differences(planned_rules(plans["dev"]), other))


def test_a_render_without_the_second_repository_misses_its_planned_alerts(
    plans: dict[str, dict[str, Any]], renderer: Renderer, tmp_path: Path
) -> None:
    """An environment whose plan has repo2, rendered without its outputs: its alerts would be
    evaluated in Azure for jobs the release never runs; the comparison names them."""
    env = next(e for e in ENVIRONMENTS if "backup_repo2" in planned_modules(plans[e]))
    plan = {**plans[env], "output_changes": dict(plans[env]["output_changes"])}
    for name in ("backup_repo2_storage_account_name", "backup_repo2_identity_client_id"):
        plan["output_changes"][name] = {"after": None, "after_unknown": False}
    rendered = chart_rules(renderer, plan, env, tmp_path)
    (problem,) = differences(planned_rules(plans[env]), rendered)
    assert "PostgresRepo2FullBackupMissing" in problem
    assert "PostgresRepo2RestoreDrillMissing" in problem


def planned_modules(plan: dict[str, Any]) -> set[str]:
    """Root module calls with resources in the plan (`module.<name>[...]` -> name)."""
    return {
        r.address.split(".", 2)[1].split("[", 1)[0]
        for r in planned_resources(plan)
        if r.address.startswith("module.")
    }
