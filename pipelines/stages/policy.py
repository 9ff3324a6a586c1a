"""Stage `policy`: the policy-as-code gate (checkov + python-hcl2 rules) over the Terraform."""

from __future__ import annotations

from pipelines.core.stage import StageContext

TIMEOUT = 20 * 60.0


def run(ctx: StageContext) -> None:
    """Run `python -m policies`; it writes policy.junit.xml and policy.md next to our reports."""
    ctx.require_path("policies/__main__.py", "the policy gate lands with issue 4")
    reports = str(ctx.report_dir.relative_to(ctx.root))
    ctx.run(
        "policy gate",
        [ctx.python, "-m", "policies", "--iac", "iac", "--reports", reports],
        timeout=TIMEOUT,
        env=ctx.tool_env(),
    )
