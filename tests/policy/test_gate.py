"""The gate end to end: real checkov and rules, real plans, real reports, real exit codes."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from policies.__main__ import main
from policies.findings import Status
from policies.gate import DEFAULT_WAIVERS, GateResult, run_gate
from policies.plans import resource_key
from policies.waivers import load_waivers
from tests.policy.conftest import FIXTURES, IAC

INSECURE_EDITS = {
    # Each edit removes one protection the gate must catch, in module code, roots and tfvars.
    "modules/aks/main.tf": [
        ("local_account_disabled            = true", "local_account_disabled            = false")
    ],
    "modules/backup-storage/main.tf": [
        ("shared_access_key_enabled         = false", "shared_access_key_enabled         = true"),
    ],
    "modules/keyvault/main.tf": [
        ("purge_protection_enabled      = true", "purge_protection_enabled      = false")
    ],
    "modules/network/main.tf": [("  tags                = var.tags\n", "")],
    "platform/versions.tf": [('version = "= 5.2.0"', 'version = ">= 5.0"')],
    "environments/prod/terraform.tfvars": [
        ('replication_type           = "RAGRS"', 'replication_type           = "LRS"')
    ],
}
EXPECTED_FAILURES = {
    "CKV2_INV_1",
    "CKV2_INV_4",
    "CKV_INV_102",
    "CKV2_INV_5",
    "CKV_INV_101",
    "INV_HCL_001",
    "INV_HCL_010",
}


def _junit_failures(path: Path) -> dict[str, int]:
    root = ET.parse(path).getroot()  # noqa: S314 - our own report, not untrusted input
    return {suite.attrib["name"]: int(suite.attrib["failures"]) for suite in root.iter("testsuite")}


@pytest.fixture(scope="module")
def real_gate(
    checkov: Path, offline_plans: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[GateResult, Path]:
    reports = tmp_path_factory.mktemp("reports")
    return run_gate(IAC, reports, DEFAULT_WAIVERS, checkov, plans=offline_plans), reports


def _storage_account(plan: dict[str, Any]) -> dict[str, Any]:
    """The (first) storage account in a plan document's planned_values, to edit in place."""
    modules = list(plan["planned_values"]["root_module"]["child_modules"])
    while modules:
        module = modules.pop()
        modules += module.get("child_modules", [])
        for resource in module["resources"]:
            if resource["type"] == "azurerm_storage_account":
                return resource  # type: ignore[no-any-return]
    raise AssertionError("the plan has no storage account")


def test_gate_passes_on_the_real_iac_and_every_plan(
    real_gate: tuple[GateResult, Path], offline_plans: dict[str, Path]
) -> None:
    result, reports = real_gate
    assert result.passed, [
        f"{f.rule_id} {f.resource} ({f.origin}): {f.message}" for f in result.failures
    ] + result.errors
    assert result.resource_count >= 50
    assert {f.engine for f in result.findings} == {"checkov", "hcl2"}
    assert {f.environment for f in result.findings} == {None, *offline_plans}
    assert sorted(result.plan_resource_counts) == sorted(offline_plans)
    assert all(result.plan_resource_counts.values())
    junit = _junit_failures(reports / "policy.junit.xml")
    assert {f"policy.checkov.plan.{env}" for env in offline_plans} <= set(junit)
    assert set(junit.values()) == {0}
    markdown = (reports / "policy.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Policy gate: PASSED")
    assert "## Waived failures" in markdown
    assert "platform-team" in markdown
    for env in offline_plans:
        assert f"| checkov (plan of {env}) |" in markdown


def test_every_project_waiver_is_still_needed(real_gate: tuple[GateResult, Path]) -> None:
    result, _ = real_gate
    assert [w.label for w in result.unused_waivers] == []


def test_what_the_plans_clear_needs_no_waiver_and_fails_without_them(
    real_gate: tuple[GateResult, Path], checkov: Path, tmp_path: Path
) -> None:
    result, _ = real_gate
    cleared = {(f.rule_id, f.resource) for f in result.cleared}
    assert cleared, "the plans clear no HCL failure: the plan scan resolves nothing"
    waivers = load_waivers(DEFAULT_WAIVERS)
    assert [
        (w.label, check, resource)
        for w in waivers
        for check, resource in cleared
        if w.framework == "terraform" and w.matches(check, resource, "*")
    ] == []

    hcl_only = run_gate(IAC, tmp_path, DEFAULT_WAIVERS, checkov)

    assert not hcl_only.passed
    assert {(f.rule_id, f.resource) for f in hcl_only.failures} == cleared


def test_gate_fails_on_a_plan_with_a_public_storage_account(
    checkov: Path, offline_plans: dict[str, Path], tmp_path: Path
) -> None:
    plan = json.loads(offline_plans["dev"].read_text(encoding="utf-8"))
    account = _storage_account(plan)
    values = account["values"]
    assert values["allow_nested_items_to_be_public"] is False, "fixture drift"
    values["allow_nested_items_to_be_public"] = True
    broken = tmp_path / "dev-public.json"
    broken.write_text(json.dumps(plan), encoding="utf-8")
    reports = tmp_path / "reports"
    plans = {**offline_plans, "dev": broken}

    exit_code = main(
        ["--iac", str(IAC), "--reports", str(reports), "--checkov", str(checkov)]
        + [f"--plan={env}={path}" for env, path in plans.items()]
    )

    assert exit_code == 1
    markdown = (reports / "policy.md").read_text(encoding="utf-8")
    failures = markdown.split("## Failures (fix these)")[1].split("## Waived failures")[0]
    assert f"| `{account['address']}` | plan of dev |" in failures
    assert "| HCL |" not in failures
    assert _junit_failures(reports / "policy.junit.xml")["policy.checkov.plan.dev"] >= 1


