"""The offline plan document is what `terraform show -json` prints, for what checkov reads.

Both come from the real terraform over one configuration (built-in terraform_data resources
in the root, in keyed and counted modules and in a module nested in those, so no provider is
needed): a saved plan through `terraform show -json`, and a `terraform test -json -verbose`
plan through `show_document`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from policies.offline_plan import PLAN_RUN, parse_test_events, planned_values, show_document
from tests.policy.conftest import FIXTURES
from tests.support.tools import require_tool
from tools.toolchain import tool_env

CONFIGURATION = FIXTURES / "show-json"
RESOURCE_KEYS = ("mode", "type", "name", "index", "provider_name", "schema_version", "values")


def _terraform(terraform: str, cwd: Path, *args: str) -> str:
    completed = subprocess.run(
        [terraform, *args], cwd=cwd, env=tool_env(), capture_output=True, text=True, check=False
    )
    # `terraform test` exits 1 when a run fails; the events say which.
    assert completed.returncode == 0 or args[0] == "test", completed.stderr
    return completed.stdout


def _flatten(module: dict[str, Any], into: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """module address -> {resource address -> the fields checkov reads}, over the whole tree."""
    into[module.get("address", "")] = {
        resource["address"]: {key: resource.get(key) for key in RESOURCE_KEYS}
        for resource in module.get("resources", [])
    }
    for child in module.get("child_modules", []):
        _flatten(child, into)
    return into


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """(`terraform show -json` of a saved plan, `show_document` of the test run's plan)."""
    terraform = require_tool("terraform", "make tools")
    work = Path(shutil.copytree(CONFIGURATION, tmp_path_factory.mktemp("show") / "root"))
    (work / "tests").mkdir()
    (work / "tests" / "plan.tftest.hcl").write_text(
        f'run "{PLAN_RUN}" {{\n  command = plan\n}}\n', encoding="utf-8"
    )
    _terraform(terraform, work, "init", "-backend=false", "-input=false")
    _terraform(terraform, work, "plan", "-input=false", "-out=saved.tfplan")
    shown = json.loads(_terraform(terraform, work, "show", "-json", "saved.tfplan"))
    run = parse_test_events(_terraform(terraform, work, "test", "-json", "-verbose"))[PLAN_RUN]
    assert run.status == "pass", run.diagnostics
    assert run.plan is not None
    assert "planned_values" not in run.plan
    return shown, show_document(run.plan, shown["terraform_version"])


def test_resource_changes_are_the_same(
    documents: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    shown, offline = documents
    assert offline["resource_changes"] == shown["resource_changes"]


def test_planned_values_match_terraform_show(
    documents: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    shown, offline = documents
    expected = _flatten(shown["planned_values"]["root_module"], {})
    assert set(expected) >= {"", 'module.keyed["b.c"]', "module.counted[1].module.nested"}
    assert _flatten(offline["planned_values"]["root_module"], {}) == expected


def test_deleted_resources_are_not_planned() -> None:
    change = {
        "address": "terraform_data.gone",
        "mode": "managed",
        "type": "terraform_data",
        "name": "gone",
        "provider_name": "terraform.io/builtin/terraform",
        "change": {"actions": ["delete"], "before": {"input": 1}, "after": None},
    }
    assert planned_values([change], {}) == {"resources": [], "child_modules": []}
