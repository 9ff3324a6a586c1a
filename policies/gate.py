"""The policy gate: both engines over one IaC tree, waivers applied, one verdict.

`run_gate` is the Python API (the pipeline's policy stage calls it); `python -m policies`
is the command line around it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

from policies.checkov_runner import DEFAULT_CHECKOV, run_checkov
from policies.findings import Finding, Status
from policies.hcl2.engine import load_project, run_rules
from policies.hcl2.rules import RULES
from policies.report import write_junit, write_markdown
from policies.waivers import Waiver, load_waivers

DEFAULT_WAIVERS = Path(__file__).resolve().parent / "waivers.yaml"
ENGINE_FRAMEWORK = {"checkov": "terraform", "hcl2": "hcl2"}


@dataclass
class GateResult:
    """Everything the reports show; `passed` is the verdict."""

    findings: list[Finding]
    waivers: list[Waiver]
    today: dt.date
    resource_count: int
    hcl_file_count: int
    checkov_version: str
    errors: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Finding]:
        """Unwaived failures."""
        return [f for f in self.findings if f.status is Status.FAILED]

    @property
    def waived(self) -> list[Finding]:
        """Failures covered by a valid waiver."""
        return [f for f in self.findings if f.status is Status.WAIVED]

    @property
    def expired_waivers(self) -> list[Waiver]:
        """Waivers past their expiry date (each fails the gate)."""
        return [w for w in self.waivers if w.is_expired(self.today)]

    @property
    def unused_waivers(self) -> list[Waiver]:
        """Gate waivers that cover no failure any more (reported, to be removed)."""
        used = {f.waiver for f in self.waived}
        return [
            w
            for w in self.waivers
            if w.framework in ENGINE_FRAMEWORK.values()
            and w.label not in used
            and not w.is_expired(self.today)
        ]

    @property
    def passed(self) -> bool:
        """No unwaived failure, no expired waiver, no scan error."""
        return not self.failures and not self.expired_waivers and not self.errors


def apply_waivers(findings: list[Finding], waivers: list[Waiver], today: dt.date) -> list[Finding]:
    """Mark failures covered by an unexpired waiver of the same framework as WAIVED."""
    result: list[Finding] = []
    for finding in findings:
        waiver = None
        if finding.status is Status.FAILED:
            waiver = next(
                (
                    w
                    for w in waivers
                    if w.framework == ENGINE_FRAMEWORK[finding.engine]
                    and not w.is_expired(today)
                    and w.matches(finding.rule_id, finding.resource, finding.file)
                ),
                None,
            )
        result.append(
            replace(finding, status=Status.WAIVED, waiver=waiver.label) if waiver else finding
        )
    return result


def run_gate(
    iac_dir: Path,
    reports_dir: Path,
    waivers_file: Path = DEFAULT_WAIVERS,
    checkov: Path = DEFAULT_CHECKOV,
    today: dt.date | None = None,
) -> GateResult:
    """Scan `iac_dir` with checkov and the hcl2 rules, apply waivers, write JUnit and Markdown."""
    today = today or dt.date.today()
    waivers = load_waivers(waivers_file)
    project = load_project(iac_dir)
    checkov_result = run_checkov(iac_dir, checkov)
    findings = checkov_result.findings + run_rules(project, RULES)
    errors = [f"checkov could not parse {path}" for path in checkov_result.parsing_errors]
    if checkov_result.resource_count == 0:
        errors.append(f"checkov scanned zero resources under {iac_dir}: nothing was checked")
    if not project.files:
        errors.append(f"no Terraform files under {iac_dir}")
    result = GateResult(
        findings=apply_waivers(findings, waivers, today),
        waivers=waivers,
        today=today,
        resource_count=checkov_result.resource_count,
        hcl_file_count=len(project.files),
        checkov_version=checkov_result.version,
        errors=errors,
    )
    reports_dir.mkdir(parents=True, exist_ok=True)
    write_junit(result, reports_dir / "policy.junit.xml")
    write_markdown(result, reports_dir / "policy.md")
    return result
