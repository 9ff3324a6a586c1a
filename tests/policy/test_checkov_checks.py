"""Each custom checkov check passes its `pass` and fails its `fail` fixtures (one checkov run)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from policies.checkov_runner import CUSTOM_CHECKS_DIR, CheckovResult, run_checkov
from policies.findings import Status
from tests.policy.conftest import FIXTURES


def _custom_check_ids() -> dict[str, str]:
    """Check id -> file, from the Python checks' id= and the YAML checks' metadata."""
    ids: dict[str, str] = {}
    for path in CUSTOM_CHECKS_DIR.glob("*.py"):
        for check_id in re.findall(r'\bid="([A-Z0-9_]+)"', path.read_text(encoding="utf-8")):
            ids[check_id] = path.name
    for path in CUSTOM_CHECKS_DIR.glob("*.yaml"):
        ids[yaml.safe_load(path.read_text(encoding="utf-8"))["metadata"]["id"]] = path.name
    return ids


CUSTOM_CHECKS = _custom_check_ids()


@pytest.fixture(scope="module")
def fixture_scan(checkov: Path) -> CheckovResult:
    return run_checkov(FIXTURES / "checkov", checkov, checks=sorted(CUSTOM_CHECKS))


def test_project_has_at_least_three_yaml_and_two_python_checks() -> None:
    kinds = [name.rsplit(".", 1)[1] for name in CUSTOM_CHECKS.values()]
    assert kinds.count("yaml") >= 3
    assert kinds.count("py") >= 2


@pytest.mark.parametrize("check_id", sorted(CUSTOM_CHECKS))
def test_check_passes_good_and_fails_bad_fixtures(
    fixture_scan: CheckovResult, check_id: str
) -> None:
    prefix = check_id.lower()
    results = {
        f.resource.rsplit(".", 1)[1]: f.status
        for f in fixture_scan.findings
        if f.rule_id == check_id and f.resource.rsplit(".", 1)[1].startswith(prefix + "_")
    }
    expected_pass = {name for name in results if name.startswith(f"{prefix}_pass")}
    expected_fail = {name for name in results if name.startswith(f"{prefix}_fail")}
    assert expected_pass, f"{check_id} has no passing fixture that checkov evaluated"
    assert expected_fail, f"{check_id} has no failing fixture that checkov evaluated"
    assert {name for name in expected_pass if results[name] is not Status.PASSED} == set()
    assert {name for name in expected_fail if results[name] is not Status.FAILED} == set()


def test_custom_checks_report_their_severity(fixture_scan: CheckovResult) -> None:
    severities = {f.rule_id: f.severity.value for f in fixture_scan.findings}
    assert severities["CKV_INV_102"] == "HIGH"
    assert severities["CKV2_INV_1"] == "HIGH"
    assert severities["CKV_INV_101"] == "MEDIUM"
