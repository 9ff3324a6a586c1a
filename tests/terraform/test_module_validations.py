"""Each module plans with valid inputs and rejects every bad input with its own message."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import hcl2
import pytest

from policies.offline_plan import RunResult
from tests.terraform.conftest import ENVIRONMENTS, IAC, MODULES
from tests.terraform.harness import Workspace
from tests.terraform.module_cases import (
    BAD_INPUTS,
    GUID,
    VALID_INPUTS,
    BadInput,
    module_test_files,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def module_runs(workspace: Workspace) -> dict[str, dict[str, RunResult]]:
    results: dict[str, dict[str, RunResult]] = {}
    for module in MODULES:
        directory = f"modules/{module}"
        for name, text in module_test_files(module).items():
            workspace.add_test_file(directory, name, text)
        results[module] = workspace.test(directory)
    return results


def test_every_module_has_validation_cases() -> None:
    assert set(MODULES) == set(VALID_INPUTS) == set(BAD_INPUTS)


@pytest.mark.parametrize("module", sorted(BAD_INPUTS))
def test_module_plans_with_valid_inputs(
    module_runs: dict[str, dict[str, RunResult]], module: str
) -> None:
    run = module_runs[module]["valid"]
    assert run.status == "pass", "\n".join(run.diagnostics)


@pytest.mark.parametrize(
    ("module", "case"),
    [(module, bad) for module, cases in sorted(BAD_INPUTS.items()) for bad in cases],
    ids=[f"{module}-{bad.name}" for module, cases in sorted(BAD_INPUTS.items()) for bad in cases],
)
def test_bad_input_is_rejected_with_its_message(
    module_runs: dict[str, dict[str, RunResult]], module: str, case: BadInput
) -> None:
    run = module_runs[module][case.name]
    assert run.status in ("fail", "error"), f"{module}: {case.name} was accepted"
    assert any(case.message in diagnostic for diagnostic in run.diagnostics), run.diagnostics


# Azure's own rules for the names that are unique across all of Azure (registry: 5-50
# alphanumerics; storage account: 3-24 lowercase alphanumerics; Key Vault: 3-24 alphanumerics and
# hyphens, starting with a letter, no two hyphens in a row, no hyphen at the end).
AZURE_NAME_RULES = {
    "container_registry": re.compile(r"^[a-zA-Z0-9]{5,50}$"),
    "backup_storage": re.compile(r"^[a-z0-9]{3,24}$"),
    "key_vault": re.compile(r"^(?!.*--)[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$"),
}
LONGEST_WORKLOAD = "inventory"
"""Nine characters, the most `workload` admits (the workload_too_long case refuses ten)."""
CONVENTIONS = "modules/conventions"


def region_locations() -> list[str]:
    """Every location the conventions module has a region code for (its own table)."""
    text = (IAC / CONVENTIONS / "main.tf").read_text(encoding="utf-8")
    options = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
    (block,) = hcl2.loads(text, serialization_options=options)["locals"]
    return sorted(block["region_codes"])


def longest_names_file(locations: list[str]) -> str:
    """One plan per environment and location, with the longest workload name."""
    runs = [
        f'run "{env}_{location}" {{\n  command = plan\n\n  variables {{\n'
        f'    workload    = "{LONGEST_WORKLOAD}"\n    environment = "{env}"\n'
        f'    location    = "{location}"\n  }}\n}}\n'
        for env in ENVIRONMENTS
        for location in locations
    ]
    return f"variables {{{VALID_INPUTS['conventions']}}}\n\n" + "\n".join(runs)


@pytest.fixture(scope="module")
def longest_names(
    workspace: Workspace, module_runs: dict[str, dict[str, RunResult]]
) -> dict[str, RunResult]:
    """The conventions module's names for every environment and region (after module_runs, so
    the module is initialised with its generated test files)."""
    workspace.add_test_file(
        CONVENTIONS, "longest.tftest.hcl", longest_names_file(region_locations())
    )
    return workspace.test(CONVENTIONS, test_filter="longest.tftest.hcl")


def planned_names(run: RunResult) -> dict[str, Any]:
    assert run.status == "pass", "\n".join(run.diagnostics)
    assert run.plan is not None
    names: dict[str, Any] = run.plan["output_changes"]["names"]["after"]
    return names


def test_globally_unique_names_keep_azures_rules_for_the_longest_inputs(
    longest_names: dict[str, RunResult],
) -> None:
    assert len(longest_names) == len(ENVIRONMENTS) * len(region_locations())
    broken = [
        f"{run}: {purpose} {names[purpose]!r}"
        for run, result in sorted(longest_names.items())
        for names in [planned_names(result)]
        for purpose, rule in AZURE_NAME_RULES.items()
        if not rule.match(names[purpose])
    ]
    assert broken == []


def test_the_unique_suffix_is_the_hash_of_subscription_workload_environment_and_region(
    longest_names: dict[str, RunResult],
) -> None:
    """Deterministic (a re-plan keeps every name) and different per environment and region."""
    suffixes = set()
    for run, result in longest_names.items():
        env, location = run.split("_", 1)
        seed = "/".join([GUID, LONGEST_WORKLOAD, env, location])
        suffix = hashlib.sha256(seed.encode()).hexdigest()[:4]
        names = planned_names(result)
        assert all(
            names[purpose].endswith(suffix) for purpose in ("container_registry", "key_vault")
        )
        assert names["backup_storage"].endswith(f"{suffix}bak")
        assert names["container_registry_host"] == f"{names['container_registry']}.azurecr.io"
        suffixes.add(suffix)
    assert len(suffixes) == len(longest_names)
