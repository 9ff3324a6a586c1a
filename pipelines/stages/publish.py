"""Stage `publish`: put the built images where the target's cluster pulls them from.

Azure: push to the environment's ACR, the Terraform output acr_login_server (Jenkins logs
podman in first), and record each pushed manifest digest, so `deploy` pins the exact images (a
tag in a registry can be moved; a digest cannot). Local: import an OCI archive of each image
into the local cluster's containerd (`k8s.io` namespace, the one the kubelet's CRI uses), so no
registry is needed anywhere; the images never leave the host, so the tag (the git commit) is
what pins them there.
"""

from __future__ import annotations

import re

from pipelines.core.stage import StageContext
from pipelines.stages.build import IMAGES_FILE
from pipelines.targets.cluster import containerd_address, find_cluster
from pipelines.targets.terraform_outputs import registry
from tools.containers.podman import podman_binary, podman_env

TIMEOUT = 20 * 60.0
PUBLISHED_FILE = "published.json"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def run(ctx: StageContext) -> None:
    """Publish every image in reports/build/images.json; write published.json for deploy."""
    built = ctx.read_json("build", IMAGES_FILE, "the build stage")
    if ctx.options.target == "azure":
        published, digests = _push(ctx, built["images"])
    else:
        _import(ctx, built["images"])
        published, digests = dict(built["images"]), {}
    for image, reference in published.items():
        ctx.note(f"{image}: {reference}{'@' + digests[image] if image in digests else ''}")
    ctx.write_json(PUBLISHED_FILE, {"tag": built["tag"], "images": published, "digests": digests})


def _push(ctx: StageContext, images: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Tag and push each image to the ACR; return the remote references and their digests."""
    server = registry(ctx)
    podman, env = podman_binary(), podman_env()
    published, digests = {}, {}
    for image, reference in images.items():
        remote = remote_reference(server, reference)
        digest_file = ctx.report_dir / f"{image}.digest"
        digest_file.parent.mkdir(parents=True, exist_ok=True)
        digest_file.unlink(missing_ok=True)
        ctx.run(f"tag {image}", [podman, "tag", reference, remote], timeout=60, env=env)
        ctx.run(
            f"push {image}",
            [podman, "push", "--digestfile", str(digest_file), remote],
            timeout=TIMEOUT,
            env=env,
        )
        published[image] = remote
        digests[image] = read_digest(ctx, image, digest_file.read_text(encoding="utf-8"))
    return published, digests


def remote_reference(server: str, reference: str) -> str:
    """Where a locally built image goes in the registry `server`: same repository and tag."""
    return f"{server}/{reference.rsplit('/', 1)[-1]}"


def read_digest(ctx: StageContext, image: str, text: str) -> str:
    """The `sha256:<64 hex>` podman wrote with --digestfile, or fail saying what came back."""
    digest = text.strip()
    if not DIGEST.match(digest):
        ctx.fail(f"push {image}: podman --digestfile wrote {digest!r}, not a sha256 digest")
    return digest


def _import(ctx: StageContext, images: dict[str, str]) -> None:
    """Import each image into the local cluster's containerd (tools.containers.containerd)."""
    find_cluster(ctx)
    address = containerd_address(ctx)
    ctx.require_tool("ctr", ctx.tool_env(), "install Debian's containerd")
    for image, reference in images.items():
        ctx.run(
            f"import {image}",
            [
                *[ctx.python, "-m", "tools.containers", "import", reference],
                *["--address", address, "--workdir", str(ctx.report_dir)],
            ],
            timeout=TIMEOUT,
        )
