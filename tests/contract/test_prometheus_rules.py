"""AKS's managed Prometheus evaluates no PrometheusRule, so Terraform turns the charts' rule files
into Azure Monitor Prometheus rule groups. The planned rules are exactly the rules the charts
render for a Prometheus Operator as the deploy stage installs them: one source, two
readers, and this test can tell them apart."""

from __future__ import annotations

import re
from collections.abc import Sequence
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


FIXTURES = Path(__file__).resolve().parent / "fixtures"
GROUP_KEY = re.compile(r'\["([^"]+)"\]$')
"""The rule file group a planned rule group is made from: its for_each key."""


def _name(rule: dict[str, Any]) -> str:
    return str(rule.get("alert") or rule["record"])


def chart_groups(
    renderer: Renderer, plan: dict[str, Any], env: str, workdir: Path, extra: Sequence[Path] = ()
) -> dict[str, list[dict[str, Any]]]:
    """The umbrella's rule groups as the deploy stage installs `env` (its arguments, the values
    its Terraform outputs generate: the second backup repository's alerts where the plan has one,
    against the APIs the planned cluster and the platform releases serve; `extra` values files
    last), but for a Prometheus Operator (which renders them as PrometheusRule), by group name."""
    _, umbrella = planned_releases(renderer, plan, env, workdir)
    args = template_args(umbrella, capabilities(plan), extra)
    args += ["--set", "global.monitoring.provider=prometheus-operator"]
    args += ["--api-versions", MONITORING_API]
    docs = [d for d in yaml.safe_load_all(renderer.run(*args)) if d]
    return {
        str(group["name"]): group["rules"]
        for doc in docs
        if doc["kind"] == "PrometheusRule"
        for group in doc["spec"]["groups"]
    }


def chart_rules(
    renderer: Renderer, plan: dict[str, Any], env: str, workdir: Path
) -> dict[str, dict[str, Any]]:
    """`chart_groups`' rules, keyed by alert or record name."""
    groups = chart_groups(renderer, plan, env, workdir)
    return {_name(rule): rule for rules in groups.values() for rule in rules}


def planned_groups(plan: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The planned Azure rule groups' rules, by the rule file group each is made from."""
    return {
        match.group(1): resource.values["rule"]
        for resource in planned_resources(plan)
        if resource.type == RULE_GROUP and (match := GROUP_KEY.search(resource.address))
    }


def planned_rules(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {_name(rule): rule for rules in planned_groups(plan).values() for rule in rules}


def expression_differences(
    planned: dict[str, list[dict[str, Any]]], rendered: dict[str, list[dict[str, Any]]]
) -> list[str]:
    """Where Azure's rule groups and the chart's differ in their groups, each group's rules or a
    rule's expression (where a figure from the values, such as the pool size, lands)."""
    wrong = [f"group {name}: planned only" for name in sorted(planned.keys() - rendered.keys())]
    wrong += [f"group {name}: rendered only" for name in sorted(rendered.keys() - planned.keys())]
    for name in sorted(planned.keys() & rendered.keys()):
        azure = {_name(rule): rule["expression"] for rule in planned[name]}
        chart = {_name(rule): rule["expr"] for rule in rendered[name]}
        if list(azure) != list(chart):
            wrong.append(f"group {name}: rules {list(azure)} != {list(chart)}")
            continue
        wrong += [
            f"{name}/{rule}: expression {azure[rule]!r} != {chart[rule]!r}"
            for rule in chart
            if azure[rule] != chart[rule]
        ]
    return wrong


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
def test_azure_rule_groups_have_the_charts_groups_and_expressions(
    plans: dict[str, dict[str, Any]], renderer: Renderer, env: str, tmp_path: Path
) -> None:
    """Every group the chart renders for the environment's values (the Patroni, synchronous and
    pooler ones included) is an Azure rule group with the same rules and expressions: the figures
    from ha.* and pooler.* reach both from the same values files."""
    rendered = chart_groups(renderer, plans[env], env, tmp_path)
    assert expression_differences(planned_groups(plans[env]), rendered) == []


BROKEN_VALUES = {
    # The chart's pool is another size than the one Azure's PoolerPoolNearLimit compares with.
    "other-pool-size.yaml": ("dev", "postgresql.pooler/PoolerPoolNearLimit: expression"),
    # The chart stops rendering the synchronous-standby group Azure still evaluates.
    "asynchronous-replication.yaml": ("prod", "group postgresql.ha-sync: planned only"),
}
"""Fixture -> the environment it is rendered for and the one difference it must cause."""


@pytest.mark.parametrize("fixture", sorted(BROKEN_VALUES))
def test_values_terraform_does_not_read_break_the_relation(
    plans: dict[str, dict[str, Any]], renderer: Renderer, tmp_path: Path, fixture: str
) -> None:
    """A values file given to helm alone (not the one Terraform reads) moves the chart's alerts
    away from Azure's: the comparison names the group or rule that differs."""
    env, problem = BROKEN_VALUES[fixture]
    rendered = chart_groups(renderer, plans[env], env, tmp_path, [FIXTURES / fixture])
    (found,) = expression_differences(planned_groups(plans[env]), rendered)
    assert found.startswith(problem), found


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
