"""The declarations and generated files of the toolchain, without running any tool."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tools.toolchain import Layout, stage_iac, tool_env
from tools.toolchain.catalog import (
    GO_TOOLS,
    OPENTOFU,
    PROVIDERS,
    GoTool,
    checkov_version,
    parse_version,
    terraform_supported,
)
from tools.toolchain.gobuild import verify_pin
from tools.toolchain.paths import CHECKOV_LOCK
from tools.toolchain.process import ToolchainError
from tools.toolchain.terraform import render_cli_config, requested_cli


@pytest.mark.parametrize(
    ("version", "supported"),
    [
        ("1.11.4", True),
        ("1.11.0", True),
        ("1.14.2", True),
        ("1.10.5", False),
        ("2.0.0", False),
        ("1.12.0-beta1", False),
        ("v1.12.6", True),
    ],
)
def test_terraform_range(version: str, supported: bool) -> None:
    assert terraform_supported(version) is supported


def test_parse_version_rejects_garbage_precisely() -> None:
    with pytest.raises(ValueError, match=r"not a MAJOR\.MINOR\.PATCH version: '1\.x'"):
        parse_version("1.x")


def test_checkov_version_comes_from_the_lock_file() -> None:
    assert f"checkov=={checkov_version()} " in CHECKOV_LOCK.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "tool", [*GO_TOOLS, OPENTOFU, *(p.build for p in PROVIDERS)], ids=lambda tool: tool.name
)
def test_go_mod_pins_the_catalog_version(tool: GoTool) -> None:
    verify_pin(tool)


def test_a_catalog_and_go_mod_disagreement_is_refused() -> None:
    drifted = dataclasses.replace(PROVIDERS[1].build, module_version="v1.44.0")
    with pytest.raises(
        ToolchainError,
        match=r"requires github.com/hashicorp/terraform-provider-"
        r"azurerm at v1\.44\.1-0\.20260824201233-fae580791926, but the catalog",
    ):
        verify_pin(drifted)


def test_cli_config_serves_the_providers_only_from_the_mirror(tmp_path: Path) -> None:
    layout = Layout(tools_dir=tmp_path / "tools", cache_dir=tmp_path / "cache")
    config = render_cli_config(layout)
    mirror, direct = config.split("direct {")
    assert f'path    = "{tmp_path / "tools" / "providers"}"' in mirror
    for provider in PROVIDERS:
        for host in ("registry.terraform.io", "registry.opentofu.org"):
            source = f'"{host}/hashicorp/{provider.type}"'
            assert source in mirror
            assert source in direct  # excluded from direct installation
    assert "disable_checkpoint = true" in config


def test_stage_iac_leaves_out_lock_files_and_state(tmp_path: Path) -> None:
    source = tmp_path / "iac"
    root = source / "environments" / "dev"
    (source / "modules" / "net").mkdir(parents=True)
    (source / "modules" / "net" / "main.tf").write_text("# module\n")
    (root / ".terraform" / "providers").mkdir(parents=True)
    (root / "main.tf").write_text('module "net" { source = "../../modules/net" }\n')
    (root / ".terraform.lock.hcl").write_text("# official hashes\n")
    (root / "terraform.tfstate").write_text("{}")

    staged = stage_iac(source, tmp_path / "copy")

    assert (staged / "modules" / "net" / "main.tf").is_file()
    assert (staged / "environments" / "dev" / "main.tf").is_file()
    leftovers = {p.name for p in (staged / "environments" / "dev").iterdir()}
    assert leftovers == {"main.tf"}
    assert (root / ".terraform.lock.hcl").read_text() == "# official hashes\n"


def test_stage_iac_of_a_missing_tree_names_it(tmp_path: Path) -> None:
    with pytest.raises(ToolchainError, match=f"no IaC directory at {tmp_path / 'nope'}"):
        stage_iac(tmp_path / "nope", tmp_path / "copy")


def test_tool_env_puts_the_project_tools_first(tmp_path: Path) -> None:
    layout = Layout(tools_dir=tmp_path / "tools", cache_dir=tmp_path / "cache")
    base = {"PATH": "/usr/bin:/bin", "HOME": "/root"}
    env = tool_env(base, layout)
    assert env["PATH"] == f"{tmp_path / 'tools' / 'bin'}:/usr/bin:/bin"
    assert env["TF_CLI_CONFIG_FILE"] == str(tmp_path / "tools" / "terraform.rc")
    assert env["BC_SKIP_MAPPING"] == "TRUE"
    assert env["TFLINT_PLUGIN_DIR"] == str(tmp_path / "cache" / "tools" / "tflint-plugins")
    assert env["HOME"] == "/root"
    assert base == {"PATH": "/usr/bin:/bin", "HOME": "/root"}  # the caller's mapping is untouched


def test_an_unknown_cli_choice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_TF_CLI", "terragrunt")
    with pytest.raises(ToolchainError, match=r"INVENTORY_TF_CLI='terragrunt': expected one of"):
        requested_cli()
