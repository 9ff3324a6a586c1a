"""A failing stage stops the run with its own message, a non-zero exit and a JUnit failure.

The commands here really run and really fail (a failing command, a failing pytest, a missing
artifact of an earlier stage); nothing about the runner is mocked.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.core.orchestrator import EXIT_BLOCKED, EXIT_FAILED
from pipelines.core.stage import Stage, StageContext


def command_stage(name: str, argv: list[str]) -> Stage:
    """A test stage that runs one real command through the shared runner."""

    def entry(ctx: StageContext) -> None:
        ctx.run(" ".join(argv[:2]), argv, timeout=60)

    return Stage(name, f"test stage {name}", entry)


def junit(path: Path) -> ET.Element:
    """The root of a JUnit file the pipeline wrote (trusted input: our own report)."""
    return ET.parse(path).getroot()  # noqa: S314


def junit_failures(path: Path) -> list[tuple[str, str]]:
    """(test case name, failure message) of every failed case in a JUnit file."""
    root = junit(path)
    return [
        (case.get("name", ""), failure.get("message", ""))
        for case in root.iter("testcase")
        for failure in case.iter("failure")
    ]


def test_a_failing_command_stops_the_run_and_later_stages_do_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "after-ran"
    registry = [
        command_stage("passes", [sys.executable, "-c", "print('fine')"]),
        command_stage("breaks", ["ls", "/nonexistent/pipeline-test"]),
        command_stage("after", [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]),
    ]
    reports = tmp_path / "reports"

    status = main(["all", "--reports", str(reports)], registry=registry, root=tmp_path)

    out = capsys.readouterr().out
    assert status == EXIT_FAILED
    assert "<== breaks FAILED in" in out
    assert "ls /nonexistent/pipeline-test exited 2: ls: cannot access" in out
    assert "==> [3/3] after" not in out
    assert not marker.exists()
    assert not (reports / "after").exists()
    assert junit_failures(reports / "passes" / "junit.xml") == []
    [(case, message)] = junit_failures(reports / "breaks" / "junit.xml")
    assert case == "ls /nonexistent/pipeline-test"
    assert message.startswith("ls /nonexistent/pipeline-test exited 2: ls: cannot access")
    summary = (reports / "summary.md").read_text(encoding="utf-8")
    assert "| passes | passed |" in summary
    assert "| breaks | failed |" in summary
    assert "| after | not run | - |" in summary
    report = (reports / "breaks" / "report.md").read_text(encoding="utf-8")
    assert "No such file or directory" in report


MISSING_ARTIFACT = {
    "infra-apply": (
        ["--target", "azure", "--env", "prod"],
        "reports/infra-plan/plan.json is missing: run infra-plan --target azure --env prod first",
    ),
    "publish": ([], "reports/build/images.json is missing: run the build stage first"),
    "deploy": ([], "reports/publish/published.json is missing: run the publish stage first"),
}
"""Stages that consume an earlier stage's artifact, run without it."""


@pytest.mark.parametrize("stage", list(MISSING_ARTIFACT))
def test_a_stage_without_its_input_artifact_names_the_stage_to_run(
    stage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args, expected = MISSING_ARTIFACT[stage]
    reports = tmp_path / "reports"

    status = main([stage, *args, "--reports", str(reports)], root=tmp_path)

    out = capsys.readouterr().out
    assert status == EXIT_FAILED
    assert expected in out
    failures = junit_failures(reports / stage / "junit.xml")
    assert any(expected in message for _, message in failures), failures
    assert f"| {stage} | failed |" in (reports / "summary.md").read_text(encoding="utf-8")


def test_a_failing_test_suite_fails_its_stage_with_pytests_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "tests" / "helm"
    suite.mkdir(parents=True)
    (suite / "test_chart.py").write_text("def test_renders():\n    assert 1 == 2\n")
    reports = tmp_path / "reports"

    status = main(["chart-tests", "--reports", str(reports)], root=tmp_path)

    out = capsys.readouterr().out
    assert status == EXIT_FAILED
    assert "pytest tests/helm exited 1: " in out
    assert "1 failed" in out
    [(case, message)] = junit_failures(reports / "chart-tests" / "junit.xml")
    assert case == "pytest tests/helm"
    assert "1 failed" in message
    [(test, _)] = junit_failures(reports / "chart-tests" / "pytest.junit.xml")
    assert test == "test_renders"


def test_infrastructure_stages_are_skipped_on_the_local_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"

    status = main(["infra-plan", "--reports", str(reports)], root=tmp_path)

    assert status == 0
    assert "<== infra-plan SKIPPED" in capsys.readouterr().out
    [skipped] = list(junit(reports / "infra-plan" / "junit.xml").iter("skipped"))
    assert skipped.get("message") == "the local target has no Azure infrastructure"


def test_publish_without_a_local_cluster_blocks_and_names_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("INVENTORY_CLUSTER_STATE", str(tmp_path / ".state" / "localcluster"))
    reports = tmp_path / "reports"
    built = reports / "build"
    built.mkdir(parents=True)
    (built / "images.json").write_text('{"tag": "abc", "images": {"api": "localhost/api:abc"}}')

    status = main(["publish", "--reports", str(reports)], root=tmp_path)

    out = capsys.readouterr().out
    assert status == EXIT_BLOCKED
    expected = (
        "no local registry account: .state/localcluster/registry/auth.json, "
        ".state/localcluster/registry/certs/ca.crt missing; run `make cluster-up`"
    )
    assert expected in out
    assert "| publish | blocked |" in (reports / "summary.md").read_text(encoding="utf-8")
    assert any(
        expected in message for _, message in junit_failures(built.parent / "publish" / "junit.xml")
    )
