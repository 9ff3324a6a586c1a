"""Stage `build`: the API, PostgreSQL, exporter and pooler images, tagged with the git commit,
and the cert-manager controller image, tagged with its version and build.

The containers package does the building: local debootstrap base, OCI labels with
source and revision, project-owned podman configuration. The cert-manager controller is a Go
build from the module proxy (tools/localcluster/go/cert-manager, cached and stamped like the
cluster's components) in an image FROM scratch; its tag changes only with that build, so a warm
run neither compiles nor pushes anything new. This stage only runs both and records the
references they print, for `publish` and `deploy`.
"""

from __future__ import annotations

from pipelines.core.git import image_tag
from pipelines.core.stage import StageContext
from tools.localcluster.interface import CERT_MANAGER_REFERENCE

IMAGES = ("api", "postgresql", "postgres-exporter", "pgbouncer")
CERT_MANAGER_IMAGE = "cert-manager"
"""The controller image's key in images.json (what publish and deploy read)."""
TIMEOUT = 30 * 60.0
CERT_MANAGER_TIMEOUT = 60 * 60.0
"""A cold Go build of the controller on a busy 2-core agent (see tools/localcluster/README.md)."""
IMAGES_FILE = "images.json"


def run(ctx: StageContext) -> None:
    """Build each image and write reports/build/images.json: {image: reference}."""
    try:
        tag = image_tag(ctx.root)
    except RuntimeError as error:
        ctx.fail(f"cannot tag the images with the git commit: {error}")
    references = {}
    for image in IMAGES:
        result = ctx.run(
            f"build {image}",
            [ctx.python, "-m", "tools.containers", "build", image, "--tag", tag],
            timeout=TIMEOUT,
        )
        reference = result.last_line
        if not reference.endswith(f":{tag}"):
            ctx.fail(f"build {image} did not print its image reference (last line: {reference!r})")
        references[image] = reference
        ctx.note(f"{image}: {reference}")
    references[CERT_MANAGER_IMAGE] = _cert_manager_image(ctx)
    ctx.write_json(IMAGES_FILE, {"tag": tag, "images": references})


def _cert_manager_image(ctx: StageContext) -> str:
    """The controller image in podman's store (compiled only when its stamp is stale)."""
    result = ctx.run(
        "build cert-manager",
        [ctx.python, "-m", "tools.localcluster", "cert-manager-image"],
        timeout=CERT_MANAGER_TIMEOUT,
    )
    reference = result.last_line
    if not reference.startswith(f"{CERT_MANAGER_REFERENCE}:"):
        ctx.fail(f"build cert-manager did not print its image reference (last line: {reference!r})")
    ctx.note(f"{CERT_MANAGER_IMAGE}: {reference}")
    return reference
