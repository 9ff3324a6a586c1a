"""Stage `infra-plan`: a saved Terraform plan of one Azure environment, kept as an artifact.

Infrastructure changes take their own path: this saved plan is archived and approved in
Jenkins, and `infra-apply` applies exactly this file (checked by its SHA-256), nothing else.
Every environment is planned with the one root iac/platform, its own state
(iac/environments/ENV/backend.hcl) and its own values (iac/environments/ENV/terraform.tfvars).
"""

from __future__ import annotations

import hashlib

from pipelines.core.promotion import PromotionError, require_promoted
from pipelines.core.stage import StageContext, StageSkipped
from pipelines.targets.terraform_outputs import environment_root

TIMEOUT = 30 * 60.0
CHANGES_PRESENT = 2
"""`terraform plan -detailed-exitcode` exits 2 when the plan has changes."""


def run(ctx: StageContext) -> None:
    """Init and plan iac/platform for ENV into reports/infra-plan/ENV.tfplan plus its text."""
    if ctx.options.target == "local":
        raise StageSkipped("the local target has no Azure infrastructure")
    env_name = ctx.deploy_env
    try:
        promoted = require_promoted(ctx.root, env_name)
    except PromotionError as error:
        ctx.fail(str(error))
    if promoted:
        ctx.note(f"promotion checked: {promoted}")
    root = environment_root(ctx, env_name)
    plan = ctx.report_dir / f"{env_name}.tfplan"
    ctx.run("terraform init", root.init(), timeout=TIMEOUT, env=root.env)
    # The plan identity may only read its state container, so it cannot take the state lease;
    # the apply (which holds the lock) refuses a saved plan whose state has moved on.
    result = ctx.run(
        "terraform plan",
        root.command(
            "plan",
            "-input=false",
            "-lock=false",
            "-detailed-exitcode",
            root.var_file,
            f"-out={plan}",
        ),
        timeout=TIMEOUT,
        env=root.env,
        ok_codes=(0, CHANGES_PRESENT),
    )
    shown = ctx.run(
        "terraform show",
        root.command("show", "-no-color", str(plan)),
        timeout=TIMEOUT,
        env=root.env,
    )
    (ctx.report_dir / f"{env_name}.tfplan.txt").write_text(
        shown.log_path.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8"
    )
    digest = hashlib.sha256(plan.read_bytes()).hexdigest()
    changes = result.returncode == CHANGES_PRESENT
    ctx.write_json(
        "plan.json", {"env": env_name, "plan": plan.name, "sha256": digest, "changes": changes}
    )
    ctx.note(f"{env_name}: {'changes to apply' if changes else 'no changes'}; plan sha256 {digest}")
