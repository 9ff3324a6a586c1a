"""Terraform outputs from a real state: infra-plan -> infra-apply, and deploy without infra-apply.

The repository here is tiny but laid out like ours (iac/platform + iac/environments/<env>/
backend.hcl and terraform.tfvars) and its root uses the local backend, so the stages' real
terraform commands (init with the env's backend.hcl, plan with its tfvars, apply, output) run
without Azure. Only the backend type differs from iac/platform.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.core.stage import Options, Stage, StageContext, StageFailed
from pipelines.targets.terraform_outputs import chart_values, load_outputs, outputs_file
from tests.pipeline.terraform_outputs import IDS, ingress_output
from tests.support.git import git
from tests.support.tools import require_tool

ROOT = """
terraform {
  backend "local" {}
}

variable "environment" {
  type = string
}

variable "identities" {
  type = map(string)
}

output "tags" {
  value = { environment = var.environment, managed-by = "terraform" }
}
"""


def tiny_repository(root: Path, applied: dict[str, dict[str, str]]) -> Path:
    """iac/platform (local backend, an output per IDS entry) and one folder per environment."""
    platform = root / "iac" / "platform"
    platform.mkdir(parents=True)
    outputs = "".join(
        f'\noutput "{name}" {{\n  value = var.identities["{name}"]\n}}\n' for name in IDS
    )
    (platform / "main.tf").write_text(ROOT + outputs + ingress_output(None), encoding="utf-8")
    for env, identities in applied.items():
        folder = root / "iac" / "environments" / env
        folder.mkdir(parents=True)
        state = root / "state" / f"{env}.tfstate"
        (folder / "backend.hcl").write_text(f'path = "{state}"\n', encoding="utf-8")
        (folder / "terraform.tfvars").write_text(
            f'environment = "{env}"\nidentities = {json.dumps(identities)}\n', encoding="utf-8"
        )
    _committed_with_a_remote(root)
    return root / "reports"


def _committed_with_a_remote(root: Path) -> None:
    """A checkout whose HEAD is committed and has an origin: a staging apply records itself
    there as a promotion tag (pipelines/core/promotion.py)."""
    remote = root.parent / f"{root.name}-origin.git"
    git(root.parent, "init", "-q", "--bare", str(remote))

    git(root, "init", "-q")
    (root / ".gitignore").write_text("reports/\nstate/\n.terraform/\n", encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "tiny")
    git(root, "remote", "add", "origin", str(remote))


def deploy_context(root: Path, env: str) -> StageContext:
    """The context `deploy --target azure --env ENV` runs with."""
    stage = Stage("deploy", "helm upgrade of the umbrella chart", lambda ctx: None)
    options = Options(root=root, reports=root / "reports", target="azure", env=env)
    return StageContext(stage, options)


@pytest.fixture(scope="module")
def terraform() -> str:
    return require_tool("terraform", "make tools")


def test_outputs_come_back_from_the_state_when_infra_apply_did_not_run(
    terraform: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Both are applied by the stages; staging's values differ, so each env must read its own state.
    staging = {name: value.replace("-", "0", 1) for name, value in IDS.items()}
    reports = tiny_repository(tmp_path, {"dev": IDS, "staging": staging})
    applied = {}
    for env in ("dev", "staging"):  # each run starts with an empty reports/<stage>/
        for stage in ("infra-plan", "infra-apply"):
            args = [stage, "--target", "azure", "--env", env, "--reports", str(reports)]
            assert main(args, root=tmp_path) == 0, capsys.readouterr().out
        saved = reports / "infra-apply" / outputs_file(env)
        applied[env] = json.loads(saved.read_text(encoding="utf-8"))
        assert applied[env]["tags"]["value"] == {"environment": env, "managed-by": "terraform"}
        assert (tmp_path / "iac" / "platform" / ".terraform" / env).is_dir()

    for env in applied:  # a later build deploys without infra-apply: nothing saved
        (reports / "infra-apply" / outputs_file(env)).unlink(missing_ok=True)
    saved = reports / "infra-apply" / outputs_file("dev")
    ctx = deploy_context(tmp_path, "dev")
    outputs = load_outputs(ctx, "dev")

    assert outputs == applied["dev"]
    assert json.loads(saved.read_text(encoding="utf-8")) == applied["dev"]
    assert [step.name for step in ctx.steps] == ["terraform init", "terraform output"]
    init = (reports / "deploy" / "terraform-init.log").read_text(encoding="utf-8")
    assert "-backend-config=../environments/dev/backend.hcl" in init
    api = chart_values(outputs)["inventory-api"]
    assert api["serviceAccount"]["clientId"] == IDS["api_identity_client_id"]
    # staging: its own backend.hcl, state and data dir (iac/platform/.terraform/staging).
    staging_outputs = load_outputs(deploy_context(tmp_path, "staging"), "staging")
    assert staging_outputs == applied["staging"]
    assert staging_outputs["tenant_id"]["value"] == staging["tenant_id"] != IDS["tenant_id"]


def test_a_state_without_outputs_fails_saying_what_to_run(
    terraform: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tiny_repository(tmp_path, {"prod": IDS})  # never applied: an empty state
    ctx = deploy_context(tmp_path, "prod")

    with pytest.raises(StageFailed) as failed:
        load_outputs(ctx, "prod")

    assert str(failed.value) == (
        "the prod Terraform state has no outputs: apply the environment first "
        "(infra-plan, then infra-apply --target azure --env prod)"
    )
    assert not (reports / "infra-apply" / outputs_file("prod")).exists()
    capsys.readouterr()


def test_saved_outputs_are_used_without_running_terraform(tmp_path: Path) -> None:
    saved = tmp_path / "reports" / "infra-apply" / outputs_file("staging")
    saved.parent.mkdir(parents=True)
    document = {"tenant_id": {"sensitive": False, "type": "string", "value": IDS["tenant_id"]}}
    saved.write_text(json.dumps(document), encoding="utf-8")
    ctx = deploy_context(tmp_path, "staging")  # no iac/ at all: terraform cannot have run

    assert load_outputs(ctx, "staging") == document
    assert ctx.steps == []


def test_a_missing_environment_folder_is_named(tmp_path: Path) -> None:
    (tmp_path / "iac" / "platform").mkdir(parents=True)
    with pytest.raises(StageFailed, match=r"^iac/environments/prod is missing: "):
        load_outputs(deploy_context(tmp_path, "prod"), "prod")
