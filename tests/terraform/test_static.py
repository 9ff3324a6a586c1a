"""Formatting, validation and lint of every root and module."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.support.tools import REPO_ROOT
from tests.terraform.conftest import CONFIGURATIONS
from tests.terraform.harness import Workspace
from tools.toolchain import tool_env


@pytest.mark.parametrize("tree", ["iac", "tests/terraform"])
def test_terraform_fmt_is_clean(terraform: str, tree: str) -> None:
    completed = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", tree],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=tool_env(),
        check=False,
    )
    assert completed.returncode == 0, (
        f"terraform fmt would change:\n{completed.stdout}{completed.stderr}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_configuration_validates(workspace: Workspace, configuration: str) -> None:
    workspace.init(configuration)
    result = workspace.cli(configuration).execute_command("validate", "-json", "-no-color")
    report = json.loads(result.out)
    problems = [
        f"{d['severity']}: {d['summary']}: {d.get('detail', '')}" for d in report["diagnostics"]
    ]
    assert report["valid"], problems
    assert [p for p in problems if p.startswith("warning")] == [], (
        "validate warnings (deprecations?)"
    )


@pytest.mark.slow
@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_tflint_is_clean(workspace: Workspace, configuration: str) -> None:
    tflint = shutil.which("tflint", path=tool_env()["PATH"])
    if tflint is None:
        pytest.fail("tflint not found; build it with: make tools", pytrace=False)
    workspace.init(configuration)
    completed = subprocess.run(
        [
            tflint,
            f"--config={workspace.root / '.tflint.hcl'}",
            "--format=compact",
            "--call-module-type=none",
        ],
        cwd=workspace.root / configuration,
        capture_output=True,
        text=True,
        env=workspace.env,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
