"""The collection gate of tests/smoke/conftest.py, driven through real pytest runs.

A throwaway tree holds copies of the real conftest and settings module next to a stand-in
cluster test, a stand-in unit test and another layer's test, so each run takes a second.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.smoke.settings import SMOKE_DIR

CLUSTER_TEST = "tests/smoke/test_cluster.py::test_cluster"
UNIT_TEST = "tests/smoke/unit/test_unit.py::test_unit"
OTHER_TEST = "tests/other/test_other.py::test_other"
SMOKE_VARIABLES = ("KUBECONFIG", "INGRESS_URL", "PYTHONPATH")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository-shaped tree: tests/{other,smoke,smoke/unit} with one test each."""
    return make_tree(tmp_path_factory.mktemp("gate"))


def make_tree(root: Path) -> Path:
    """The tree of `tree` under `root`."""
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n", encoding="utf-8")
    for package in ("tests", "tests/other", "tests/smoke", "tests/smoke/unit"):
        (root / package).mkdir(exist_ok=True)
        (root / package / "__init__.py").write_text("", encoding="utf-8")
    for module in ("conftest.py", "settings.py"):
        shutil.copy(SMOKE_DIR / module, root / "tests/smoke" / module)
    for node in (CLUSTER_TEST, UNIT_TEST, OTHER_TEST):
        path, name = node.split("::")
        (root / path).write_text(f"def {name}():\n    pass\n", encoding="utf-8")
    (root / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n", encoding="utf-8")
    return root


def collect(tree: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`pytest --collect-only -q ARGS` in the tree, without the caller's smoke variables."""
    base = {k: v for k, v in os.environ.items() if k not in SMOKE_VARIABLES}
    base = {k: v for k, v in base.items() if not k.startswith("SMOKE")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=tree,
        env={**base, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def configured(tree: Path) -> dict[str, str]:
    """A complete smoke configuration pointing at the tree's dummy kubeconfig."""
    return {
        "KUBECONFIG": str(tree / "kubeconfig"),
        "INGRESS_URL": "http://127.0.0.1:8088",
        "SMOKE_NETWORKPOLICY": "enforced",
    }


def collected(result: subprocess.CompletedProcess[str]) -> set[str]:
    """Node ids listed by --collect-only -q."""
    return {line for line in result.stdout.splitlines() if "::" in line}


def test_whole_tree_leaves_the_cluster_tests_out(tree: Path) -> None:
    result = collect(tree, "tests")
    assert result.returncode == 0, result.stdout + result.stderr
    assert collected(result) == {UNIT_TEST, OTHER_TEST}


def test_whole_tree_leaves_them_out_even_when_configured(tree: Path) -> None:
    result = collect(tree, "tests", **configured(tree))
    assert collected(result) == {UNIT_TEST, OTHER_TEST}, result.stdout


def test_unit_tests_need_no_cluster(tree: Path) -> None:
    result = collect(tree, "tests/smoke/unit")
    assert result.returncode == 0, result.stdout + result.stderr
    assert collected(result) == {UNIT_TEST}


@pytest.mark.parametrize("target", ["tests/smoke", CLUSTER_TEST])
def test_naming_the_suite_without_configuration_fails_saying_what_to_set(
    tree: Path, target: str
) -> None:
    result = collect(tree, target)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "KUBECONFIG is not set; INGRESS_URL is not set" in result.stderr
    assert "python -m pipelines smoke" in result.stderr


def test_smoke_flag_without_configuration_fails(tree: Path) -> None:
    result = collect(tree, "tests", SMOKE="1")
    assert result.returncode != 0
    assert "KUBECONFIG is not set" in result.stdout + result.stderr


def test_naming_the_suite_with_configuration_collects_it(tree: Path) -> None:
    result = collect(tree, "tests/smoke", **configured(tree))
    assert result.returncode == 0, result.stdout + result.stderr
    assert collected(result) == {CLUSTER_TEST, UNIT_TEST}


def test_smoke_flag_with_configuration_adds_the_suite_to_the_tree(tree: Path) -> None:
    result = collect(tree, "tests", SMOKE="1", **configured(tree))
    assert result.returncode == 0, result.stdout + result.stderr
    assert collected(result) == {CLUSTER_TEST, UNIT_TEST, OTHER_TEST}


def test_bad_smoke_flag_is_refused(tree: Path) -> None:
    result = collect(tree, "tests/smoke/unit", SMOKE="yes")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "SMOKE must be 1 (run the smoke suite) or 0/unset, got 'yes'" in result.stderr


FAMILY_TEST = "tests/smoke/test_family.py::test_family"


@pytest.mark.parametrize(
    ("marker", "setting"),
    [
        ("incidents", {"SMOKE_ALERTS": "192.0.2.1:19093"}),
        ("autoscaling", {"SMOKE_AUTOSCALING": "run"}),
    ],
)
def test_marked_families_are_collected_only_when_their_setting_asks(
    tmp_path: Path, marker: str, setting: dict[str, str]
) -> None:
    root = make_tree(tmp_path)
    (root / "tests/smoke/test_family.py").write_text(
        f"import pytest\n\n\n@pytest.mark.{marker}\ndef test_family():\n    pass\n",
        encoding="utf-8",
    )
    off = collect(root, "tests/smoke", **configured(root))
    on = collect(root, "tests/smoke", **setting, **configured(root))
    assert off.returncode == on.returncode == 0, off.stdout + on.stdout
    assert FAMILY_TEST not in collected(off)
    assert "1 deselected" in off.stdout
    assert FAMILY_TEST in collected(on)
