"""Stage `publish`: put the built images where the target's cluster pulls them from.

Azure: push to the environment's ACR (Jenkins logs podman in first). Local: import an OCI
archive of each image into the local cluster's containerd (`k8s.io` namespace), so no registry
is needed anywhere.
"""

from __future__ import annotations

from pipelines.containers.podman import podman_binary, podman_env
from pipelines.core.cluster import containerd_address, find_cluster, registry
from pipelines.core.stage import StageContext
from pipelines.stages.build import IMAGES_FILE

TIMEOUT = 20 * 60.0


def run(ctx: StageContext) -> None:
    """Publish every image in reports/build/images.json; write published.json for deploy."""
    built = ctx.read_json("build", IMAGES_FILE, "the build stage")
    podman = [podman_binary()]
    env = podman_env()
    if ctx.options.target == "azure":
        server = registry(ctx)
        published = {}
        for image, reference in built["images"].items():
            remote = f"{server}/{reference.rsplit('/', 1)[-1]}"
            ctx.run(f"tag {image}", [*podman, "tag", reference, remote], timeout=60, env=env)
            ctx.run(f"push {image}", [*podman, "push", remote], timeout=TIMEOUT, env=env)
            published[image] = remote
    else:
        find_cluster(ctx)
        address = containerd_address(ctx)
        ctr = ctx.require_tool("ctr", ctx.tool_env(), "install Debian's containerd (issue 8)")
        for image, reference in built["images"].items():
            archive = ctx.report_dir / f"{image}.oci.tar"
            ctx.run(
                f"save {image}",
                [*podman, "save", "--format", "oci-archive", "-o", str(archive), reference],
                timeout=TIMEOUT,
                env=env,
            )
            ctx.run(
                f"import {image}",
                [ctr, "--address", address, "-n", "k8s.io", "images", "import", str(archive)],
                timeout=TIMEOUT,
            )
            archive.unlink()
        published = dict(built["images"])
    for image, reference in published.items():
        ctx.note(f"{image}: {reference}")
    ctx.write_json("published.json", {"tag": built["tag"], "images": published})
