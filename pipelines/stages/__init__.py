"""The pipeline's stages, in the order they run; `python -m pipelines list` prints this."""

from __future__ import annotations

from pipelines.core.stage import Stage
from pipelines.stages import (
    app_tests,
    build,
    chart_tests,
    deploy,
    infra_apply,
    infra_plan,
    lint,
    plan_tests,
    policy,
    publish,
    smoke,
    tools,
)

STAGES: tuple[Stage, ...] = (
    Stage("tools", "build or check the pinned tools (helm, terraform, checkov, tflint)", tools.run),
    Stage("lint", "ruff, mypy --strict, terraform fmt, helm lint --strict", lint.run),
    Stage("policy", "checkov and python-hcl2 policy gate over iac/", policy.run),
    Stage("plan-tests", "Terraform plan tests per environment", plan_tests.run, per_env=True),
    Stage("chart-tests", "Helm chart unit, schema and alert-rule tests", chart_tests.run),
    Stage("app-tests", "API tests on PostgreSQL, backup/restore tests on Azurite", app_tests.run),
    Stage("infra-plan", "saved Terraform plan of the Azure environment (artifact)", infra_plan.run),
    Stage("infra-apply", "apply exactly the approved saved plan", infra_apply.run),
    Stage(
        "build",
        "API, PostgreSQL and exporter images tagged with the commit; the cert-manager image",
        build.run,
    ),
    Stage(
        "publish",
        "push images and charts to the target's registry; record each digest",
        publish.run,
    ),
    Stage(
        "deploy",
        "cert-manager, then the umbrella: one promotion commit Flux reconciles, or helm upgrade "
        "--install --atomic --wait where the environment is pushed",
        deploy.run,
    ),
    Stage("smoke", "smoke suite through the ingress; roll back on failure", smoke.run),
)
