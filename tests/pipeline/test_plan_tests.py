"""plan-tests per environment: the parallel Jenkins jobs together run the whole suite once."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.core.stage import ENVIRONMENTS

SUITE = """
import pytest

@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_plan(env):
    pass

@pytest.mark.parametrize("configuration", ["modules/network", "environments/prod"])
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
    (suite / "test_plans.py").write_text(SUITE)
    reports = tmp_path / "reports"

    shares = {}
    for env in ENVIRONMENTS:
        assert main(["plan-tests", "--env", env, "--reports", str(reports)], root=tmp_path) == 0
        shares[env] = collected(reports / f"plan-tests-{env}" / "pytest.junit.xml")
    capsys.readouterr()

    assert shares["dev"] == {
        "test_plan[dev]",
        "test_validates[modules/network]",
        "test_module_rejects_bad_input",
    }
    assert shares["staging"] == {"test_plan[staging]"}
    assert shares["prod"] == {"test_plan[prod]", "test_validates[environments/prod]"}
    everything = set().union(*shares.values())
    assert main(["plan-tests", "--reports", str(reports)], root=tmp_path) == 0
    assert collected(reports / "plan-tests" / "pytest.junit.xml") == everything
