"""cert-manager's controller image, for the local cluster and AKS alike.

The pinned controller (catalog.CERT_MANAGER, built from go/cert-manager) in an image FROM
scratch, tagged `<version>-<build>` with the first 12 hex digits of its stamp's inputs digest:
a rebuilt binary gets a new tag, so neither the local import nor the registry push is ever
stale, and an unchanged build reuses the image already in podman's store.
"""

from __future__ import annotations

from tools.localcluster.build import binary, build
from tools.localcluster.catalog import CERT_MANAGER, CERT_MANAGER_VERSION
from tools.localcluster.images import build_id, build_scratch_image
from tools.toolchain.paths import Layout

PROGRAM = "cert-manager-controller"
REPOSITORY = "inventory-platform/cert-manager-controller"
REFERENCE = f"localhost/{REPOSITORY}"
"""The image's name in podman's store (publish pushes it as `<registry>/<last part>`)."""
BUILD_DIGITS = 12


def image_tag(build_identity: str) -> str:
    """`<cert-manager version>-<first digits of the build's inputs digest>`."""
    return f"{CERT_MANAGER_VERSION}-{build_identity[:BUILD_DIGITS]}"


def build_image(layout: Layout | None = None) -> str:
    """Build the controller if its stamp is stale, then its image; return the reference."""
    layout = layout or Layout.default()
    build(CERT_MANAGER, layout)
    program = binary(CERT_MANAGER, PROGRAM, layout)
    identity = build_id(program)
    return build_scratch_image(f"{REFERENCE}:{image_tag(identity)}", program, identity)
