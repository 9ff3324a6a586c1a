"""Build one catalog image FROM the local base, with OCI labels and the host CA as a secret."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from tools.containers.base import ensure_base_image
from tools.containers.catalog import CATALOG, REPO_ROOT, SOURCE_URL
from tools.containers.podman import podman

HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def git_revision(root: Path = REPO_ROOT) -> str:
    """The full commit id the image is built from ("unknown" outside a git checkout)."""
    result = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def build_args(name: str, tag: str, base: str, created: datetime | None = None) -> list[str]:
    """The `podman build` arguments for catalog image `name` (pure: no side effects)."""
    try:
        spec = CATALOG[name]
    except KeyError:
        raise ValueError(f"unknown image {name!r}; choose one of {', '.join(CATALOG)}") from None
    if not spec.dockerfile.is_file():
        raise ValueError(f"{name}: {spec.dockerfile.relative_to(REPO_ROOT)} does not exist")
    stamp = (created or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    labels = {
        "org.opencontainers.image.source": SOURCE_URL,
        "org.opencontainers.image.revision": git_revision(),
        "org.opencontainers.image.created": stamp,
        "org.opencontainers.image.title": spec.title,
        "org.opencontainers.image.version": tag,
    }
    args = [
        "build",
        "--pull=never",
        "--file",
        str(spec.dockerfile),
        "--tag",
        spec.reference(tag),
        "--build-arg",
        f"BASE_IMAGE={base}",
    ]
    if HOST_CA_BUNDLE.is_file():
        args += ["--secret", f"id=ca,src={HOST_CA_BUNDLE}"]
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    return [*args, str(spec.context)]


def build_image(name: str, tag: str, refresh_base: bool = False) -> str:
    """Build catalog image `name` as localhost/REPOSITORY:TAG and return that reference.

    Build output goes to stderr so the caller's stdout carries only the reference.
    """
    base = ensure_base_image(refresh=refresh_base)
    args = build_args(name, tag, base)
    reference = CATALOG[name].reference(tag)
    print(f"building {reference} FROM {base}", file=sys.stderr)
    result = podman(*args, stdout=sys.stderr, check=False, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"podman build of {name} failed with exit status {result.returncode}")
    return reference