def test_an_expired_waiver_fails_the_gate_for_plan_findings(
    checkov: Path, offline_plans: dict[str, Path], tmp_path: Path
) -> None:
    document = yaml.safe_load(DEFAULT_WAIVERS.read_text(encoding="utf-8"))
    today = dt.date.today()
    (waiver,) = [w for w in document["waivers"] if w["check"] == "CKV_AZURE_59"]
    waiver["expires"] = today - dt.timedelta(days=1)
    expired = tmp_path / "waivers.yaml"
    expired.write_text(yaml.safe_dump(document), encoding="utf-8")

    result = run_gate(IAC, tmp_path / "reports", expired, checkov, today, plans=offline_plans)

    assert not result.passed
    assert [w.check for w in result.expired_waivers] == ["CKV_AZURE_59"]
    unwaived = {(f.rule_id, f.origin) for f in result.failures}
    assert ("CKV_AZURE_59", "plan of dev") in unwaived
    assert ("CKV_AZURE_59", "HCL") in unwaived
    waived = [f for f in result.findings if f.status is Status.WAIVED]
    assert [f for f in waived if f.rule_id == "CKV_AZURE_59"] == []
    assert {resource_key(f.resource) for f in result.failures} <= {
        resource_key(r) for r in waiver["resources"]
    }


def test_gate_fails_on_an_insecure_copy(checkov: Path, iac_copy: Path, tmp_path: Path) -> None:
    for file, edits in INSECURE_EDITS.items():
        path = iac_copy / file
        text = path.read_text(encoding="utf-8")
        for old, new in edits:
            assert old in text, f"fixture drift: {old!r} not in {file}"
            text = text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8")
    reports = tmp_path / "reports"

    exit_code = main(["--iac", str(iac_copy), "--reports", str(reports), "--checkov", str(checkov)])

    assert exit_code == 1
    markdown = (reports / "policy.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Policy gate: FAILED")
    failures_section = markdown.split("## Failures (fix these)")[1].split("## Waived failures")[0]
    for rule_id in EXPECTED_FAILURES:
        assert f"| {rule_id} |" in failures_section, f"{rule_id} missing from the failures table"
    assert _junit_failures(reports / "policy.junit.xml")["policy.checkov"] >= 5


def test_gate_fails_when_nothing_is_scanned(checkov: Path, tmp_path: Path) -> None:
    iac = tmp_path / "iac"
    iac.mkdir()
    (tmp_path / "none.yaml").write_text("waivers: []\n", encoding="utf-8")
    (iac / "variables.tf").write_text(
        'variable "x" {\n  type        = string\n  description = "x"\n}\n', encoding="utf-8"
    )
    reports = tmp_path / "reports"

    exit_code = main(
        [
            "--iac",
            str(iac),
            "--reports",
            str(reports),
            "--checkov",
            str(checkov),
            "--waivers",
            str(tmp_path / "none.yaml"),
        ]
    )

    assert exit_code == 1
    assert "scanned zero resources" in (reports / "policy.md").read_text(encoding="utf-8")
    assert _junit_failures(reports / "policy.junit.xml")["policy.gate"] == 1


def test_waiver_lets_a_failure_through_until_it_expires(checkov: Path, tmp_path: Path) -> None:
    iac = tmp_path / "iac"
    iac.mkdir()
    text = (FIXTURES / "minimal" / "main.tf").read_text(encoding="utf-8")
    untagged = text.split("  tags = {")[0] + "}\n" + text.split("  }\n}\n", 1)[1]
    (iac / "main.tf").write_text(untagged, encoding="utf-8")
    waivers = FIXTURES / "waivers-one.yaml"
    expiry = dt.date(2027, 1, 31)

    valid = run_gate(iac, tmp_path / "valid", waivers, checkov, today=expiry)
    assert valid.passed
    assert [(f.rule_id, f.resource) for f in valid.waived] == [
        ("CKV_INV_101", "azurerm_resource_group.minimal")
    ]

    reports = tmp_path / "expired"
    args = [
        "--iac",
        str(iac),
        "--reports",
        str(reports),
        "--waivers",
        str(waivers),
        "--checkov",
        str(checkov),
    ]
    assert main([*args, "--today", "2027-02-01"]) == 1
    markdown = (reports / "policy.md").read_text(encoding="utf-8")
    assert "**Expired** (fails the gate): CKV_INV_101" in markdown
    assert (
        "| CKV_INV_101 | `azurerm_resource_group.minimal` |"
        in markdown.split("## Waived failures")[0]
    )
    assert _junit_failures(reports / "policy.junit.xml")["policy.waivers"] == 1


def test_expired_waiver_fails_the_gate_even_when_unused(checkov: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    args = [
        "--iac",
        str(FIXTURES / "minimal"),
        "--reports",
        str(reports),
        "--checkov",
        str(checkov),
    ]
    assert (
        main([*args, "--waivers", str(FIXTURES / "waivers-one.yaml"), "--today", "2027-02-01"]) == 1
    )
    assert "**Expired**" in (reports / "policy.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--checkov", "/nonexistent/checkov"],
            "checkov not found at /nonexistent/checkov; build it with: make tools",
        ),
        (["--waivers", str(FIXTURES / "checkov" / "README.md")], "top level must be a mapping"),
    ],
    ids=["missing-checkov", "malformed-waivers"],
)
def test_gate_cannot_run_exits_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    args = ["--iac", str(FIXTURES / "minimal"), "--reports", str(tmp_path)]
    assert main([*args, *extra]) == 2
    assert message in capsys.readouterr().err


def test_missing_iac_directory_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--iac", str(tmp_path / "nope"), "--reports", str(tmp_path)]) == 2
    assert "is not a directory" in capsys.readouterr().err
