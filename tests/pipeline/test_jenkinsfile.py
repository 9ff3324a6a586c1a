"""The Jenkinsfile: valid Groovy, the same stages as `python -m pipelines list`, and its gates.

Parsing uses Groovy's own compiler (Debian's groovy). Execution uses jenkinsfile_run.groovy,
which runs the declarative pipeline with mocked steps (JenkinsPipelineUnit's declarative
support is not published on Maven Central, the only Maven repository reachable offline).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.core.environments import azure_environments
from pipelines.stages import STAGES
from tests.pipeline.jenkinsfile import (
    JENKINSFILE,
    Event,
    outlines,
    run_scenarios,
    stage_mismatches,
)

NAMES = [stage.name for stage in STAGES]
CHECKS = ["tools", "lint", "policy", "plan-tests", "chart-tests", "app-tests"]
AZURE_STAGES = ["infra-plan", "infra-apply", "publish", "deploy", "smoke"]
SCENARIOS = {
    "defaults": "",
    "prod": "ENVIRONMENT=prod,DEPLOY=true,APPLY_INFRASTRUCTURE=true",
    "dev": "ENVIRONMENT=dev,DEPLOY=true",
    "lint fails": "DEPLOY=true,fail=lint",
    "smoke fails": "ENVIRONMENT=staging,DEPLOY=true,fail=smoke",
}


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Copies of the Jenkinsfile that must not pass: a syntax error, an extra and a lost stage."""
    text = JENKINSFILE.read_text(encoding="utf-8")
    folder = tmp_path_factory.mktemp("jenkinsfiles")
    extra = "stage('audit') { steps { sh '.venv/bin/python -m pipelines audit' } }\n"
    variants = {
        "syntax": text.replace("steps {", "steps (", 1),
        "extra": text.replace(
            "        stage('smoke') {", f"        {extra}        stage('smoke') {{"
        ),
        "lost": text.replace("sh '.venv/bin/python -m pipelines lint'", "sh 'make lint'"),
    }
    paths = {}
    for name, variant in variants.items():
        assert variant != text
        paths[name] = folder / f"{name}.Jenkinsfile"
        paths[name].write_text(variant, encoding="utf-8")
    return paths


@pytest.fixture(scope="module")
def parsed(broken: dict[str, Path]) -> dict[Path, list[Event] | str]:
    """One JVM parses the real Jenkinsfile and the broken copies."""
    return outlines(JENKINSFILE, *broken.values())


@pytest.fixture(scope="module")
def events(parsed: dict[Path, list[Event] | str]) -> list[Event]:
    """The real Jenkinsfile's outline; a parse error fails here with the compiler's message."""
    outline = parsed[JENKINSFILE]
    assert isinstance(outline, list), f"Jenkinsfile does not parse: {outline}"
    return outline


@pytest.fixture(scope="module")
def runs() -> dict[str, list[Event]]:
    """Every scenario executed with mocked steps, in one JVM."""
    executed = run_scenarios(JENKINSFILE, *SCENARIOS.values())
    return {name: executed[scenario] for name, scenario in SCENARIOS.items()}


def pipelines_calls(events: list[Event]) -> list[str]:
    """The `python -m pipelines ...` command lines, in order."""
    return [event.detail for event in events if event.pipelines_stage]


def called_stages(events: list[Event]) -> list[str]:
    """The pipelines stages the run called, in order, each once."""
    return list(dict.fromkeys(event.pipelines_stage for event in events if event.pipelines_stage))


def test_jenkinsfile_stages_call_exactly_the_pipelines_stages_in_order(
    events: list[Event],
) -> None:
    assert stage_mismatches(events, NAMES) == []


def test_the_comparison_catches_a_stage_added_or_lost_on_one_side(
    parsed: dict[Path, list[Event] | str], broken: dict[str, Path]
) -> None:
    extra, lost = parsed[broken["extra"]], parsed[broken["lost"]]
    assert isinstance(extra, list)
    assert isinstance(lost, list)
    assert any("'audit'" in problem for problem in stage_mismatches(extra, NAMES))
    assert stage_mismatches(lost, NAMES) == ["stage 'lint' calls pipelines stages []"]


def test_a_groovy_syntax_error_is_reported_by_the_parser(
    parsed: dict[Path, list[Event] | str], broken: dict[str, Path]
) -> None:
    error = parsed[broken["syntax"]]
    assert isinstance(error, str)
    assert "startup failed" in error
    assert "unexpected token" in error or "expecting" in error


def test_plan_tests_run_per_environment_in_parallel(events: list[Event]) -> None:
    nested = [e.path for e in events if e.kind == "stage" and e.path.startswith("plan-tests/")]
    environments = azure_environments()
    assert len(nested) == len(environments)
    calls = pipelines_calls([event for event in events if event.top == "plan-tests"])
    assert sorted(calls) == [
        f".venv/bin/python -m pipelines plan-tests --env {env}" for env in environments
    ], "each folder in iac/environments needs its parallel plan-tests stage in the Jenkinsfile"


