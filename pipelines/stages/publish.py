"""Stage `publish`: push the built images and the released charts to the target's registry and
record each digest.

Azure: the environment's ACR, the Terraform output acr_login_server (Jenkins logs podman in
first). Local: the local cluster's registry (tools/localcluster/registry.py), with the account
and CA its harness keeps in the state directory (pipelines/targets/registry_login). On both,
each pushed manifest digest is recorded, so `deploy` pins the exact images and charts: a tag in
a registry can be moved; a digest cannot. Charts are packaged with their vendored subcharts as
OCI artefacts under oci://<registry>/charts/, versioned by their content (charts.chart_version):
a changed chart is always a new version, and a version once pushed is never pushed again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipelines.core.charts import (
    CHART_REPOSITORY,
    RELEASED_CHARTS,
    chart_version,
    staged_charts,
    vendor_dependencies,
)
from pipelines.core.stage import StageContext
from pipelines.stages.build import IMAGES_FILE
from pipelines.targets.registry_login import RegistryLogin, registry_login
from tools.containers.podman import podman_binary, podman_env

TIMEOUT = 20 * 60.0
PUBLISHED_FILE = "published.json"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
HELM_DIGEST = re.compile(r"^Digest: (sha256:[0-9a-f]{64})$")
"""The line `helm push` and `helm show` print after `Pushed:` / `Pulled: <reference>`."""
NOT_FOUND = ": not found"
"""How helm's OCI client ends the error for a tag the repository does not hold."""


def run(ctx: StageContext) -> None:
    """Push every image in reports/build/images.json and every released chart; write
    published.json for deploy."""
    built = ctx.read_json("build", IMAGES_FILE, "the build stage")
    login = registry_login(ctx)
    published, digests = push_images(ctx, built["images"], login)
    for image, reference in published.items():
        ctx.note(f"{image}: {reference}@{digests[image]}")
    helm = ctx.require_tool("helm", ctx.tool_env(), "run `make tools`")
    charts = push_charts(ctx, helm, login)
    for name, chart in charts.items():
        ctx.note(f"chart {name}: {chart['reference']}:{chart['version']}@{chart['digest']}")
    ctx.write_json(
        PUBLISHED_FILE,
        {"tag": built["tag"], "images": published, "digests": digests, "charts": charts},
    )


def push_images(
    ctx: StageContext, images: dict[str, str], login: RegistryLogin
) -> tuple[dict[str, str], dict[str, str]]:
    """Tag and push each image to the registry; return the remote references and digests."""
    podman, env = podman_binary(), podman_env()
    published, digests = {}, {}
    for image, reference in images.items():
        remote = remote_reference(login.server, reference)
        digest_file = ctx.report_dir / f"{image}.digest"
        digest_file.parent.mkdir(parents=True, exist_ok=True)
        digest_file.unlink(missing_ok=True)
        ctx.run(f"tag {image}", [podman, "tag", reference, remote], timeout=60, env=env)
        ctx.run(
            f"push {image}",
            [podman, "push", *login.podman_options(), "--digestfile", str(digest_file), remote],
            timeout=TIMEOUT,
            env=env,
        )
        published[image] = remote
        digests[image] = read_digest(ctx, image, digest_file.read_text(encoding="utf-8"))
    return published, digests


def push_charts(
    ctx: StageContext, helm: str, login: RegistryLogin, names: Sequence[str] = RELEASED_CHARTS
) -> dict[str, dict[str, str]]:
    """Package each chart (subcharts vendored) at its content version and push it, unless the
    registry holds that version already (`helm package` is not byte-reproducible, so pushing it
    again would move the tag to a new digest); return {chart: {reference, version, digest}}."""
    env = ctx.tool_env()
    packages = ctx.report_dir / "charts"
    packages.mkdir(parents=True, exist_ok=True)
    pushed = {}
    with staged_charts(ctx.root) as staged:
        for name in names:
            chart = staged / name
            version = chart_version(chart)  # before dependency build vendors anything
            reference = login.chart_reference(CHART_REPOSITORY, name)
            existing = ctx.run(
                f"look up chart {name} {version}",
                [helm, "show", "chart", reference, "--version", version, *login.helm_options()],
                timeout=TIMEOUT,
                env=env,
                ok_codes=(0, 1),  # 1 with NOT_FOUND: this version is not published yet
            )
            if existing.returncode == 0:  # published already: its artefact stays as it is
                digest = chart_digest(ctx, name, existing.tail)
                pushed[name] = {"reference": reference, "version": version, "digest": digest}
                continue
            if not any(line.endswith(NOT_FOUND) for line in existing.tail):
                ctx.fail(
                    f"cannot tell whether {reference} {version} is published: "
                    + " | ".join(existing.tail[-3:])
                )
            vendor_dependencies(ctx, helm, chart, env, TIMEOUT)
            ctx.run(
                f"helm package {name}",
                [helm, "package", str(chart), "--version", version, "--destination", str(packages)],
                timeout=TIMEOUT,
                env=env,
            )
            archive = packages / f"{name}-{version}.tgz"
            result = ctx.run(
                f"helm push {name}",
                [
                    *[helm, "push", str(archive)],
                    *[f"oci://{login.server}/{CHART_REPOSITORY}", *login.helm_options()],
                ],
                timeout=TIMEOUT,
                env=env,
            )
            digest = chart_digest(ctx, name, result.tail)
            pushed[name] = {"reference": reference, "version": version, "digest": digest}
    return pushed


def chart_digest(ctx: StageContext, chart: str, output: Sequence[str]) -> str:
    """The manifest digest `helm push` printed, or fail saying what came back."""
    for line in output:
        found = HELM_DIGEST.match(line.strip())
        if found:
            return found.group(1)
    shown = " | ".join(output[-5:])
    return ctx.fail(f"helm push {chart}: no `Digest: sha256:...` line in its output: {shown}")


def remote_reference(server: str, reference: str) -> str:
    """Where a locally built image goes in the registry `server`: same repository and tag."""
    return f"{server}/{reference.rsplit('/', 1)[-1]}"


def read_digest(ctx: StageContext, image: str, text: str) -> str:
    """The `sha256:<64 hex>` podman wrote with --digestfile, or fail saying what came back."""
    digest = text.strip()
    if not DIGEST.match(digest):
        ctx.fail(f"push {image}: podman --digestfile wrote {digest!r}, not a sha256 digest")
    return digest
