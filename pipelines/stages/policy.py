"""Stage `policy`: the policy-as-code gate over the Terraform and every environment's plan.

checkov and the python-hcl2 rules scan the HCL; each environment is planned offline (mocked
azurerm, no credentials) and checkov scans those plans too, so values passed into modules are
checked as the environments set them. The plans are kept in reports/policy/plans/.
"""

from __future__ import annotations

from pipelines.core.stage import StageContext

TIMEOUT = 20 * 60.0


def run(ctx: StageContext) -> None:
    """Run `python -m policies --offline-plans`; it writes policy.junit.xml, policy.md and the
    plans next to our reports."""
    reports = ctx.shown(ctx.report_dir)
    result = ctx.run(
        "policy gate",
        [ctx.python, "-m", "policies", "--iac", "iac", "--reports", reports, "--offline-plans"],
        timeout=TIMEOUT,
        env=ctx.tool_env(),
    )
    verdict = next((line for line in result.tail if line.startswith("policy gate")), "")
    ctx.note(f"{verdict or 'policy gate passed'}; findings in policy.md and policy.junit.xml")
