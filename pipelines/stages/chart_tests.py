"""Stage `chart-tests`: chart unit tests, schema validation and alert-rule tests."""

from __future__ import annotations

from pipelines.core.stage import StageContext
from pipelines.core.testsuite import run_pytest


def run(ctx: StageContext) -> None:
    """Run tests/helm with the real helm engine from the toolchain."""
    run_pytest(ctx, ["tests/helm"])
