"""Terraform outputs -> the umbrella chart's values: the one table saying which output goes where.

`infra-apply` saves `terraform output -json` as reports/infra-apply/terraform-outputs-<env>.json;
`deploy --target azure` turns that document into a generated values file (never `--set`
strings, so ids and Azure names are typed and reviewable in the stage's reports). The Azure names
(Key Vault, registry login server, backup storage account, the ingress certificate's URI) end
in a suffix only Terraform computes, so no values-<env>.yaml carries them. A deploy without
infra-apply in the same build reads the outputs from the environment's remote state instead
(`load_outputs`). Also here: where an environment's Terraform runs (`environment_root`), the
one root iac/platform with that environment's backend.hcl and terraform.tfvars.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipelines.core.environments import REQUIRED_FILES
from pipelines.core.stage import StageContext
from pipelines.targets.cluster import terraform_env

PLATFORM_ROOT = "iac/platform"
"""The one Terraform root of every environment."""

LOCK_FILE = ".terraform.lock.hcl"
"""Provider checksums; not committed (docs/adr/0009-no-committed-terraform-lock-files.md)."""

OUTPUT_TIMEOUT = 5 * 60.0
INIT_TIMEOUT = 30 * 60.0

REGISTRY_OUTPUT = "acr_login_server"
"""The output naming the environment's registry: where `publish` pushes, what the charts pull."""

OUTPUT_VALUES: dict[str, tuple[str, ...]] = {
    "api_identity_client_id": ("inventory-api.serviceAccount.clientId",),
    "tenant_id": (
        "inventory-api.database.keyVault.tenantId",
        "inventory-api.auth.tenantId",
        "postgresql.auth.keyVault.tenantId",
    ),
    "api_client_id": ("inventory-api.auth.audience",),
    "database_identity_client_id": ("postgresql.auth.keyVault.clientId",),
    "backup_identity_client_id": ("postgresql.backup.serviceAccount.clientId",),
    "key_vault_name": ("inventory-api.database.keyVault.name", "postgresql.auth.keyVault.name"),
    REGISTRY_OUTPUT: (
        "inventory-api.image.registry",
        "postgresql.image.registry",
        "postgresql.exporter.image.registry",
        "postgresql.pooler.image.registry",
    ),
    "backup_storage_account_name": ("postgresql.backup.azure.account",),
    "ingress_certificate_uri": ("inventory-api.ingress.tls.keyVaultCertificateUri",),
    "backup_repo2_storage_account_name": ("postgresql.backup.repo2.azure.account",),
    "backup_repo2_identity_client_id": ("postgresql.backup.repo2.clientId",),
}
"""Terraform output name -> dotted value paths in helm-charts/inventory-platform."""

OPTIONAL_OUTPUTS = frozenset(
    {"backup_repo2_storage_account_name", "backup_repo2_identity_client_id"}
)
"""Outputs an environment may leave null (Terraform then omits them): no second backup
repository (backup.secondary_location = null). Their chart values stay unset."""

OPTIONAL_OUTPUT_VALUES: dict[tuple[str, str], tuple[str, ...]] = {
    ("ingress", "private_ip"): ("inventory-api.ingress.internalLoadBalancer.address",),
}
"""(output, attribute) -> value paths for what only some environments have: a null attribute
leaves the chart's default (no Application Gateway: no internal ingress address to take)."""

VALUES_FILE = "terraform-values.yaml"
"""The generated values file, written into the deploy stage's report folder."""


class MissingOutput(ValueError):
    """The outputs document lacks (or has an empty) output a chart value needs."""


def outputs_file(env: str) -> str:
    """Name of the saved `terraform output -json` document of `env` in reports/infra-apply/."""
    return f"terraform-outputs-{env}.json"


@dataclass(frozen=True)
class EnvironmentRoot:
    """One environment's Terraform: the shared root, its own data and working directory."""

    terraform: str
    chdir: str
    backend_config: str
    var_file: str
    env: dict[str, str]
    lockfile: tuple[str, ...] = ()

    def command(self, *args: str) -> list[str]:
        """`terraform -chdir=iac/platform ARGS`."""
        return [self.terraform, self.chdir, *args]

    def init(self) -> list[str]:
        """`init` against the environment's state; -reconfigure because the root is shared."""
        return self.command(
            "init", "-input=false", *self.lockfile, "-reconfigure", self.backend_config
        )


def lockfile_args(root: Path) -> tuple[str, ...]:
    """How `init` treats provider checksums in `root`.

    With a committed lock file its hashes are enforced and never rewritten (`-lockfile=readonly`).
    ADR-0009 commits none (locally built providers cannot match the registry's hashes), so init
    then records the registry's hashes for this run in a lock file nobody commits; demanding a
    read-only lock file that does not exist would fail every init.
    """
    return ("-lockfile=readonly",) if (root / LOCK_FILE).is_file() else ()


def environment_root(ctx: StageContext, env: str) -> EnvironmentRoot:
    """Terraform for `env` on real Azure: iac/platform with ../environments/<env>/ files.

    Each environment gets its own TF_DATA_DIR (iac/platform/.terraform/<env>), so the backend
    one environment was initialised with never serves another's plan, apply or output.
    """
    folder = ctx.require_path(
        f"iac/environments/{env}", "the environment's terraform.tfvars and backend.hcl"
    )
    for name in REQUIRED_FILES:
        ctx.require_path(f"iac/environments/{env}/{name}", f"iac/environments/{env} needs it")
    root = ctx.require_path(PLATFORM_ROOT, "the Terraform root of every environment")
    tool_env = terraform_env(ctx)
    tool_env["TF_DATA_DIR"] = str(root / ".terraform" / env)
    relative = Path("..") / folder.relative_to(root.parent)
    return EnvironmentRoot(
        terraform=ctx.require_tool("terraform", tool_env, "run `make tools`"),
        chdir=f"-chdir={PLATFORM_ROOT}",
        backend_config=f"-backend-config={relative / 'backend.hcl'}",
        var_file=f"-var-file={relative / 'terraform.tfvars'}",
        env=tool_env,
        lockfile=lockfile_args(root),
    )


