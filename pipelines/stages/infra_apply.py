"""Stage `infra-apply`: apply exactly the plan `infra-plan` saved (and Jenkins had approved)."""

from __future__ import annotations

import hashlib

from pipelines.core.cluster import terraform_env
from pipelines.core.stage import StageContext, StageSkipped

TIMEOUT = 60 * 60.0


def run(ctx: StageContext) -> None:
    """Check the saved plan is the approved one (SHA-256), then `terraform apply PLAN`."""
    if ctx.options.target == "local":
        raise StageSkipped("the local target has no Azure infrastructure")
    env_name = ctx.deploy_env
    saved = ctx.read_json("infra-plan", "plan.json", f"infra-plan --target azure --env {env_name}")
    if saved["env"] != env_name:
        ctx.fail(f"the saved plan is for {saved['env']}, not {env_name}: run infra-plan again")
    if not saved["changes"]:
        raise StageSkipped(f"the {env_name} plan has no changes")
    plan = ctx.options.reports / "infra-plan" / saved["plan"]
    digest = hashlib.sha256(plan.read_bytes()).hexdigest()
    if digest != saved["sha256"]:
        ctx.fail(f"{plan.name} changed since it was planned (sha256 {digest}): not applying it")
    tool_env = terraform_env(ctx)
    terraform = ctx.require_tool("terraform", tool_env, "run `make tools` (issue 3)")
    root = ctx.root / "iac" / "environments" / env_name
    ctx.run(
        "terraform apply",
        [terraform, f"-chdir={root.relative_to(ctx.root)}", "apply", "-input=false", str(plan)],
        timeout=TIMEOUT,
        env=tool_env,
    )
    ctx.note(f"applied {plan.name} (sha256 {digest})")
