"""Images for the cluster's containerd, all built locally and imported (there is no registry).

The pod sandbox ("pause") image is our own static Go program in an image FROM scratch; the
project's images come from `python -m tools.containers build`. Both reach containerd as
OCI archives written by `podman save` and read by `ctr images import`.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from tools.containers import containerd, podman
from tools.localcluster import readiness
from tools.localcluster.build import binary
from tools.localcluster.catalog import PAUSE
from tools.localcluster.settings import PAUSE_IMAGE, Paths
from tools.toolchain.stamps import read_stamp

SCRATCH_CONTAINERFILE = """\
FROM scratch
COPY {name} /{name}
USER 65535:65535
ENTRYPOINT ["/{name}"]
"""


def _podman_ok(*args: str) -> bool:
    return podman(*args, check=False, capture=True).returncode == 0


BUILD_LABEL = "io.inventory-platform.build"  # the binary's build (stamp inputs) in the image


def build_id(program: Path) -> str:
    """Which build of `program` this is: its stamp's inputs digest (cheap to read)."""
    stamp = read_stamp(program.parent)
    if stamp is None:
        raise RuntimeError(
            f"{program} has no build stamp: run `python -m tools.localcluster build`"
        )
    return stamp.inputs


def _image_build(reference: str) -> str | None:
    template = '{{index .Labels "' + BUILD_LABEL + '"}}'
    result = podman("image", "inspect", "--format", template, reference, check=False, capture=True)
    return result.stdout.strip() if result.returncode == 0 else None


def build_scratch_image(reference: str, program: Path, build: str = "") -> str:
    """`reference` in podman's store: one static binary in an image FROM scratch, non-root.
    With `build`, an existing image labelled with another build is rebuilt."""
    existing = _image_build(reference)
    if existing is not None and (not build or existing == build):
        return reference
    with tempfile.TemporaryDirectory(prefix="localcluster-image-") as context:
        directory = Path(context)
        containerfile = SCRATCH_CONTAINERFILE.format(name=program.name)
        (directory / "Containerfile").write_text(containerfile, encoding="utf-8")
        (directory / program.name).write_bytes(program.read_bytes())
        (directory / program.name).chmod(0o755)
        label = ["--label", f"{BUILD_LABEL}={build}"] if build else []
        podman("build", "--format", "oci", *label, "--tag", reference, str(directory), capture=True)
    return reference


def _marker(paths: Paths, reference: str) -> Path:
    return paths.images / (reference.replace("/", "_").replace(":", "_") + ".build")


def ensure_scratch_image(paths: Paths, reference: str, program: Path) -> None:
    """containerd holds `reference` built from the current `program`: a rebuilt binary with an
    unchanged version tag is rebuilt into the image and imported again, never silently stale."""
    build = build_id(program)
    marker = _marker(paths, reference)
    imported = marker.read_text(encoding="utf-8").strip() if marker.exists() else None
    if imported == build and is_imported(paths, reference):
        return
    import_image(paths, build_scratch_image(reference, program, build))
    marker.write_text(f"{build}\n", encoding="utf-8")


def build_pause_image() -> str:
    """The pod sandbox image, from the cached pause binary."""
    return build_scratch_image(PAUSE_IMAGE, binary(PAUSE, "pause"))


def ctr(paths: Paths, *args: str) -> subprocess.CompletedProcess[str]:
    """`ctr` against the cluster's containerd, in the namespace the CRI plugin uses."""
    return containerd.ctr(paths.containerd_socket, *args)


def is_imported(paths: Paths, reference: str) -> bool:
    return containerd.is_imported(paths.containerd_socket, reference)


def import_image(paths: Paths, reference: str) -> None:
    """Copy `reference` from podman's store into the cluster's containerd, once its CRI
    service serves (an import into a half-initialised containerd can lose content)."""
    readiness.wait(readiness.cri_signal(paths), paths)
    containerd.import_image(paths.containerd_socket, reference, paths.images)
