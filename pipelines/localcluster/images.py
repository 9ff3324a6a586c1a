"""Images for the cluster's containerd, all built locally and imported (there is no registry).

The pod sandbox ("pause") image is our own static Go program in an image FROM scratch; the
project's images come from `python -m pipelines.containers build`. Both reach containerd as
OCI archives written by `podman save` and read by `ctr images import`.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from pipelines.containers import podman
from pipelines.localcluster.build import binary
from pipelines.localcluster.catalog import PAUSE
from pipelines.localcluster.settings import CONTAINERD_NAMESPACE, PAUSE_IMAGE, Paths

SCRATCH_CONTAINERFILE = """\
FROM scratch
COPY {name} /{name}
USER 65535:65535
ENTRYPOINT ["/{name}"]
"""


def _podman_ok(*args: str) -> bool:
    return podman(*args, check=False, capture=True).returncode == 0


def build_scratch_image(reference: str, program: Path) -> str:
    """`reference` in podman's store: one static binary in an image FROM scratch, non-root."""
    if _podman_ok("image", "exists", reference):
        return reference
    with tempfile.TemporaryDirectory(prefix="localcluster-image-") as context:
        directory = Path(context)
        containerfile = SCRATCH_CONTAINERFILE.format(name=program.name)
        (directory / "Containerfile").write_text(containerfile, encoding="utf-8")
        (directory / program.name).write_bytes(program.read_bytes())
        (directory / program.name).chmod(0o755)
        podman("build", "--format", "oci", "--tag", reference, str(directory), capture=True)
    return reference


def build_pause_image() -> str:
    """The pod sandbox image, from the cached pause binary."""
    return build_scratch_image(PAUSE_IMAGE, binary(PAUSE, "pause"))


def ctr(paths: Paths, *args: str) -> subprocess.CompletedProcess[str]:
    """`ctr` against the cluster's containerd, in the namespace the CRI plugin uses."""
    argv = ["ctr", "--address", str(paths.containerd_socket), "--namespace", CONTAINERD_NAMESPACE]
    return subprocess.run([*argv, *args], capture_output=True, text=True, check=False, timeout=600)


def is_imported(paths: Paths, reference: str) -> bool:
    result = ctr(paths, "images", "list", "--quiet", f"name=={reference}")
    return result.returncode == 0 and reference in result.stdout.split()


def import_image(paths: Paths, reference: str) -> None:
    """Copy `reference` from podman's store into the cluster's containerd."""
    paths.images.mkdir(parents=True, exist_ok=True)
    archive = paths.images / "import.tar"
    archive.unlink(missing_ok=True)
    try:
        podman("save", "--format", "oci-archive", "--output", str(archive), reference, capture=True)
        result = ctr(
            paths,
            "images",
            "import",
            "--index-name",
            reference,
            "--snapshotter",
            "overlayfs",
            str(archive),
        )
        if result.returncode != 0:
            raise RuntimeError(f"ctr images import {reference} failed: {result.stderr.strip()}")
    finally:
        archive.unlink(missing_ok=True)
    if not is_imported(paths, reference):
        raise RuntimeError(f"{reference} imported but containerd does not list it")
