"""Stage `publish`: push the built images to the target's registry and record each digest.

Azure: the environment's ACR, the Terraform output acr_login_server (Jenkins logs podman in
first). Local: the local cluster's registry (tools/localcluster/registry.py), with the account
and CA its harness keeps in the state directory. On both, each pushed manifest digest is
recorded, so `deploy` pins the exact images: a tag in a registry can be moved; a digest cannot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipelines.core.stage import StageContext
from pipelines.stages.build import IMAGES_FILE
from pipelines.targets.cluster import local_registry
from pipelines.targets.terraform_outputs import registry
from tools.containers.podman import podman_binary, podman_env

TIMEOUT = 20 * 60.0
PUBLISHED_FILE = "published.json"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def run(ctx: StageContext) -> None:
    """Push every image in reports/build/images.json; write published.json for deploy."""
    built = ctx.read_json("build", IMAGES_FILE, "the build stage")
    env, options = podman_env(), []
    if ctx.options.target == "azure":
        server = registry(ctx)
    else:
        local = local_registry(ctx)
        server = local.server
        env["REGISTRY_AUTH_FILE"] = str(local.auth_file)
        options = ["--cert-dir", str(local.cert_dir)]
    published, digests = push_images(ctx, built["images"], server, env, options)
    for image, reference in published.items():
        ctx.note(f"{image}: {reference}@{digests[image]}")
    ctx.write_json(PUBLISHED_FILE, {"tag": built["tag"], "images": published, "digests": digests})


def push_images(
    ctx: StageContext,
    images: dict[str, str],
    server: str,
    env: dict[str, str],
    options: Sequence[str],
) -> tuple[dict[str, str], dict[str, str]]:
    """Tag and push each image to `server`; return the remote references and their digests."""
    podman = podman_binary()
    published, digests = {}, {}
    for image, reference in images.items():
        remote = remote_reference(server, reference)
        digest_file = ctx.report_dir / f"{image}.digest"
        digest_file.parent.mkdir(parents=True, exist_ok=True)
        digest_file.unlink(missing_ok=True)
        ctx.run(f"tag {image}", [podman, "tag", reference, remote], timeout=60, env=env)
        ctx.run(
            f"push {image}",
            [podman, "push", *options, "--digestfile", str(digest_file), remote],
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