def test_options_parameters_and_agent(runs: dict[str, list[Event]]) -> None:
    run = runs["defaults"]
    options = [event.detail for event in run if event.kind == "option"]
    assert options[0] == "timestamps"
    assert "disableConcurrentBuilds" in options
    assert any(option.startswith("timeout ") for option in options)
    assert any(option.startswith("buildDiscarder [numToKeepStr:") for option in options)
    parameters = [event.detail for event in run if event.kind == "parameter"]
    assert parameters == ["ENVIRONMENT", "APPLY_INFRASTRUCTURE", "DEPLOY"]
    assert Event("agent", "", "pipelines/jenkins/agent-pod.yaml") in run


def test_a_prod_run_calls_every_stage_in_order_with_approvals_first(
    runs: dict[str, list[Event]],
) -> None:
    run = runs["prod"]
    assert called_stages(run) == NAMES
    for stage in ("infra-apply", "publish"):
        steps = [e for e in run if e.top == stage and e.kind in ("input", "sh")]
        assert steps[0].kind == "input", f"{stage} must ask for approval before it runs"
    inputs = [event.top for event in run if event.kind == "input"]
    assert inputs == ["infra-apply", "publish"]
    assert run[-1] == Event("result", "", "SUCCESS")


def test_prod_is_the_only_deploy_that_waits_for_approval(runs: dict[str, list[Event]]) -> None:
    run = runs["dev"]
    assert called_stages(run) == [*CHECKS, "build", "publish", "deploy", "smoke"]
    assert [event for event in run if event.kind == "input"] == []
    assert "--target azure --env dev" in pipelines_calls(run)[-1]


def test_by_default_nothing_touches_azure(runs: dict[str, list[Event]]) -> None:
    run = runs["defaults"]
    assert called_stages(run) == CHECKS
    assert not any(event.kind in ("withCredentials", "input") for event in run)
    skipped = [event.top for event in run if event.kind == "skipped"]
    assert skipped == ["infra-plan", "infra-apply", "build", *AZURE_STAGES[2:]]


def test_azure_stages_use_workload_identity_and_the_chosen_environment(
    runs: dict[str, list[Event]],
) -> None:
    run = runs["prod"]
    for stage in AZURE_STAGES:
        steps = [event for event in run if event.top == stage]
        assert any(event.kind == "withCredentials" for event in steps), stage
        [call] = pipelines_calls(steps)
        assert call.endswith(f"pipelines {stage} --target azure --env prod")
        login = next(event.detail for event in steps if "az login" in event.detail)
        assert login.startswith("set +x ")
        assert '--federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")"' in login


def test_a_failing_stage_stops_the_build_and_reports_are_still_published(
    runs: dict[str, list[Event]],
) -> None:
    run = runs["lint fails"]
    assert called_stages(run) == ["tools", "lint"]
    assert (
        Event("failed", "lint", "script returned exit code 1: .venv/bin/python -m pipelines lint")
        in run
    )
    assert all(event.detail == "earlier failure" for event in run if event.kind == "skipped")
    tail = [(event.kind, event.detail) for event in run[-6:]]
    assert tail == [
        ("post", "always"),
        ("junit", "reports/**/*.xml"),
        ("archiveArtifacts", "reports/**"),
        ("post", "failure"),
        ("echo", "Pipeline failed: see reports/summary.md and the failed stage's report.md"),
        ("result", "FAILURE"),
    ]


def test_a_failing_smoke_suite_fails_the_build(runs: dict[str, list[Event]]) -> None:
    run = runs["smoke fails"]
    assert called_stages(run) == [*CHECKS, "build", "publish", "deploy", "smoke"]
    assert run[-1] == Event("result", "", "FAILURE")


def _credentials(run: list[Event], stage: str) -> list[str]:
    """The credential IDs a stage binds, in order."""
    return [
        credential
        for event in run
        if event.top == stage and event.kind == "withCredentials"
        for credential in event.detail.split(",")
    ]


def test_terraform_plans_as_the_read_only_identity_and_applies_only_after_approval(
    runs: dict[str, list[Event]],
) -> None:
    run = runs["prod"]
    assert _credentials(run, "infra-plan") == [
        "azure-subscription-prod",
        "azure-plan-client-id-prod",
    ]
    assert _credentials(run, "infra-apply") == [
        "azure-subscription-prod",
        "azure-apply-client-id-prod",
    ]
    apply_steps = [
        e for e in run if e.top == "infra-apply" and e.kind in ("input", "withCredentials")
    ]
    assert [e.kind for e in apply_steps] == ["input", "withCredentials"]
    apply_identity = [
        e.top for e in run if e.kind == "withCredentials" and "azure-apply-client-id" in e.detail
    ]
    assert apply_identity == ["infra-apply"]
    assert _credentials(run, "publish") == ["azure-subscription-prod"]


def test_only_deploy_and_smoke_hold_the_promotion_account(runs: dict[str, list[Event]]) -> None:
    """The account that writes the environment branch: deploy promotes, smoke reverts."""
    run = runs["prod"]
    for stage in ("deploy", "smoke"):
        assert _credentials(run, stage) == ["azure-subscription-prod", "gitops-promotion-prod"]
    holders = {e.top for e in run if e.kind == "withCredentials" and "gitops-promotion" in e.detail}
    assert holders == {"deploy", "smoke"}
