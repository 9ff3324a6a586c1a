"""Stage `infra-plan`: a saved Terraform plan of one Azure environment, kept as an artifact.

Infrastructure changes take their own path: this saved plan is archived and approved in
Jenkins, and `infra-apply` applies exactly this file (checked by its SHA-256), nothing else.
"""

from __future__ import annotations

import hashlib

from pipelines.core.cluster import terraform_env
from pipelines.core.stage import StageContext, StageSkipped

TIMEOUT = 30 * 60.0
CHANGES_PRESENT = 2
"""`terraform plan -detailed-exitcode` exits 2 when the plan has changes."""


def run(ctx: StageContext) -> None:
    """Init and plan iac/environments/ENV into reports/infra-plan/ENV.tfplan plus its text."""
    if ctx.options.target == "local":
        raise StageSkipped("the local target has no Azure infrastructure")
    env_name = ctx.deploy_env
    root = ctx.require_path(
        f"iac/environments/{env_name}", "the environment roots land with issue 4"
    )
    tool_env = terraform_env(ctx)
    terraform = ctx.require_tool("terraform", tool_env, "run `make tools` (issue 3)")
    chdir = f"-chdir={root.relative_to(ctx.root)}"
    plan = ctx.report_dir / f"{env_name}.tfplan"
    ctx.run(
        "terraform init",
        [
            terraform,
            chdir,
            "init",
            "-input=false",
            "-lockfile=readonly",
            "-backend-config=backend.hcl",
        ],
        timeout=TIMEOUT,
        env=tool_env,
    )
    result = ctx.run(
        "terraform plan",
        [terraform, chdir, "plan", "-input=false", "-detailed-exitcode", f"-out={plan}"],
        timeout=TIMEOUT,
        env=tool_env,
        ok_codes=(0, CHANGES_PRESENT),
    )
    shown = ctx.run(
        "terraform show",
        [terraform, chdir, "show", "-no-color", str(plan)],
        timeout=TIMEOUT,
        env=tool_env,
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
