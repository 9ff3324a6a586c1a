"""Images into a cluster's containerd, with no registry: `podman save` an OCI archive, then
`ctr images import` it. The one implementation for the publish stage and the local cluster."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tools.containers.podman import podman

CONTAINERD_NAMESPACE = "k8s.io"
"""The containerd namespace the kubelet's CRI plugin uses: images elsewhere are invisible to it."""
IMPORT_TIMEOUT = 600.0


def ctr(socket: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`ctr ARGS` against the containerd at `socket`, in the namespace the CRI plugin uses."""
    argv = ["ctr", "--address", str(socket), "--namespace", CONTAINERD_NAMESPACE, *args]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=IMPORT_TIMEOUT)


def is_imported(socket: Path, reference: str) -> bool:
    """True when containerd lists `reference` in the CRI namespace."""
    result = ctr(socket, "images", "list", "--quiet", f"name=={reference}")
    return result.returncode == 0 and reference in result.stdout.split()


IMPORT_ATTEMPTS = 3
# containerd 1.6 sometimes loses a freshly written blob during the first import of an image
# (`ctr: content digest sha256:...: not found`); the same archive imports on the next try.
TRANSIENT_IMPORT_ERROR = "content digest"


def _save_and_import(
    socket: Path, reference: str, archive: Path
) -> subprocess.CompletedProcess[str]:
    archive.unlink(missing_ok=True)
    saved = podman(
        *["save", "--format", "oci-archive", "--output", str(archive), reference],
        capture=True,
        check=False,
    )
    if saved.returncode != 0:
        raise RuntimeError(f"podman save {reference} failed: {saved.stderr.strip()}")
    return ctr(
        socket,
        *["images", "import", "--index-name", reference, "--snapshotter", "overlayfs"],
        str(archive),
    )


def import_image(socket: Path, reference: str, workdir: Path) -> None:
    """Copy `reference` from podman's store into containerd (the archive lives in `workdir`
    only while it is imported); raises RuntimeError saying which step failed and why.
    A lost-content error is retried (bounded, each retry said); any other error is final."""
    workdir.mkdir(parents=True, exist_ok=True)
    archive = workdir / f"{reference.replace('/', '_').replace(':', '_')}.oci.tar"
    try:
        for attempt in range(1, IMPORT_ATTEMPTS + 1):
            result = _save_and_import(socket, reference, archive)
            if result.returncode == 0:
                break
            error = result.stderr.strip()
            if TRANSIENT_IMPORT_ERROR not in error or attempt == IMPORT_ATTEMPTS:
                raise RuntimeError(f"ctr images import {reference} failed: {error}")
            print(
                f"ctr images import {reference}: {error}; "
                f"retrying ({attempt + 1}/{IMPORT_ATTEMPTS})",
                flush=True,
            )
    finally:
        archive.unlink(missing_ok=True)
    if not is_imported(socket, reference):
        raise RuntimeError(f"{reference} imported but containerd does not list it")
