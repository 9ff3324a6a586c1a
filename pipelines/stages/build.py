"""Stage `build`: the API, PostgreSQL, exporter and pooler images, tagged with the git commit.

The containers package does the building: local debootstrap base, OCI labels with
source and revision, project-owned podman configuration. This stage only runs it per image and
records the references it prints, for `publish` and `deploy`.
"""

from __future__ import annotations

from pipelines.core.git import image_tag
from pipelines.core.stage import StageContext

IMAGES = ("api", "postgresql", "postgres-exporter", "pgbouncer")
TIMEOUT = 30 * 60.0
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
    ctx.write_json(IMAGES_FILE, {"tag": tag, "images": references})
