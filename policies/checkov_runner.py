"""Run checkov as a subprocess (it lives in its own virtualenv) and turn its JSON into Findings.

One runner for both inputs: the HCL under a directory (framework `terraform`) and plan
documents (`terraform show -json`, framework `terraform_plan`) found in a directory.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.findings import Finding, Severity, Status

POLICIES_DIR = Path(__file__).resolve().parent
CONFIG_FILE = POLICIES_DIR / ".checkov.yaml"
CUSTOM_CHECKS_DIR = POLICIES_DIR / "checkov"
DEFAULT_CHECKOV = POLICIES_DIR.parent / ".tools" / "bin" / "checkov"
HCL = "terraform"
PLAN = "terraform_plan"
"""checkov frameworks: Terraform source, and plan JSON documents."""


class CheckovError(RuntimeError):
    """checkov could not run or produced no parseable report."""


@dataclass(frozen=True)
class CheckovResult:
    """Findings plus what checkov says it scanned (the gate fails on zero resources)."""

    findings: list[Finding]
    resource_count: int
    parsing_errors: list[str]
    version: str


def _severity(value: Any) -> Severity:
    # Built-in checks carry no severity without the (online) Prisma platform: report MEDIUM.
    try:
        return Severity(str(value).upper())
    except ValueError:
        return Severity.MEDIUM


def _finding(record: dict[str, Any], status: Status) -> Finding:
    line_range = record.get("file_line_range") or [None]
    return Finding(
        engine="checkov",
        rule_id=str(record["check_id"]),
        title=str(record.get("check_name", "")),
        severity=_severity(record.get("severity")),
        status=status,
        file=str(record.get("file_path", "")).lstrip("/"),
        line=line_range[0],
        resource=str(record.get("resource", "")),
    )


def _framework_report(document: Any, framework: str) -> dict[str, Any]:
    reports = document if isinstance(document, list) else [document]
    for report in reports:
        if isinstance(report, dict) and report.get("check_type") == framework:
            return report
    # checkov prints a bare summary when it found nothing to scan.
    for report in reports:
        if isinstance(report, dict) and "resource_count" in report:
            return {"summary": report, "results": {}}
    raise CheckovError(f"checkov output holds no {framework} report")


def run_checkov(
    directory: Path,
    checkov: Path = DEFAULT_CHECKOV,
    checks: Sequence[str] = (),
    framework: str = HCL,
    skip_checks: Sequence[str] = (),
) -> CheckovResult:
    """Scan `directory` (HCL, or the plan documents in it with `framework=PLAN`) with the
    project config and custom checks (only `checks` if given, never `skip_checks`)."""
    if not checkov.exists():
        raise CheckovError(f"checkov not found at {checkov}; build it with: make tools")
    command = [
        str(checkov),
        "--config-file",
        str(CONFIG_FILE),
        "--directory",
        str(directory),
        "--framework",
        framework,
        "--external-checks-dir",
        str(CUSTOM_CHECKS_DIR),
        "--output",
        "json",
    ]
    if checks:
        command += ["--check", ",".join(checks)]
    if skip_checks:
        command += ["--skip-check", ",".join(skip_checks)]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    if framework == PLAN:
        # A value known only after apply (an id of a resource the same plan creates) counts as
        # set: checks that it exists pass, checks of a concrete value still fail.
        env["EVAL_TF_PLAN_AFTER_UNKNOWN"] = "true"
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    # checkov exits 1 when a check fails; anything else without JSON is a crash.
    try:
        document = json.loads(completed.stdout)
    except json.JSONDecodeError as error:
        tail = (completed.stderr or completed.stdout).strip()[-2000:]
        raise CheckovError(
            f"checkov exited {completed.returncode} without a JSON report:\n{tail}"
        ) from error
    report = _framework_report(document, framework)
    summary = report.get("summary", {})
    results = report.get("results", {})
    findings = [_finding(record, Status.PASSED) for record in results.get("passed_checks", [])]
    findings += [_finding(record, Status.FAILED) for record in results.get("failed_checks", [])]
    return CheckovResult(
        findings=findings,
        resource_count=int(summary.get("resource_count", 0)),
        parsing_errors=[str(path) for path in results.get("parsing_errors", [])],
        version=str(summary.get("checkov_version", "unknown")),
    )
