"""Offline plans of every environment, as the document `terraform show -json` prints.

`terraform test` with the mocked azurerm provider of `offline_plan.tftest.hcl` plans the one
root `platform/` with an environment's tfvars: real provider schemas and validation, no Azure
credentials. `-json -verbose` hands back each run's plan (resource changes and provider
schemas, no `planned_values`); `show_document` adds the `planned_values` tree checkov's
`terraform_plan` framework reads. The plan tests (tests/terraform) plan through the same
functions.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

from tools.toolchain import stage_iac, tool_env

MOCK_PLAN_TESTS = Path(__file__).resolve().parent / "offline_plan.tftest.hcl"
PLAN_TEST_FILE = "plan.tftest.hcl"
PLAN_RUN = "plan"
"""The run block in MOCK_PLAN_TESTS whose plan is the environment's plan."""
PLATFORM = "platform"
TIMEOUT = 20 * 60.0
_MODULE_STEP = re.compile(r"module\.[^.\[]+(?:\[[^\]]*\])?")


class OfflinePlanError(RuntimeError):
    """An environment could not be planned offline; the message carries Terraform's reason."""


def var_file(env: str) -> str:
    """The environment's values, relative to the platform root (terraform runs in it)."""
    return f"-var-file=../environments/{env}/terraform.tfvars"


def environment_subscription(iac: Path, env: str) -> str:
    """The subscription an environment pins in its tfvars (what its credentials must match)."""
    text = (iac / "environments" / env / "terraform.tfvars").read_text(encoding="utf-8")
    options = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
    return str(hcl2.loads(text, serialization_options=options)["subscription_id"])


def mock_plan_tests(subscription_id: str) -> str:
    """The offline plan test, its mocked credentials standing for `subscription_id`."""
    return MOCK_PLAN_TESTS.read_text(encoding="utf-8").replace("SUBSCRIPTION_ID", subscription_id)


@dataclass(frozen=True)
class RunResult:
    """One `run` block's outcome and the diagnostics it produced."""

    name: str
    status: str
    diagnostics: list[str] = field(default_factory=list)
    plan: dict[str, Any] | None = None


def parse_test_events(stdout: str) -> dict[str, RunResult]:
    """Fold `terraform test -json -verbose` events into one RunResult per run block."""
    statuses: dict[str, str] = {}
    diagnostics: dict[str, list[str]] = {}
    plans: dict[str, dict[str, Any]] = {}
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        run = event.get("@testrun")
        if run is None:
            continue
        kind = event.get("type")
        if kind == "test_run" and event["test_run"].get("progress") == "complete":
            statuses[run] = event["test_run"]["status"]
        elif kind == "diagnostic":
            diagnostic = event["diagnostic"]
            diagnostics.setdefault(run, []).append(
                f"{diagnostic.get('summary', '')}: {diagnostic.get('detail', '')}"
            )
        elif kind == "test_plan":
            plans[run] = event["test_plan"]
    return {
        run: RunResult(run, status, diagnostics.get(run, []), plans.get(run))
        for run, status in statuses.items()
    }


