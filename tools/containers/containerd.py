"""Images into a cluster's containerd, with no registry: `podman save` an OCI archive, then
`ctr images import` it. How the local cluster gets its platform add-ons' images (release images
come from its registry, by digest)."""

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
    # No --index-name: the archive's own `org.opencontainers.image.ref.name` annotation (podman
    # writes the full reference) already names the image, pointing at its manifest. Naming the
    # index the same made two records of one name: the second retargets the name to the
    # manifest, the index just written is left unreferenced, and containerd's garbage collector
    # may remove it before ctr unpacks it (`ctr: content digest sha256:<index>: not found`).
    return ctr(socket, "images", "import", "--snapshotter", "overlayfs", str(archive))


def import_image(socket: Path, reference: str, workdir: Path) -> None:
    """Copy `reference` from podman's store into containerd (the archive lives in `workdir`
    only while it is imported); raises RuntimeError saying which step failed and why."""
    workdir.mkdir(parents=True, exist_ok=True)
    archive = workdir / f"{reference.replace('/', '_').replace(':', '_')}.oci.tar"
    try:
        result = _save_and_import(socket, reference, archive)
        if result.returncode != 0:
            raise RuntimeError(f"ctr images import {reference} failed: {result.stderr.strip()}")
    finally:
        archive.unlink(missing_ok=True)
    if not is_imported(socket, reference):
        raise RuntimeError(f"{reference} imported but containerd does not list it")
