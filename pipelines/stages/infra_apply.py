"""Stage `infra-apply`: apply exactly the plan `infra-plan` saved (and Jenkins had approved).

Afterwards it saves `terraform output -json` as reports/infra-apply/terraform-outputs-<env>.json
(also when the plan had no changes), which `deploy` turns into the charts' identity values.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pipelines.core.cluster import terraform_env
from pipelines.core.stage import StageContext, StageSkipped
from pipelines.core.terraform_outputs import outputs_file

TIMEOUT = 60 * 60.0
OUTPUT_TIMEOUT = 5 * 60.0


def run(ctx: StageContext) -> None:
    """Check the saved plan is the approved one (SHA-256), `terraform apply PLAN`, save outputs."""
    if ctx.options.target == "local":
        raise StageSkipped("the local target has no Azure infrastructure")
    env_name = ctx.deploy_env
    saved = ctx.read_json("infra-plan", "plan.json", f"infra-plan --target azure --env {env_name}")
    if saved["env"] != env_name:
        ctx.fail(f"the saved plan is for {saved['env']}, not {env_name}: run infra-plan again")
    tool_env = terraform_env(ctx)
    terraform = ctx.require_tool("terraform", tool_env, "run `make tools` (issue 3)")
    chdir = f"-chdir={(ctx.root / 'iac' / 'environments' / env_name).relative_to(ctx.root)}"
    if not saved["changes"]:
        _save_outputs(ctx, [terraform, chdir], tool_env)
        raise StageSkipped(f"the {env_name} plan has no changes (outputs saved)")
    plan = ctx.options.reports / "infra-plan" / saved["plan"]
    digest = hashlib.sha256(plan.read_bytes()).hexdigest()
    if digest != saved["sha256"]:
        ctx.fail(f"{plan.name} changed since it was planned (sha256 {digest}): not applying it")
    ctx.run(
        "terraform apply",
        [terraform, chdir, "apply", "-input=false", str(plan)],
        timeout=TIMEOUT,
        env=tool_env,
    )
    ctx.note(f"applied {plan.name} (sha256 {digest})")
    _save_outputs(ctx, [terraform, chdir], tool_env)


def _save_outputs(ctx: StageContext, terraform: list[str], env: dict[str, str]) -> None:
    """Run `terraform output -json` and save the document for `deploy`."""
    result = ctx.run(
        "terraform output", [*terraform, "output", "-json"], timeout=OUTPUT_TIMEOUT, env=env
    )
    try:
        outputs = parse_output_log(result.log_path)
    except ValueError as error:
        ctx.fail(
            f"terraform output -json printed no JSON object ({error}): "
            f"see {ctx.shown(result.log_path)}"
        )
    path = ctx.write_json(outputs_file(ctx.deploy_env), outputs)
    ctx.note(f"saved {len(outputs)} Terraform outputs to {ctx.shown(path)}")


def parse_output_log(log: Path) -> dict[str, Any]:
    """The JSON object in a step log of `terraform output -json` (after the `$ command` line)."""
    text = log.read_text(encoding="utf-8")
    start = text.find("{")
    if start < 0:
        raise ValueError("no '{' in the output")
    document, _ = json.JSONDecoder().raw_decode(text, start)
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return document