def copy_iac(source: Path, destination: Path) -> Path:
    """Copy the IaC tree without Terraform working files, plus the charts' alert rule files and
    values files next to it (the platform root reads the database chart's values and the
    monitoring module the rule files: one source for both layers)."""
    stage_iac(source, destination)
    charts = source.parent / "helm-charts"
    for rules in charts.glob("*/rules"):
        shutil.copytree(rules, destination.parent / rules.relative_to(source.parent))
    for values in charts.glob("*/values*.yaml"):
        target = destination.parent / values.relative_to(source.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(values, target)
    return destination


def _module_chain(module_address: str) -> list[str]:
    """`module.a["k"].module.b` -> [`module.a["k"]`, `module.a["k"].module.b`]."""
    steps = _MODULE_STEP.findall(module_address)
    return [".".join(steps[: depth + 1]) for depth in range(len(steps))]


def _schema_versions(provider_schemas: Mapping[str, Any]) -> dict[tuple[str, str], int]:
    """(provider, resource type) -> the schema version planned_values records."""
    return {
        (provider, resource_type): int(schema.get("version", 0))
        for provider, schemas in provider_schemas.items()
        for resource_type, schema in schemas.get("resource_schemas", {}).items()
    }


def planned_values(
    resource_changes: Iterable[dict[str, Any]], provider_schemas: Mapping[str, Any]
) -> dict[str, Any]:
    """The `planned_values` tree of a plan: every resource kept or created, with its planned
    values, in nested `child_modules` by module address."""
    versions = _schema_versions(provider_schemas)
    root: dict[str, Any] = {"resources": [], "child_modules": []}
    modules: dict[str, dict[str, Any]] = {"": root}
    for change in resource_changes:
        if change["change"]["actions"] in (["delete"], ["forget"]):
            continue
        parent = root
        for address in _module_chain(change.get("module_address", "")):
            if address not in modules:
                modules[address] = {"address": address, "resources": [], "child_modules": []}
                parent["child_modules"].append(modules[address])
            parent = modules[address]
        resource: dict[str, Any] = {
            key: change[key]
            for key in ("address", "mode", "type", "name", "index", "provider_name")
            if key in change
        }
        resource["schema_version"] = versions.get((change["provider_name"], change["type"]), 0)
        resource["values"] = change["change"].get("after") or {}
        resource["sensitive_values"] = change["change"].get("after_sensitive") or {}
        parent["resources"].append(resource)
    return root


def show_document(test_plan: Mapping[str, Any], terraform_version: str) -> dict[str, Any]:
    """The `terraform show -json` document of a `terraform test` run's plan."""
    changes = list(test_plan.get("resource_changes", []))
    return {
        "format_version": test_plan.get("plan_format_version", "1.2"),
        "terraform_version": terraform_version,
        "planned_values": {
            "root_module": planned_values(changes, test_plan.get("provider_schemas", {}))
        },
        "resource_changes": changes,
    }


def _terraform(env: Mapping[str, str]) -> str:
    found = shutil.which("terraform", path=env.get("PATH"))
    if found is None:
        raise OfflinePlanError("terraform not found on the tool PATH; build it with: make tools")
    return found


def _run(command: list[str], cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command,
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise OfflinePlanError(f"{' '.join(command[1:3])} timed out in {cwd}") from error


def _plan_run(stdout: str, env_name: str) -> dict[str, Any]:
    run = parse_test_events(stdout).get(PLAN_RUN)
    if run is None or run.status != "pass" or run.plan is None:
        detail = "\n".join(run.diagnostics) if run else stdout.strip()[-2000:]
        raise OfflinePlanError(f"offline plan of {env_name} failed:\n{detail}")
    return run.plan


def plan_environments(iac_dir: Path, environments: Iterable[str], out_dir: Path) -> dict[str, Path]:
    """Plan each environment offline and write its `terraform show -json` document to
    `out_dir/<env>.json`; returns environment -> file."""
    env = {**tool_env(), "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
    terraform = _terraform(env)
    version = json.loads(_run([terraform, "version", "-json"], iac_dir, env).stdout)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="offline-plan-") as scratch:
        copy = copy_iac(iac_dir, Path(scratch) / "iac")
        root = copy / PLATFORM
        init = _run([terraform, "init", "-input=false", "-no-color", "-backend=false"], root, env)
        if init.returncode != 0:
            raise OfflinePlanError(f"terraform init of {PLATFORM} failed:\n{init.stderr[-2000:]}")
        (root / "tests").mkdir(exist_ok=True)
        for env_name in environments:
            subscription = environment_subscription(copy, env_name)
            (root / "tests" / PLAN_TEST_FILE).write_text(
                mock_plan_tests(subscription), encoding="utf-8"
            )
            command = [terraform, "test", "-json", "-verbose", "-no-color"]
            command += [f"-filter=tests/{PLAN_TEST_FILE}", var_file(env_name)]
            plan = _plan_run(_run(command, root, env).stdout, env_name)
            path = out_dir / f"{env_name}.json"
            document = show_document(plan, str(version["terraform_version"]))
            path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
            written[env_name] = path
    return written
