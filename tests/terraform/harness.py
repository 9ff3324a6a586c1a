"""Drive the real Terraform CLI (through tftest) over a private copy of iac/.

Every environment is planned with the one root iac/platform and its own data:
`-var-file=../environments/<env>/terraform.tfvars` (and, against Azure,
`-backend-config=../environments/<env>/backend.hcl`). Plans run offline by default:
`terraform test` with `mock_provider` blocks gives real provider schemas and validation without
Azure credentials, and `-json -verbose` hands back the plan as JSON (policies/offline_plan.py,
shared with the policy gate's plan scan). With
INVENTORY_PLAN_MODE=azure (Jenkins, where ARM_* credentials exist) the same plan is made against
the real subscription with the environment's backend, and the same assertions run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tftest

from policies.offline_plan import (
    PLAN_RUN,
    PLAN_TEST_FILE,
    RunResult,
    copy_iac,
    environment_subscription,
    mock_plan_tests,
    parse_test_events,
    var_file,
)
from tools.toolchain import tool_env

PLAN_MODE_VARIABLE = "INVENTORY_PLAN_MODE"


def backend_config(env: str) -> str:
    """The environment's state location, relative to the platform root."""
    return f"-backend-config=../environments/{env}/backend.hcl"


def plan_mode() -> str:
    """`mock` (default, offline) or `azure` (real subscription, credentials from ARM_*)."""
    mode = os.environ.get(PLAN_MODE_VARIABLE, "mock")
    if mode not in ("mock", "azure"):
        raise ValueError(f"{PLAN_MODE_VARIABLE} must be 'mock' or 'azure', not {mode!r}")
    return mode


@dataclass
class Workspace:
    """A copy of iac/ where `init` may write .terraform and lock files freely."""

    source: Path
    root: Path
    terraform: str
    plugin_cache: Path
    _initialised: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        copy_iac(self.source, self.root)
        self.plugin_cache.mkdir(parents=True, exist_ok=True)

    @property
    def env(self) -> dict[str, str]:
        """Project tool environment plus a shared plugin cache (one copy of each provider)."""
        return {
            **tool_env(),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "TF_PLUGIN_CACHE_DIR": str(self.plugin_cache),
        }

    def cli(self, directory: str) -> tftest.TerraformTest:
        """A tftest handle on one configuration of the copy, running the project's CLI."""
        return tftest.TerraformTest(
            self.root / directory, binary=self.terraform, env=self.env, enable_cache=False
        )

    def init(self, directory: str, *, backend: str | None = None) -> None:
        """`terraform init` once per configuration (providers from the filesystem mirror);
        with `backend`, (re)configured for that environment's state."""
        key = f"{directory}:{backend}"
        if key in self._initialised:
            return
        args = ["-input=false", "-no-color"]
        if backend:
            args += ["-reconfigure", backend_config(backend)]
            self._initialised = {k for k in self._initialised if k.split(":")[0] != directory}
        else:
            args.append("-backend=false")
        self.cli(directory).execute_command("init", *args)
        self._initialised.add(key)

    def add_test_file(self, directory: str, name: str, text: str) -> None:
        """Place a .tftest.hcl file in the configuration's tests/ directory."""
        tests_dir = self.root / directory / "tests"
        tests_dir.mkdir(exist_ok=True)
        (tests_dir / name).write_text(text, encoding="utf-8")

    def test(
        self, directory: str, *, test_filter: str | None = None, extra: tuple[str, ...] = ()
    ) -> dict[str, RunResult]:
        """Run `terraform test -json -verbose` and return each run block's outcome."""
        self.init(directory)
        args = ["-json", "-verbose", "-no-color", *extra]
        if test_filter:
            args.append(f"-filter=tests/{test_filter}")
        try:
            output = self.cli(directory).execute_command("test", *args).out
        except tftest.TerraformTestError as error:
            # A failing run makes `terraform test` exit 1; its JSON events are in the message.
            output = str(error.args[0])
        runs = parse_test_events(output)
        if not runs:
            raise AssertionError(f"terraform test ran nothing in {directory}:\n{output[-3000:]}")
        return runs

    def plan_runs(
        self,
        directory: str,
        env: str,
        *,
        subscription_id: str | None = None,
        extra: tuple[str, ...] = (),
    ) -> dict[str, RunResult]:
        """The offline plan of one environment's values, with mocked credentials for
        `subscription_id` (default: the environment's own) and extra CLI arguments."""
        subscription = subscription_id or environment_subscription(self.root, env)
        self.add_test_file(directory, PLAN_TEST_FILE, mock_plan_tests(subscription))
        return self.test(directory, test_filter=PLAN_TEST_FILE, extra=(var_file(env), *extra))

    def plan_with_mocks(self, directory: str, env: str) -> dict[str, Any]:
        """Plan the root offline with one environment's values and return the plan JSON."""
        runs = self.plan_runs(directory, env)
        run = runs.get(PLAN_RUN)
        if run is None or run.status != "pass" or run.plan is None:
            detail = "\n".join(run.diagnostics) if run else f"no '{PLAN_RUN}' run in {sorted(runs)}"
            raise AssertionError(f"offline plan of {directory} for {env} failed:\n{detail}")
        return run.plan

    def plan_against_azure(self, directory: str, env: str) -> dict[str, Any]:
        """Plan against the real subscription (ARM_* credentials) with the env's backend."""
        self.init(directory, backend=env)
        cli = self.cli(directory)
        plan = dict(
            cli.plan(
                output=True, refresh=True, tf_var_file=f"../environments/{env}/terraform.tfvars"
            )
        )
        schemas = json.loads(cli.execute_command("providers", "schema", "-json").out)
        return {**plan, "provider_schemas": schemas["provider_schemas"]}

    def plan(self, directory: str, env: str) -> dict[str, Any]:
        """`env`'s plan JSON of the root in the mode INVENTORY_PLAN_MODE selects."""
        if plan_mode() == "azure":
            return self.plan_against_azure(directory, env)
        return self.plan_with_mocks(directory, env)


@dataclass(frozen=True)
class PlannedResource:
    """A resource the plan creates, with its configured (known) values."""

    address: str
    type: str
    values: dict[str, Any]


def planned_resources(plan: dict[str, Any]) -> list[PlannedResource]:
    """Managed resources the plan would create or keep."""
    return [
        PlannedResource(change["address"], change["type"], change["change"].get("after") or {})
        for change in plan.get("resource_changes", [])
        if change.get("mode") == "managed" and "delete" not in change["change"]["actions"]
    ]


def schema_attributes(plan: dict[str, Any], resource_type: str) -> set[str]:
    """Top-level attribute names of a resource type from the provider schemas in the plan."""
    for provider in plan.get("provider_schemas", {}).values():
        schema = provider.get("resource_schemas", {}).get(resource_type)
        if schema is not None:
            return set(schema["block"].get("attributes", {}))
    raise KeyError(f"no schema for {resource_type} in the plan")
