"""Stage `deploy`: `helm upgrade --install --atomic --wait` of the umbrella chart.

Deploys the environment's values with the image references just published, prints the
release status, and records the previous revision so `smoke` can roll back to it.
"""

from __future__ import annotations

import json

from pipelines.core.charts import UMBRELLA, has_dependencies
from pipelines.core.cluster import NAMESPACE, RELEASE, find_cluster
from pipelines.core.stage import StageContext

HELM_TIMEOUT = "10m"
TIMEOUT = 15 * 60.0
IMAGE_VALUES = {
    "api": "api.image",
    "postgresql": "postgresql.image",
    "postgres-exporter": "postgresql.metrics.image",
}
"""Where each image's repository and tag go in the umbrella chart's values."""
RELEASE_FILE = "release.json"


def run(ctx: StageContext) -> None:
    """Upgrade or install the release, then record revisions in reports/deploy/release.json."""
    published = ctx.read_json("publish", "published.json", "the publish stage")
    chart = ctx.require_path(str(UMBRELLA), "the umbrella chart lands with issue 5")
    values = ctx.require_path(
        f"{UMBRELLA}/values-{ctx.deploy_env}.yaml", "the environment's values land with issue 5"
    )
    cluster = find_cluster(ctx)
    env = ctx.tool_env(cluster.env())
    helm = ctx.require_tool("helm", env, "run `make tools` (issue 3)")
    release = [RELEASE, "--namespace", NAMESPACE]
    previous = _current_revision(ctx, helm, env)
    if has_dependencies(chart):
        ctx.run(
            "helm dependency build",
            [helm, "dependency", "build", "--skip-refresh", str(UMBRELLA)],
            timeout=TIMEOUT,
            env=env,
        )
    image_args = []
    for image, reference in published["images"].items():
        repository, tag = reference.rsplit(":", 1)
        key = IMAGE_VALUES[image]
        image_args += ["--set", f"{key}.repository={repository}", "--set", f"{key}.tag={tag}"]
    ctx.run(
        "helm upgrade",
        [
            helm,
            "upgrade",
            "--install",
            *release,
            str(UMBRELLA),
            "--create-namespace",
            "--values",
            str(values.relative_to(ctx.root)),
            *image_args,
            "--atomic",
            "--wait",
            "--timeout",
            HELM_TIMEOUT,
        ],
        timeout=TIMEOUT,
        env=env,
    )
    status = ctx.run("helm status", [helm, "status", *release], timeout=120, env=env)
    for line in status.tail[:8]:
        ctx.note(line)
    current = _current_revision(ctx, helm, env)
    ctx.write_json(
        RELEASE_FILE,
        {
            "release": RELEASE,
            "namespace": NAMESPACE,
            "previous_revision": previous,
            "revision": current,
        },
    )


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
