"""JUnit XML for Jenkins and a Markdown page a reviewer reads in a minute."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from policies.findings import Finding, Severity, Status
from policies.plans import PLAN_BLIND_CHECKS

if TYPE_CHECKING:
    from policies.gate import GateResult

_SEVERITY_ORDER = {severity: index for index, severity in enumerate(Severity)}


def _scans(result: GateResult) -> list[tuple[str, str, list[Finding]]]:
    """(suite suffix, label, findings) per engine and source: checkov on the HCL, checkov on
    each environment's plan, the hcl2 rules."""
    hcl = [f for f in result.findings if f.engine == "checkov" and f.environment is None]
    scans = [("checkov", "checkov (HCL)", hcl)]
    for env in sorted(result.plan_resource_counts):
        findings = [f for f in result.findings if f.environment == env]
        scans.append((f"checkov.plan.{env}", f"checkov (plan of {env})", findings))
    scans.append(("hcl2", "hcl2", [f for f in result.findings if f.engine == "hcl2"]))
    return scans


def _testcase(suite: ET.Element, name: str, classname: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", name=name, classname=classname, time="0")


def _suite(root: ET.Element, name: str, cases: int, failures: int, skipped: int) -> ET.Element:
    return ET.SubElement(
        root,
        "testsuite",
        name=name,
        tests=str(cases),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
    )


def write_junit(result: GateResult, path: Path) -> None:
    """One testcase per finding (a suite per engine and source), per waiver, and per
    gate-level condition."""
    root = ET.Element("testsuites", name="policy")
    for name, _, findings in _scans(result):
        suite = _suite(
            root,
            f"policy.{name}",
            len(findings),
            sum(f.status is Status.FAILED for f in findings),
            sum(f.status is Status.WAIVED for f in findings),
        )
        for finding in findings:
            case = _testcase(
                suite, f"{finding.rule_id} {finding.resource}", f"{name}.{finding.file}"
            )
            if finding.status is Status.FAILED:
                failure = ET.SubElement(
                    case, "failure", message=finding.message or finding.title, type=finding.severity
                )
                failure.text = (
                    f"{finding.title}\n{finding.origin}: {finding.location}\n{finding.message}"
                ).strip()
            elif finding.status is Status.WAIVED:
                ET.SubElement(case, "skipped", message=f"waived: {finding.waiver}")
    suite = _suite(root, "policy.waivers", len(result.waivers), len(result.expired_waivers), 0)
    for waiver in result.waivers:
        case = _testcase(suite, f"waiver {waiver.check} ({waiver.framework})", "policy.waivers")
        if waiver.is_expired(result.today):
            ET.SubElement(
                case,
                "failure",
                message=f"waiver expired on {waiver.expires.isoformat()}",
                type="expired",
            )
    suite = _suite(root, "policy.gate", 1, 1 if result.errors else 0, 0)
    case = _testcase(suite, "scanned something and parsed everything", "policy.gate")
    if result.errors:
        ET.SubElement(case, "failure", message="; ".join(result.errors), type="scan")
    ET.indent(root)
    path.write_text(
        ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n", encoding="utf-8"
    )


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (_SEVERITY_ORDER[f.severity], f.rule_id, f.resource))


def _plans_line(result: GateResult) -> str:
    if not result.plan_resource_counts:
        return "No plans scanned: HCL failures are not cleared by any plan."
    scanned = ", ".join(
        f"{env} ({count} resources)" for env, count in sorted(result.plan_resource_counts.items())
    )
    line = f"Plans scanned: {scanned}."
    if result.unplanned_environments:
        line += (
            f" No plan of {', '.join(result.unplanned_environments)}: HCL failures are cleared "
            "only when every environment's plan is scanned."
        )
    return line


def write_markdown(result: GateResult, path: Path) -> None:
    """Verdict first, then failures, waivers and what ran; passing checks only as counts."""
    verdict = "PASSED" if result.passed else "FAILED"
    lines = [
        f"# Policy gate: {verdict}",
        "",
        f"{result.today.isoformat()} · checkov {result.checkov_version} scanned "
        f"{result.resource_count} "
        f"resources · python-hcl2 rules parsed {result.hcl_file_count} files · "
        f"{len(result.failures)} unwaived failures · {len(result.waived)} waived · "
        f"{len(result.cleared)} cleared by the plans · "
        f"{len(result.expired_waivers)} expired waivers",
        "",
        _plans_line(result),
        "",
    ]
    if result.errors:
        lines += ["## Scan errors", "", *[f"- {error}" for error in result.errors], ""]
    lines += ["## Failures (fix these)", ""]
    if result.failures:
        lines += [
            "| Severity | Rule | Resource | Source | Where | What |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {f.severity} | {f.rule_id} | `{_cell(f.resource)}` | {f.origin} | "
            f"`{f.location}` | {_cell(f.message or f.title)} |"
            for f in _sorted(result.failures)
        ]
    else:
        lines.append("None.")
    lines += ["", "## Waived failures", ""]
    if result.waived:
        by_waiver: dict[str, list[Finding]] = {}
        for finding in _sorted(result.waived):
            by_waiver.setdefault(finding.waiver, []).append(finding)
        reasons = {w.label: w for w in result.waivers}
        lines += [
            "| Rule | Resources | Sources | Owner | Until | Reason |",
            "|---|---|---|---|---|---|",
        ]
        for label, findings in by_waiver.items():
            waiver = reasons[label]
            sources = ", ".join(sorted({f.origin for f in findings}))
            resources = ", ".join(sorted({f"`{_cell(f.resource)}`" for f in findings}))
            lines.append(
                f"| {waiver.check} | {resources} | {sources} | {waiver.owner} | "
                f"{waiver.expires.isoformat()} | {_cell(waiver.reason)} |"
            )
    else:
        lines.append("None.")
    lines += ["", "## Cleared by the plans (HCL failures every environment's plan passes)", ""]
    if result.cleared:
        lines += ["| Rule | Resource | Where | Plans |", "|---|---|---|---|"]
        lines += [
            f"| {f.rule_id} | `{_cell(f.resource)}` | `{f.location}` | {_cell(f.message)} |"
            for f in _sorted(result.cleared)
        ]
    else:
        lines.append("None.")
    if result.expired_waivers or result.unused_waivers:
        lines += ["", "## Waiver file", ""]
        lines += [
            f"- **Expired** (fails the gate): {w.label}: {w.reason}" for w in result.expired_waivers
        ]
        lines += [f"- Unused (remove it): {w.label}" for w in result.unused_waivers]
    lines += [
        "",
        "## What ran",
        "",
        "| Engine | Checks | Results | Passed | Failed | Waived | Cleared |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, label, findings in _scans(result):
        counts = Counter(f.status for f in findings)
        lines.append(
            f"| {label} | {len({f.rule_id for f in findings})} | {len(findings)} | "
            f"{counts[Status.PASSED]} | {counts[Status.FAILED]} | {counts[Status.WAIVED]} | "
            f"{counts[Status.CLEARED]} |"
        )
    if result.plan_resource_counts:
        blind = ", ".join(f"{check} ({what})" for check, what in PLAN_BLIND_CHECKS.items())
        lines += ["", f"Not run on plans (their HCL result stands): {blind}."]
    custom = sorted({(f.rule_id, f.title) for f in result.findings if "INV" in f.rule_id})
    lines += ["", "Project rules (custom checkov checks and python-hcl2 rules):", ""]
    lines += [f"- {rule_id}: {title}" for rule_id, title in custom]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
