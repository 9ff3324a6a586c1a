"""plan-tests per environment: the parallel Jenkins jobs together run the whole suite once."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.core.environments import azure_environments
from pipelines.stages.plan_tests import selection

ENVIRONMENTS = azure_environments()
FIRST, LAST = ENVIRONMENTS[0], ENVIRONMENTS[-1]

SUITE = f"""
import pytest

@pytest.mark.parametrize("env", {list(ENVIRONMENTS)!r})
def test_plan(env):
    pass

@pytest.mark.parametrize("configuration", ["modules/network", "environments/{LAST}"])
def test_validates(configuration):
    pass

def test_module_rejects_bad_input():
    pass
"""


def collected(junit: Path) -> set[str]:
    """The test case names pytest recorded in its JUnit file (our own output: trusted)."""
    root = ET.parse(junit).getroot()  # noqa: S314
    return {case.get("name", "") for case in root.iter("testcase")}


def test_each_environment_runs_its_share_and_together_they_run_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "tests" / "terraform"
    suite.mkdir(parents=True)
    (tmp_path / "tests" / "contract").mkdir()
    (suite / "test_plans.py").write_text(SUITE)
    reports = tmp_path / "reports"

    shares = {}
    for env in ENVIRONMENTS:
        assert main(["plan-tests", "--env", env, "--reports", str(reports)], root=tmp_path) == 0
        shares[env] = collected(reports / f"plan-tests-{env}" / "pytest.junit.xml")
    capsys.readouterr()

    assert shares[FIRST] == {
        f"test_plan[{FIRST}]",
        "test_validates[modules/network]",
        "test_module_rejects_bad_input",
    }
    for env in ENVIRONMENTS[1:-1]:
        assert shares[env] == {f"test_plan[{env}]"}
    assert shares[LAST] == {f"test_plan[{LAST}]", f"test_validates[environments/{LAST}]"}
    everything = set().union(*shares.values())
    assert main(["plan-tests", "--reports", str(reports)], root=tmp_path) == 0
    assert collected(reports / "plan-tests" / "pytest.junit.xml") == everything


def test_a_new_environment_gets_its_own_share_and_leaves_the_first_ones_intact() -> None:
    environments = ("dev", "prod", "qa", "staging")

    assert selection("dev", environments) == "dev or not (prod or qa or staging)"
    assert selection("qa", environments) == "qa"
    assert selection("dev", ("dev",)) == "dev"
