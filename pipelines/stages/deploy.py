"""Stage `deploy`: `helm upgrade --install --atomic --wait` of the umbrella chart.

Deploys the environment's values with the image references just published, prints the
release status, and records the previous revision so `smoke` can roll back to it. On the azure
target the identity ids come from the Terraform outputs (saved by `infra-apply`, else read from
the environment's state), as a generated values file (reports/deploy/terraform-values.yaml;
mapping in pipelines/targets/terraform_outputs),
and every image is pinned by the digest `publish` recorded. On the local target the stand-in for
the Azure platform (pipelines/targets/local_platform) is made first: password, Azurite, TLS Secrets,
and the monitoring APIs; after the install, the local monitoring
(pipelines/targets/local_monitoring) configures Prometheus and Alertmanager from the release's
ServiceMonitors and PrometheusRules.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pipelines.core import contract
from pipelines.core.charts import CHARTS, UMBRELLA, has_dependencies, staged_charts
from pipelines.core.stage import StageContext
from pipelines.targets import local_monitoring, local_platform
from pipelines.targets.cluster import NAMESPACE, RELEASE, find_cluster
from pipelines.targets.terraform_outputs import (
    VALUES_FILE,
    MissingOutput,
    load_outputs,
    write_values_file,
)

HELM_TIMEOUT = "10m"
TIMEOUT = 15 * 60.0
IMAGE_VALUES = {
    "api": "inventory-api.image",
    "postgresql": "postgresql.image",
    "postgres-exporter": "postgresql.exporter.image",
    "pgbouncer": "postgresql.pooler.image",
}
"""Where each image's registry, repository and tag go in the umbrella chart's values."""
RELEASE_FILE = "release.json"


def run(ctx: StageContext) -> None:
    """Upgrade or install the release, then record revisions in reports/deploy/release.json."""
    published = ctx.read_json("publish", "published.json", "the publish stage")
    values_name = f"values-{ctx.deploy_env}.yaml"
    ctx.require_path(f"{CHARTS}/{UMBRELLA}/{values_name}", "each deploy environment has one")
    generated = [*_terraform_values(ctx), contract_values(ctx.report_dir)]
    cluster = find_cluster(ctx)
    env = ctx.tool_env(cluster.env())
    helm = ctx.require_tool("helm", env, "run `make tools`")
    digests = published.get("digests") or {}
    if ctx.options.target == "azure" and set(digests) != set(published["images"]):
        ctx.fail("publish recorded no digest for some images: run publish --target azure again")
    if ctx.options.target == "local":
        local_platform.prepare(ctx, cluster)
        local_monitoring.install_api(ctx, cluster)
    previous = _current_revision(ctx, helm, env)
    release = [RELEASE, "--namespace", NAMESPACE]
    images = image_values(published["images"], digests)
    with staged_charts(ctx.root) as charts:
        chart = charts / UMBRELLA
        if has_dependencies(chart):
            ctx.run(
                "helm dependency build",
                [helm, "dependency", "build", "--skip-refresh", str(chart)],
                timeout=TIMEOUT,
                env=env,
            )
        values = values_files(chart, ctx.deploy_env, generated)
        ctx.run(
            "helm upgrade",
            [helm, "upgrade", "--install", *install_args(chart, values, images)],
            timeout=TIMEOUT,
            env=env,
        )
    if ctx.options.target == "local":
        local_monitoring.deploy(ctx, cluster)
    status = ctx.run("helm status", [helm, "status", *release], timeout=120, env=env)
    for line in status.tail[:8]:
        ctx.note(line)
    current = _current_revision(ctx, helm, env)
    record = {"release": RELEASE, "namespace": NAMESPACE, "revision": current}
    ctx.write_json(RELEASE_FILE, {**record, "previous_revision": previous})


def install_args(chart: Path, values: Sequence[Path], images: Sequence[str]) -> list[str]:
    """What follows `helm upgrade --install`: release, chart, namespace, values files in order,
    image settings, and the atomic wait (`helm template` takes the same arguments)."""
    return [
        *[RELEASE, str(chart), "--namespace", NAMESPACE, "--create-namespace"],
        *[arg for path in values for arg in ("--values", str(path))],
        *images,
        *["--atomic", "--wait", "--timeout", HELM_TIMEOUT],
    ]


def values_files(chart: Path, env: str, generated: Sequence[Path]) -> list[Path]:
    """The environment's values file, then the generated ones (later files win in helm)."""
    return [chart / f"values-{env}.yaml", *generated]


def contract_values(report_dir: Path) -> Path:
    """The values file that sets the contract's names in the chart (iac/contract.yaml)."""
    return contract.write_values_file(report_dir / contract.VALUES_FILE, contract.load())


def terraform_values(report_dir: Path, outputs: Mapping[str, Any]) -> Path:
    """The values file generated from an environment's `terraform output -json` document."""
    return write_values_file(report_dir / VALUES_FILE, outputs)


def _terraform_values(ctx: StageContext) -> list[Path]:
    """On azure, the values file generated from the env's Terraform outputs; none locally."""
    if ctx.options.target != "azure":
        return []
    env = ctx.deploy_env
    outputs = load_outputs(ctx, env)
    try:
        path = terraform_values(ctx.report_dir, outputs)
    except MissingOutput as missing:
        ctx.fail(f"{missing}: check iac/platform/outputs.tf and run infra-apply again")
    ctx.note(f"Terraform outputs as chart values: {ctx.shown(path)}")
    return [path]


def image_values(images: dict[str, str], digests: dict[str, str] | None = None) -> list[str]:
    """`--set` arguments putting each published reference (and digest, when the registry gave
    one) into the chart's image values."""
    arguments = []
    for image, reference in images.items():
        name, tag = reference.rsplit(":", 1)
        first, _, rest = name.partition("/")
        is_host = rest and ("." in first or ":" in first or first == "localhost")
        registry, repository = (first, rest) if is_host else ("", name)
        key = IMAGE_VALUES[image]
        for field, value in (("registry", registry), ("repository", repository), ("tag", tag)):
            arguments += ["--set-string", f"{key}.{field}={value}"]
        if digests and image in digests:
            arguments += ["--set-string", f"{key}.digest={digests[image]}"]
    return arguments


def _current_revision(ctx: StageContext, helm: str, env: dict[str, str]) -> int | None:
    """The release's deployed revision, or None before the first install."""
    result = ctx.run(
        "helm list",
        [helm, "list", "--namespace", NAMESPACE, "--filter", f"^{RELEASE}$", "--output", "json"],
        timeout=120,
        env=env,
    )
    listing = next((line for line in reversed(result.tail) if line.startswith("[")), "[]")
    releases = json.loads(listing)
    return int(releases[0]["revision"]) if releases else None