def save_outputs(ctx: StageContext, root: EnvironmentRoot, env: str) -> dict[str, Any]:
    """Run `terraform output -json` (initialised root) and save it for `deploy`."""
    result = ctx.run(
        "terraform output", root.command("output", "-json"), timeout=OUTPUT_TIMEOUT, env=root.env
    )
    try:
        outputs = parse_output_log(result.log_path)
    except ValueError as error:
        ctx.fail(
            f"terraform output -json printed no JSON object ({error}): "
            f"see {ctx.shown(result.log_path)}"
        )
    if not outputs:
        ctx.fail(
            f"the {env} Terraform state has no outputs: apply the environment first "
            f"(infra-plan, then infra-apply --target azure --env {env})"
        )
    path = ctx.options.reports / "infra-apply" / outputs_file(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    ctx.note(f"saved {len(outputs)} Terraform outputs of {env} to {ctx.shown(path)}")
    return outputs


def load_outputs(ctx: StageContext, env: str) -> dict[str, Any]:
    """`env`'s Terraform outputs: the document infra-apply saved, else read from the remote state.

    A deploy without infra-apply in the same build (Jenkins with APPLY_INFRASTRUCTURE off) has
    no saved document; the outputs then come from `terraform output -json` against the
    environment's state (init with its backend.hcl), saved where infra-apply would put them.
    """
    saved = ctx.options.reports / "infra-apply" / outputs_file(env)
    if saved.is_file():
        document: dict[str, Any] = json.loads(saved.read_text(encoding="utf-8"))
        return document
    ctx.note(f"no {ctx.shown(saved)}: reading the {env} outputs from its Terraform state")
    root = environment_root(ctx, env)
    ctx.run("terraform init", root.init(), timeout=INIT_TIMEOUT, env=root.env)
    return save_outputs(ctx, root, env)


def registry(ctx: StageContext) -> str:
    """The environment's registry (ACR login server) from its Terraform outputs: the name ends
    in a suffix only Terraform computes (iac/modules/conventions)."""
    outputs = load_outputs(ctx, ctx.deploy_env)
    try:
        return _output_value(outputs, REGISTRY_OUTPUT, ("publish --target azure",))
    except MissingOutput as missing:
        ctx.fail(f"{missing}: check iac/platform/outputs.tf and run infra-apply again")


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


def chart_values(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Nested chart values from a `terraform output -json` document ({name: {"value": ...}})."""
    values: dict[str, Any] = {}
    for name, paths in OUTPUT_VALUES.items():
        if name in OPTIONAL_OUTPUTS and _left_null(outputs, name):
            continue
        _place(values, paths, _output_value(outputs, name, paths))
    for (name, attribute), paths in OPTIONAL_OUTPUT_VALUES.items():
        optional = _optional_value(outputs, name, attribute, paths)
        if optional is not None:
            _place(values, paths, optional)
    return values


def _place(values: dict[str, Any], paths: tuple[str, ...], value: str) -> None:
    """Set `value` at every dotted path in the nested `values`."""
    for path in paths:
        *parents, leaf = path.split(".")
        node = values
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value


def _left_null(outputs: Mapping[str, Any], name: str) -> bool:
    """Whether output `name` is null (Terraform omits a null output from the document)."""
    entry = outputs.get(name)
    return entry is None or (isinstance(entry, Mapping) and entry.get("value") is None)


def _output_value(outputs: Mapping[str, Any], name: str, paths: tuple[str, ...]) -> str:
    """The non-empty string value of output `name`, or MissingOutput naming it and its use."""
    needed = f"needed for {', '.join(paths)}"
    entry = outputs.get(name)
    if not isinstance(entry, Mapping) or "value" not in entry:
        raise MissingOutput(f"terraform output {name} is missing ({needed})")
    value = entry["value"]
    if not isinstance(value, str) or not value:
        raise MissingOutput(f"terraform output {name} is not a non-empty string ({needed})")
    return value


def _optional_value(
    outputs: Mapping[str, Any], name: str, attribute: str, paths: tuple[str, ...]
) -> str | None:
    """Attribute `attribute` of object output `name`: a non-empty string, or None when null;
    MissingOutput when the output or the attribute is absent or of another kind."""
    needed = f"needed for {', '.join(paths)}"
    entry = outputs.get(name)
    value = entry.get("value") if isinstance(entry, Mapping) else None
    if not isinstance(value, Mapping) or attribute not in value:
        raise MissingOutput(f"terraform output {name}.{attribute} is missing ({needed})")
    found = value[attribute]
    if found is None:
        return None
    if not isinstance(found, str) or not found:
        raise MissingOutput(
            f"terraform output {name}.{attribute} is neither null nor a non-empty string ({needed})"
        )
    return found


def write_values_file(path: Path, outputs: Mapping[str, Any]) -> Path:
    """Write the chart values of `outputs` as YAML at `path`, under a do-not-edit header."""
    header = "# Generated by the deploy stage from `terraform output -json`; do not edit.\n"
    body = yaml.safe_dump(chart_values(outputs), sort_keys=True, default_flow_style=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + body, encoding="utf-8")
    return path
