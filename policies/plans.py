"""Environment plans next to the HCL: scan them, and let them settle what the HCL cannot.

checkov reads module inputs in the HCL as unresolved `var.x`, so a check on a value an
environment passes into a module fails there even when every environment sets it right. In a
plan the value is resolved. The rule (`clear_by_plans`): an HCL failure of check C on resource R
is cleared when the plans of every environment were scanned, C ran on R in at least one of them
and failed in none. Everything else stays as checkov reported it.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from policies.checkov_runner import DEFAULT_CHECKOV, PLAN, run_checkov
from policies.findings import Finding, Status, plan_source

_INSTANCE_KEY = re.compile(r"\[[^\]]*\]")
PLAN_BLIND_CHECKS = {
    "CKV2_AZURE_31": "a subnet's NSG association",
    "CKV2_AZURE_32": "a Key Vault's private endpoint",
    "CKV2_AZURE_33": "a storage account's private endpoint",
    "CKV_AZURE_120": "an Application Gateway's WAF policy",
}
"""Connection checks not run on plans: each follows a reference from another resource (the
one named), which only the plan's `configuration` block records, and a `terraform test` plan
has none. Their HCL results stand."""


class PlanInputError(ValueError):
    """A plan input names an unknown environment or a file that does not exist."""


@dataclass(frozen=True)
class PlanScan:
    """Findings of every plan, and how many resources checkov scanned in each."""

    findings: list[Finding]
    resource_counts: dict[str, int]
    parsing_errors: list[str]


def resource_key(address: str) -> str:
    """The resource's address without instance keys: `m["a"].x.y[0]` -> `m.x.y`, so one HCL
    block matches all its instances in a plan."""
    return _INSTANCE_KEY.sub("", address)


def check_plans(plans: Mapping[str, Path], environments: Sequence[str]) -> None:
    """Refuse plans for environments the tree does not have, and missing plan files."""
    unknown = sorted(set(plans) - set(environments))
    if unknown:
        known = ", ".join(environments) or "none"
        raise PlanInputError(
            f"plan given for {', '.join(unknown)}, which is not an environment folder "
            f"(environments: {known})"
        )
    missing = [f"{env}={path}" for env, path in sorted(plans.items()) if not path.is_file()]
    if missing:
        raise PlanInputError(f"plan file not found: {', '.join(missing)}")


def scan_plans(plans: Mapping[str, Path], checkov: Path = DEFAULT_CHECKOV) -> PlanScan:
    """One checkov run over every plan (each staged as `<env>.json`); findings carry their
    environment as source and the plan file as given as their file."""
    with tempfile.TemporaryDirectory(prefix="policy-plans-") as staging:
        for env, path in plans.items():
            shutil.copyfile(path, Path(staging) / f"{env}.json")
        result = run_checkov(
            Path(staging), checkov, framework=PLAN, skip_checks=sorted(PLAN_BLIND_CHECKS)
        )
    findings: list[Finding] = []
    for finding in result.findings:
        env = Path(finding.file).stem
        findings.append(replace(finding, source=plan_source(env), file=str(plans[env]), line=None))
    counts = {env: len({f.resource for f in findings if f.environment == env}) for env in plans}
    return PlanScan(findings, counts, result.parsing_errors)


def clear_by_plans(
    hcl: Sequence[Finding],
    plan: Sequence[Finding],
    environments: Collection[str],
    planned: Collection[str],
) -> list[Finding]:
    """Mark HCL failures CLEARED that the plans resolve (see the module docstring); nothing is
    cleared unless `planned` covers every one of `environments`."""
    if not environments or not set(environments) <= set(planned):
        return list(hcl)
    outcomes: dict[tuple[str, str], dict[str, set[Status]]] = {}
    for finding in plan:
        per_env = outcomes.setdefault((finding.rule_id, resource_key(finding.resource)), {})
        per_env.setdefault(str(finding.environment), set()).add(finding.status)
    result: list[Finding] = []
    for finding in hcl:
        per_env = outcomes.get((finding.rule_id, resource_key(finding.resource)), {})
        statuses = set().union(*per_env.values()) if per_env else set()
        if finding.status is Status.FAILED and statuses == {Status.PASSED}:
            where = ", ".join(sorted(per_env))
            message = f"passes in the plans of {where}"
            result.append(replace(finding, status=Status.CLEARED, message=message))
        else:
            result.append(finding)
    return result
