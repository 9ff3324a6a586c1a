"""Each module plans with valid inputs and rejects every bad input with its own message."""

from __future__ import annotations

import pytest

from policies.offline_plan import RunResult
from tests.terraform.conftest import MODULES
from tests.terraform.harness import Workspace
from tests.terraform.module_cases import BAD_INPUTS, VALID_INPUTS, BadInput, module_test_files

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
