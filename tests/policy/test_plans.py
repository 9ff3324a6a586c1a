"""The plan scan and the combination rule on a small tree whose tags come through a module.

In the HCL, checkov sees `tags = var.labels` and CKV_INV_101 fails; the plans of dev and qa carry
the resolved tags. Real checkov on both inputs; plan documents as `terraform show -json` prints.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.core.environments import environments_in
from policies.checkov_runner import CheckovResult, run_checkov
from policies.findings import Finding, Status
from policies.plans import PlanInputError, PlanScan, check_plans, clear_by_plans, scan_plans
from tests.policy.conftest import FIXTURES

PLANNED = FIXTURES / "planned"
IAC = PLANNED / "iac"
PLANS = PLANNED / "plans"
ENVIRONMENTS = environments_in(IAC / "environments")
CHECK = "CKV_INV_101"
RESOURCE = "module.group.azurerm_resource_group.this"


def _tag_check(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.rule_id == CHECK and f.resource == RESOURCE]


@pytest.fixture(scope="module")
def hcl(checkov: Path) -> CheckovResult:
    return run_checkov(IAC, checkov)


@pytest.fixture(scope="module")
def tagged(checkov: Path) -> PlanScan:
    return scan_plans({env: PLANS / f"{env}.json" for env in ENVIRONMENTS}, checkov)


@pytest.fixture(scope="module")
def qa_untagged(checkov: Path) -> PlanScan:
    return scan_plans({"dev": PLANS / "dev.json", "qa": PLANS / "qa-untagged.json"}, checkov)


def test_the_hcl_cannot_resolve_the_module_input(hcl: CheckovResult) -> None:
    assert [f.status for f in _tag_check(hcl.findings)] == [Status.FAILED]


def test_plan_findings_carry_their_environment(tagged: PlanScan) -> None:
    assert tagged.resource_counts == dict.fromkeys(ENVIRONMENTS, 1)
    assert {(f.environment, f.status) for f in _tag_check(tagged.findings)} == {
        ("dev", Status.PASSED),
        ("qa", Status.PASSED),
    }
    assert {f.origin for f in tagged.findings} == {"plan of dev", "plan of qa"}


def test_a_check_passing_in_every_plan_clears_the_hcl_failure(
    hcl: CheckovResult, tagged: PlanScan
) -> None:
    combined = clear_by_plans(hcl.findings, tagged.findings, ENVIRONMENTS, ENVIRONMENTS)
    (finding,) = _tag_check(combined)
    assert finding.status is Status.CLEARED
    assert finding.message == "passes in the plans of dev, qa"


def test_a_check_failing_in_one_plan_keeps_the_hcl_failure(
    hcl: CheckovResult, qa_untagged: PlanScan
) -> None:
    combined = clear_by_plans(hcl.findings, qa_untagged.findings, ENVIRONMENTS, ENVIRONMENTS)
    assert [f.status for f in _tag_check(combined)] == [Status.FAILED]
    assert {(f.environment, f.status) for f in _tag_check(qa_untagged.findings)} == {
        ("dev", Status.PASSED),
        ("qa", Status.FAILED),
    }


def test_without_every_environments_plan_nothing_is_cleared(
    hcl: CheckovResult, tagged: PlanScan
) -> None:
    dev_only = [f for f in tagged.findings if f.environment == "dev"]
    combined = clear_by_plans(hcl.findings, dev_only, ENVIRONMENTS, ["dev"])
    assert [f.status for f in _tag_check(combined)] == [Status.FAILED]


def test_a_check_no_plan_ran_on_the_resource_keeps_the_hcl_failure(
    hcl: CheckovResult, tagged: PlanScan
) -> None:
    other = [f for f in tagged.findings if f.rule_id != CHECK]
    combined = clear_by_plans(hcl.findings, other, ENVIRONMENTS, ENVIRONMENTS)
    assert [f.status for f in _tag_check(combined)] == [Status.FAILED]


@pytest.mark.parametrize(
    ("plans", "message"),
    [
        ({"prod": PLANS / "dev.json"}, "plan given for prod, which is not an environment folder"),
        ({"dev": PLANS / "absent.json"}, "plan file not found: dev="),
    ],
    ids=["unknown-environment", "missing-file"],
)
def test_bad_plan_inputs_are_refused(plans: dict[str, Path], message: str) -> None:
    with pytest.raises(PlanInputError, match=message):
        check_plans(plans, ENVIRONMENTS)
