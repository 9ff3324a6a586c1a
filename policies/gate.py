"""The policy gate: both engines over one IaC tree and its environments' plans, one verdict.

checkov scans the HCL and (when given) every environment's plan; HCL failures the plans resolve
are cleared (policies/plans.py), the rest are matched against waivers, which apply to HCL and
plan findings alike. `run_gate` is the Python API; `python -m policies` is the command line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipelines.core.environments import environments_in
from policies.checkov_runner import DEFAULT_CHECKOV, run_checkov
from policies.findings import Finding, Status
from policies.hcl2.engine import load_project, run_rules
from policies.hcl2.rules import RULES
from policies.plans import PlanScan, check_plans, clear_by_plans, resource_key, scan_plans
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
    environments: tuple[str, ...] = ()
    plan_resource_counts: dict[str, int] = field(default_factory=dict)
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
    def cleared(self) -> list[Finding]:
        """HCL failures every environment's plan resolves."""
        return [f for f in self.findings if f.status is Status.CLEARED]

    @property
    def unplanned_environments(self) -> list[str]:
        """Environments without a scanned plan (then no HCL failure is cleared)."""
        return [env for env in self.environments if env not in self.plan_resource_counts]

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
    """Mark failures covered by an unexpired waiver of the same framework as WAIVED; resource
    globs match the address with or without instance keys (`x.y[0]` or `x.y`)."""
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
                    and any(
                        w.matches(finding.rule_id, address, finding.file, finding.environment)
                        for address in (finding.resource, resource_key(finding.resource))
                    )
                ),
                None,
            )
        result.append(
            replace(finding, status=Status.WAIVED, waiver=waiver.label) if waiver else finding
        )
    return result


def _plan_errors(scan: PlanScan) -> list[str]:
    errors = [f"checkov could not parse the plan {path}" for path in scan.parsing_errors]
    errors += [
        f"checkov scanned zero resources in the plan of {env}: is it `terraform show -json` output?"
        for env, count in scan.resource_counts.items()
        if count == 0
    ]
    return errors


def run_gate(
    iac_dir: Path,
    reports_dir: Path,
    waivers_file: Path = DEFAULT_WAIVERS,
    checkov: Path = DEFAULT_CHECKOV,
    today: dt.date | None = None,
    *,
    plans: Mapping[str, Path] | None = None,
) -> GateResult:
    """Scan `iac_dir` with checkov and the hcl2 rules and each environment's plan (`plans`:
    environment -> `terraform show -json` document) with checkov, clear what the plans resolve,
    apply waivers, write JUnit and Markdown."""
    today = today or dt.date.today()
    plans = dict(plans or {})
    waivers = load_waivers(waivers_file)
    environments = environments_in(iac_dir / "environments")
    check_plans(plans, environments)
    project = load_project(iac_dir)
    checkov_result = run_checkov(iac_dir, checkov)
    plan_scan = scan_plans(plans, checkov) if plans else PlanScan([], {}, [])
    checkov_findings = clear_by_plans(
        checkov_result.findings, plan_scan.findings, environments, plans
    )
    findings = checkov_findings + plan_scan.findings + run_rules(project, RULES)
    errors = [f"checkov could not parse {path}" for path in checkov_result.parsing_errors]
    if checkov_result.resource_count == 0:
        errors.append(f"checkov scanned zero resources under {iac_dir}: nothing was checked")
    if not project.files:
        errors.append(f"no Terraform files under {iac_dir}")
    errors += _plan_errors(plan_scan)
    result = GateResult(
        findings=apply_waivers(findings, waivers, today),
        waivers=waivers,
        today=today,
        resource_count=checkov_result.resource_count,
        hcl_file_count=len(project.files),
        checkov_version=checkov_result.version,
        environments=environments,
        plan_resource_counts=plan_scan.resource_counts,
        errors=errors,
    )
    reports_dir.mkdir(parents=True, exist_ok=True)
    write_junit(result, reports_dir / "policy.junit.xml")
    write_markdown(result, reports_dir / "policy.md")
    return result
