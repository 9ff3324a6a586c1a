"""helm, checkov and tflint run from the project's paths at their pinned versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.tools import REPO_ROOT, TOOLS_BIN, require_tool
from tests.toolchain.conftest import run_tool
from tools.toolchain.catalog import HELM, TFLINT, checkov_version


def test_helm_reports_the_pinned_version(tmp_path: Path) -> None:
    helm = require_tool("helm")
    assert Path(helm).parent == TOOLS_BIN
    result = run_tool([helm, "version", "--template", "{{.Version}}"], tmp_path)
    assert result.stdout == f"v{HELM.version}"


def test_helm_defaults_to_the_kubernetes_version_of_its_client_go(tmp_path: Path) -> None:
    """Like the release build, `.Capabilities.KubeVersion` is 1.34 (not the source's 1.20)."""
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: probe\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text("kube: {{ .Capabilities.KubeVersion.Version }}\n")
    result = run_tool([require_tool("helm"), "template", str(chart)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "kube: v1.34.0" in result.stdout


STORAGE = """
resource "azurerm_storage_account" "%s" {
  name                     = "st%s"
  resource_group_name      = "rg"
  location                 = "westeurope"
  account_tier             = "Standard"
  account_replication_type = "GRS"
  min_tls_version          = "%s"
}
"""


@pytest.mark.slow
def test_checkov_runs_offline_from_the_project_path(tmp_path: Path) -> None:
    """One real scan: the TLS 1.0 account fails CKV_AZURE_44, the TLS 1.2 one passes."""
    checkov = require_tool("checkov")
    assert Path(checkov).parent == TOOLS_BIN
    (tmp_path / "main.tf").write_text(
        STORAGE % ("legacy", "legacy", "TLS1_0") + STORAGE % ("modern", "modern", "TLS1_2"),
        encoding="utf-8",
    )
    scan = ["--directory", str(tmp_path), "--framework", "terraform", "--check", "CKV_AZURE_44"]
    result = run_tool([checkov, *scan, "--output", "json", "--compact"], REPO_ROOT)
    report = json.loads(result.stdout)
    outcomes = {
        check["resource"]: (check["check_id"], kind)
        for kind in ("passed", "failed")
        for check in report["results"][f"{kind}_checks"]
    }
    assert outcomes == {
        "azurerm_storage_account.legacy": ("CKV_AZURE_44", "failed"),
        "azurerm_storage_account.modern": ("CKV_AZURE_44", "passed"),
    }
    assert report["summary"]["checkov_version"] == checkov_version()
    assert result.returncode == 1


def test_tflint_reports_the_pinned_version(tmp_path: Path) -> None:
    tflint = require_tool("tflint")
    result = run_tool([tflint, "--version"], tmp_path)
    assert f"TFLint version {TFLINT.version}" in result.stdout


def test_tflint_bundled_ruleset_finds_an_unused_variable(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'terraform {\n  required_version = ">= 1.11"\n}\n\n'
        'variable "unused" {\n  type = string\n}\n',
        encoding="utf-8",
    )
    result = run_tool([require_tool("tflint"), "--format", "json"], tmp_path)
    rules = [issue["rule"]["name"] for issue in json.loads(result.stdout)["issues"]]
    assert "terraform_unused_declarations" in rules
    assert result.returncode == 2  # tflint: issues found
