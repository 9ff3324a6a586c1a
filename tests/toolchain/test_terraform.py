"""Offline `init` and `validate` against the filesystem mirror of providers built from source."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.toolchain.conftest import run_tool
from tools.toolchain import provider_subset, stage_iac, terraform_cli
from tools.toolchain.catalog import PROVIDERS
from tools.toolchain.gobuild import module_source
from tools.toolchain.paths import IAC_DIR, Layout

VERSIONS = {provider.type: provider.version for provider in PROVIDERS}

ROOT = f"""
terraform {{
  required_version = ">= 1.11.0, < 2.0.0"
  required_providers {{
    azurerm = {{
      source  = "hashicorp/azurerm"
      version = "~> {VERSIONS["azurerm"]}"
    }}
    random = {{
      source  = "hashicorp/random"
      version = "~> {VERSIONS["random"]}"
    }}
  }}
}}

provider "azurerm" {{
  features {{}}
}}

resource "random_pet" "suffix" {{
  length = 2
}}

resource "azurerm_resource_group" "main" {{
  name     = "rg-inventory-${{random_pet.suffix.id}}"
  location = "westeurope"
}}
"""


@pytest.fixture
def staged_root(tmp_path: Path, checked_toolchain: str) -> Path:
    """A tiny IaC tree staged the way the harness stages iac/ (no lock file, no state)."""
    source = tmp_path / "iac" / "environments" / "tiny"
    source.mkdir(parents=True)
    (source / "main.tf").write_text(ROOT, encoding="utf-8")
    return stage_iac(tmp_path / "iac", tmp_path / "staged") / "environments" / "tiny"


@pytest.mark.slow
def test_init_offline_from_the_mirror_then_validate(staged_root: Path) -> None:
    cli = str(terraform_cli())
    init = run_tool([cli, "init", "-backend=false", "-input=false", "-no-color"], staged_root)
    assert init.returncode == 0, init.stdout + init.stderr
    for provider, version in VERSIONS.items():
        assert re.search(
            rf"Installed hashicorp/{provider} v{re.escape(version)} \(unauthenticated\)",
            init.stdout,
        ), init.stdout

    validate = run_tool([cli, "validate", "-json", "-no-color"], staged_root)
    report = json.loads(validate.stdout)
    assert validate.returncode == 0, validate.stdout
    assert report["valid"] is True
    assert report["error_count"] == 0


@pytest.mark.slow
def test_validate_uses_the_real_provider_schema(staged_root: Path) -> None:
    """A misspelt azurerm argument fails validation: the built provider's schema is in use."""
    (staged_root / "main.tf").write_text(ROOT.replace("location =", "locaton ="), encoding="utf-8")
    cli = str(terraform_cli())
    assert run_tool([cli, "init", "-backend=false", "-input=false"], staged_root).returncode == 0
    validate = run_tool([cli, "validate", "-json", "-no-color"], staged_root)
    assert validate.returncode == 1
    summaries = [d["summary"] for d in json.loads(validate.stdout)["diagnostics"]]
    assert "Unsupported argument" in summaries
    assert 'The argument "location" is required, but no definition was found.' in [
        d.get("detail") for d in json.loads(validate.stdout)["diagnostics"]
    ]


@pytest.mark.slow
def test_a_provider_outside_the_mirror_cannot_be_installed(staged_root: Path) -> None:
    """Only mirrored providers install offline: anything else fails init, naming it."""
    with_null = ROOT.replace(
        "    random = {", '    null = { source = "hashicorp/null" }\n    random = {'
    )
    (staged_root / "main.tf").write_text(with_null, encoding="utf-8")
    init = run_tool(
        [str(terraform_cli()), "init", "-backend=false", "-input=false", "-no-color"], staged_root
    )
    assert init.returncode == 1
    assert "Failed to query available provider packages" in init.stderr
    assert "hashicorp/null" in init.stderr


@pytest.mark.slow
def test_the_random_provider_plans(tmp_path: Path, checked_toolchain: str) -> None:
    """The built provider binaries really run: a plan needs no cloud credentials for random."""
    root = tmp_path / "random"
    root.mkdir()
    (root / "main.tf").write_text(
        f'terraform {{\n  required_providers {{\n    random = {{ source = "hashicorp/random", '
        f'version = "= {VERSIONS["random"]}" }}\n  }}\n}}\n\n'
        'resource "random_password" "db" {\n  length = 24\n}\n',
        encoding="utf-8",
    )
    cli = str(terraform_cli())
    assert run_tool([cli, "init", "-input=false"], root).returncode == 0
    plan = run_tool([cli, "plan", "-input=false", "-no-color"], root)
    assert plan.returncode == 0, plan.stderr
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in plan.stdout


@pytest.mark.slow
def test_the_built_azurerm_serves_exactly_the_services_the_iac_uses(staged_root: Path) -> None:
    """Every type iac/ declares has its schema, and every type served belongs to a service
    the subset keeps: the binary in the mirror is the one provider_subset.py chose."""
    cli = str(terraform_cli())
    assert run_tool([cli, "init", "-backend=false", "-input=false"], staged_root).returncode == 0
    schema = run_tool([cli, "providers", "schema", "-json"], staged_root)
    assert schema.returncode == 0, schema.stderr
    providers = json.loads(schema.stdout)["provider_schemas"]
    azurerm = next(found for name, found in providers.items() if name.endswith("hashicorp/azurerm"))
    served = {
        name
        for kind in ("resource_schemas", "data_source_schemas", "ephemeral_resource_schemas")
        for name in azurerm.get(kind, {})
    }
    used = provider_subset.used_types(IAC_DIR)
    assert used <= served, sorted(used - served)

    tool = next(p.build for p in PROVIDERS if p.build.iac_services_only)
    source = module_source(tool.module, tool.module_version, Layout.default())
    subset, _ = provider_subset.choose(source, used)
    serving = set().union(*provider_subset.declaring_services(source, served).values())
    assert serving == subset.services
