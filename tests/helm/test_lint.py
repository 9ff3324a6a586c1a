"""`helm lint --strict` is clean for each chart and for the umbrella with each environment."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helm.rendering import UMBRELLA, Renderer

# Lint cannot simulate installed CRDs, so the templates that need them are forced on to be linted
# too (without, a required API that is missing fails the render).
FORCE_CUSTOM_RESOURCES = [
    "--set",
    "inventory-api.monitoring.forceCreate=true",
    "--set",
    "postgresql.monitoring.forceCreate=true",
    "--set",
    "postgresql.backup.tlsServer.certManager.forceCreate=true",
    "--set",
    "inventory-api.ingress.internalLoadBalancer.forceCreate=true",
]


def _lint_problems(renderer: Renderer, *args: str) -> list[str]:
    """Lint findings. helm lint reports a template `fail` only as an [INFO] line on stderr
    and still exits 0, so those lines count as problems too."""
    proc = subprocess.run(
        [renderer.helm, "lint", "--strict", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    lines = (proc.stdout + proc.stderr).splitlines()
    problems = [ln for ln in lines if "[WARNING]" in ln or "[ERROR]" in ln or "Fail:" in ln]
    if proc.returncode != 0:
        problems.append(f"exit status {proc.returncode}")
    return problems


@pytest.mark.parametrize("chart", ["inventory-api", "postgresql", "cert-manager"])
def test_chart_lints_with_defaults(renderer: Renderer, chart: str) -> None:
    assert _lint_problems(renderer, str(renderer.chart_dir(chart))) == []


def test_database_chart_lints_with_backups_on(renderer: Renderer, fixtures_dir: Path) -> None:
    values = fixtures_dir / "backup-enabled.yaml"
    chart = str(renderer.chart_dir("postgresql"))
    assert _lint_problems(renderer, chart, "--values", str(values)) == []


def test_umbrella_lints_per_environment(renderer: Renderer, env: str) -> None:
    files = [arg for f in renderer.values_files(UMBRELLA, env) for arg in ("--values", str(f))]
    assert (
        _lint_problems(renderer, str(renderer.chart_dir(UMBRELLA)), *files, *FORCE_CUSTOM_RESOURCES)
        == []
    )


def test_environment_files_lint_on_their_own(renderer: Renderer, env: str) -> None:
    """The pipeline's lint stage passes only values-<env>.yaml: that must lint (identity ids
    are checked at render time instead, see test_schema)."""
    values = renderer.chart_dir(UMBRELLA) / f"values-{env}.yaml"
    problems = _lint_problems(renderer, str(renderer.chart_dir(UMBRELLA)), "--values", str(values))
    assert not [p for p in problems if "Fail:" not in p]


@pytest.mark.parametrize(
    ("setting", "finding"),
    [
        ("podDisruptionBudget.minAvailable=5", "must be greater than podDisruptionBudget"),
        ("replicaCount=0", "exit status 1"),
    ],
)
def test_lint_bites(renderer: Renderer, setting: str, finding: str) -> None:
    problems = _lint_problems(renderer, str(renderer.chart_dir("inventory-api")), "--set", setting)
    assert any(finding in p for p in problems), problems
