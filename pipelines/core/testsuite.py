"""Run a pytest suite as a pipeline step, with its JUnit XML in the stage's report folder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pipelines.core.runner import CommandResult
from pipelines.core.stage import StageContext

PYTEST_TIMEOUT = 45 * 60.0


def run_pytest(
    ctx: StageContext,
    suites: Sequence[str],
    *,
    extra: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> CommandResult:
    """Run the test folders in `suites` in one pytest session; pytest's verdict is the step's."""
    junit = ctx.report_dir / "pytest.junit.xml"
    argv = [ctx.python, "-m", "pytest", *suites, f"--junitxml={junit}", *extra]
    return ctx.run(
        "pytest " + " ".join(suites),
        argv,
        timeout=PYTEST_TIMEOUT,
        env=env if env is not None else ctx.tool_env(),
        check=check,
    )
