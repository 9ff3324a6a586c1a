"""`check` reports the pinned tools, and fails with the exact fix when they are not there."""

from __future__ import annotations

import re
from pathlib import Path

from tests.toolchain.conftest import run_toolchain
from tools.toolchain.catalog import HELM, PROVIDERS, TFLINT, checkov_version
from tools.toolchain.check import fix_command
from tools.toolchain.paths import Layout
from tools.toolchain.stamps import read_stamp


def test_check_lists_every_tool_at_its_pinned_version(checked_toolchain: str) -> None:
    lines = checked_toolchain.splitlines()

    def line_of(tool: str) -> str:
        matches = [line for line in lines if re.match(rf"ok\s+{re.escape(tool)}\s", line)]
        assert len(matches) == 1, checked_toolchain
        return matches[0]

    assert f" {HELM.version} " in line_of("helm")
    assert f" {checkov_version()} " in line_of("checkov")
    assert f" {TFLINT.version} " in line_of("tflint")
    for provider in PROVIDERS:
        assert f" {provider.version} " in line_of(f"hashicorp/{provider.type}")
    cli = [line for line in lines if re.match(r"ok\s+(terraform|tofu)\s", line)]
    assert len(cli) == 1
    assert "this CLI runs the IaC" in cli[0]  # the report says which binary is used


def test_check_of_an_empty_tools_dir_fails_with_the_command(tmp_path: Path) -> None:
    empty = tmp_path / "tools"
    empty.mkdir()
    result = run_toolchain("--tools-dir", str(empty), "--cache-dir", str(tmp_path / "c"), "check")

    assert result.returncode == 1
    assert "FAIL  helm" in result.stdout
    assert f"missing {empty / 'bin' / 'helm'}" in result.stdout
    assert f"missing {empty / 'terraform.rc'}" in result.stdout
    assert "no terraform or tofu link" in result.stdout
    assert (
        f"-m tools.toolchain --tools-dir {empty} --cache-dir {tmp_path / 'c'} build"
        in result.stdout
    )


def test_check_reports_a_dangling_link(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "helm").symlink_to(tmp_path / "gone" / "helm")
    result = run_toolchain("--tools-dir", str(tmp_path), "check")
    assert result.returncode == 1
    assert f"{tmp_path / 'bin' / 'helm'} is a dangling link" in result.stdout


def test_the_fix_for_the_default_layout_is_make_tools(tmp_path: Path) -> None:
    assert fix_command(Layout.default()) == "make tools"
    scratch = Layout(tools_dir=tmp_path / "t", cache_dir=Layout.default().cache_dir)
    assert fix_command(scratch).endswith(
        f"-m tools.toolchain --tools-dir {tmp_path / 't'} --cache-dir {scratch.cache_dir} build"
    )


def test_a_warm_build_rebuilds_nothing(checked_toolchain: str) -> None:
    layout = Layout.default()
    stamps = sorted((layout.cache_dir / "tools").glob("*/*/stamp.json"))
    before = {path: path.stat().st_mtime_ns for path in stamps}

    result = run_toolchain("build")

    assert result.returncode == 0, result.stderr
    assert "built " not in result.stdout
    assert {path: path.stat().st_mtime_ns for path in stamps} == before
    assert read_stamp(layout.artifact_dir(HELM.name, HELM.version)) is not None


def test_build_of_an_unknown_target_names_the_choices() -> None:
    result = run_toolchain("build", "kubectl")
    assert result.returncode == 1
    assert "unknown target(s) ['kubectl']; choose from ['checkov', 'helm'," in result.stderr
