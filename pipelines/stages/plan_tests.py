"""Stage `plan-tests`: Terraform plan and contract tests per environment (all unless --env).

Jenkins runs one `plan-tests --env ENV` per environment in parallel; each writes its reports
to `reports/plan-tests-ENV/`. The plan tests carry the environment in their ids (`[dev]`), so
`-k` selects them; the first environment's job also runs the tests tied to no environment
(modules, bootstrap, the platform root's static checks), so the parallel jobs together run the
whole suite once.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.core.environments import azure_environments
from pipelines.core.stage import StageContext
from pipelines.core.testsuite import run_pytest


def run(ctx: StageContext) -> None:
    """Run tests/terraform and tests/contract (the plans against the charts as deployed),
    narrowed to one environment's share when --env is given."""
    env = ctx.options.env
    extra = ["-k", selection(env)] if env else []
    run_pytest(ctx, ["tests/terraform", "tests/contract"], extra=extra)


def selection(env: str, environments: Sequence[str] | None = None) -> str:
    """The `-k` expression of one environment's share of the suite (of `environments`, by
    default every environment folder): the first one also takes the tests tied to none."""
    names = azure_environments() if environments is None else environments
    if env != names[0]:
        return env
    others = " or ".join(other for other in names if other != env)
    return f"{env} or not ({others})" if others else env
