"""Stage `policy`: the policy-as-code gate (checkov + python-hcl2 rules) over the Terraform."""

from __future__ import annotations

from pipelines.core.stage import StageContext

TIMEOUT = 20 * 60.0


def run(ctx: StageContext) -> None:
    """Run `python -m policies`; it writes policy.junit.xml and policy.md next to our reports."""
    reports = ctx.shown(ctx.report_dir)
    result = ctx.run(
        "policy gate",
        [ctx.python, "-m", "policies", "--iac", "iac", "--reports", reports],
        timeout=TIMEOUT,
        env=ctx.tool_env(),
    )
    verdict = next((line for line in result.tail if line.startswith("policy gate")), "")
    ctx.note(f"{verdict or 'policy gate passed'}; findings in policy.md and policy.junit.xml")
