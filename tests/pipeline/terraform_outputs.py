"""A real `terraform output -json` document: a local-state config whose outputs mimic iac/'s.

Applying a provider-less configuration needs no registry, so the document's shape
({name: {"sensitive", "type", "value"}}) comes from the real terraform, not a hand-written copy.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

IDS = {
    "api_identity_client_id": "11111111-2222-3333-4444-555555555555",
    "tenant_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    "database_identity_client_id": "66666666-7777-8888-9999-000000000000",
    "backup_identity_client_id": "bbbbbbbb-cccc-dddd-eeee-ffffffffffff",
    "api_client_id": "cccccccc-dddd-4eee-8fff-000000000000",
    "key_vault_name": "kv-inventoryprdweu0a1b",
    "acr_login_server": "crinventoryprdweu0a1b.azurecr.io",
    "backup_storage_account_name": "stinventoryprdweu0a1bbak",
    "ingress_certificate_uri": "https://kv-inventoryprdweu0a1b.vault.azure.net/secrets/ingress-tls",
    "backup_repo2_storage_account_name": "stinventoryprdneu2c3dbak",
    "backup_repo2_identity_client_id": "dddddddd-eeee-4fff-8000-111111111111",
}
"""Output values; the same as tests/helm/fixtures/pipeline-outputs.yaml (repo2's as
backup-repo2.yaml)."""

OTHER_OUTPUTS = """
output "aks_zones" {
  value = ["1", "2", "3"]
}
"""


def ingress_output(private_ip: str | None) -> str:
    """The platform's `ingress` output: an internal address only behind an Application Gateway."""
    exposure = "public_load_balancer" if private_ip is None else "application_gateway"
    address = "null" if private_ip is None else f'"{private_ip}"'
    value = f'{{ exposure = "{exposure}", private_ip = {address} }}'
    return f'output "ingress" {{\n  value = {value}\n}}\n'


def terraform_output_json(
    terraform: str,
    workdir: Path,
    omit: str | None = None,
    null: str | None = None,
    ingress_private_ip: str | None = None,
) -> str:
    """Apply a config with the IDS outputs and `ingress` (except `omit`; `null` with a null
    value, as an environment without that resource has it) and return `terraform output -json`."""
    workdir.mkdir(parents=True, exist_ok=True)
    blocks = [
        f'output "{name}" {{\n  value = {"null" if name == null else json.dumps(value)}\n}}\n'
        for name, value in IDS.items()
        if name != omit
    ]
    if omit != "ingress":
        blocks.append(ingress_output(ingress_private_ip))
    (workdir / "outputs.tf").write_text("\n".join(blocks) + OTHER_OUTPUTS, encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    for argv in (["init", "-input=false"], ["apply", "-input=false", "-auto-approve"]):
        subprocess.run(
            [terraform, f"-chdir={workdir}", *argv], env=env, check=True, capture_output=True
        )
    done = subprocess.run(
        [terraform, f"-chdir={workdir}", "output", "-json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def load(document: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(document)
    return parsed
