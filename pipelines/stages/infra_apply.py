"""Stage `infra-apply`: apply exactly the plan `infra-plan` saved (and Jenkins had approved).

Afterwards it saves `terraform output -json` as reports/infra-apply/terraform-outputs-<env>.json
(also when the plan had no changes), which `deploy` turns into the charts' identity values.
"""

from __future__ import annotations

import hashlib

from pipelines.core.promotion import PromotionError, is_promotion_source, record_apply
from pipelines.core.stage import StageContext, StageSkipped
from pipelines.targets.terraform_outputs import environment_root, save_outputs

TIMEOUT = 60 * 60.0


def run(ctx: StageContext) -> None:
    """Check the saved plan is the approved one (SHA-256), `terraform apply PLAN`, save outputs."""
    if ctx.options.target == "local":
        raise StageSkipped("the local target has no Azure infrastructure")
    env_name = ctx.deploy_env
    saved = ctx.read_json("infra-plan", "plan.json", f"infra-plan --target azure --env {env_name}")
    if saved["env"] != env_name:
        ctx.fail(f"the saved plan is for {saved['env']}, not {env_name}: run infra-plan again")
    root = environment_root(ctx, env_name)
    if not saved["changes"]:
        save_outputs(ctx, root, env_name)
        _record(ctx, env_name)
        raise StageSkipped(f"the {env_name} plan has no changes (outputs saved)")
    plan = ctx.options.reports / "infra-plan" / saved["plan"]
    digest = hashlib.sha256(plan.read_bytes()).hexdigest()
    if digest != saved["sha256"]:
        ctx.fail(f"{plan.name} changed since it was planned (sha256 {digest}): not applying it")
    ctx.run(
        "terraform apply",
        root.command("apply", "-input=false", str(plan)),
        timeout=TIMEOUT,
        env=root.env,
    )
    ctx.note(f"applied {plan.name} (sha256 {digest})")
    save_outputs(ctx, root, env_name)
    _record(ctx, env_name)


def _record(ctx: StageContext, env_name: str) -> None:
    """Record the applied commit where the environments promoted from this one look for it."""
    if not is_promotion_source(env_name):
        return
    try:
        ctx.note(f"recorded {record_apply(ctx.root, env_name)}")
    except PromotionError as error:
        ctx.fail(f"{env_name} was applied, but recording it failed: {error}")
