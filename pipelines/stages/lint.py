"""Stage `lint`: Python (ruff, mypy --strict), Terraform formatting and `helm lint --strict`.

Every linter runs even when an earlier one fails, so one run lists every problem.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipelines.core.charts import chart_dirs, staged_charts, values_files, vendor_dependencies
from pipelines.core.stage import StageContext

TIMEOUT = 15 * 60.0


def run(ctx: StageContext) -> None:
    """Run every linter, then fail naming each one that failed."""
    env = ctx.tool_env()
    python = [ctx.python, "-m"]
    ctx.run("ruff check", [*python, "ruff", "check", "."], timeout=TIMEOUT, check=False)
    ctx.run(
        "ruff format", [*python, "ruff", "format", "--check", "."], timeout=TIMEOUT, check=False
    )
    ctx.run("mypy", [*python, "mypy"], timeout=TIMEOUT, env=env, check=False)
    _terraform(ctx, env)
    _helm(ctx, env)
    ctx.raise_for_failures()


def _terraform(ctx: StageContext, env: Mapping[str, str]) -> None:
    """`terraform fmt -check` over iac/, which must hold Terraform."""
    terraform = ctx.require_tool("terraform", env, "run `make tools`")
    ctx.run(
        "terraform fmt",
        [terraform, "fmt", "-check", "-recursive", "-diff", "iac"],
        timeout=TIMEOUT,
        env=env,
        check=False,
    )


def _helm(ctx: StageContext, env: Mapping[str, str]) -> None:
    """`helm lint --strict` of every chart, alone and with each values-<env>.yaml."""
    helm = ctx.require_tool("helm", env, "run `make tools`")
    with staged_charts(ctx.root) as charts:
        for chart in chart_dirs(charts):
            vendor_dependencies(ctx, helm, chart, env, TIMEOUT)
            for values in [None, *values_files(chart)]:
                extra = [] if values is None else ["--values", str(values)]
                ctx.run(
                    f"helm lint {chart.name}" + ("" if values is None else f" {values.name}"),
                    [helm, "lint", "--strict", str(chart), *extra],
                    timeout=TIMEOUT,
                    env=env,
                    check=False,
                )
