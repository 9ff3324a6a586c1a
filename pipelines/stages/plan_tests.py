"""Stage `plan-tests`: Terraform plan tests per environment (all of them unless --env is given).

Jenkins runs one `plan-tests --env ENV` per environment in parallel; each writes its reports
to `reports/plan-tests-ENV/`.
"""

from __future__ import annotations

from pipelines.core.pytest import run_pytest
from pipelines.core.stage import StageContext


def run(ctx: StageContext) -> None:
    """Run tests/terraform, narrowed to one environment's tests with `-k ENV` when given."""
    extra = ["-k", ctx.options.env] if ctx.options.env else []
    run_pytest(ctx, {"tests/terraform": "the Terraform plan tests land with issue 4"}, extra=extra)
