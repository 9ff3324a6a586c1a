"""The local base image: Debian bookworm minbase made with debootstrap and imported into podman.

Why: no container registry is reachable, so `debian:bookworm-slim` cannot be pulled. Dockerfiles
take `ARG BASE_IMAGE`; the builder passes this image. It is built once and cached in the store.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.containers.podman import podman, state_dir

# Bump the version when the recipe changes so a stale base is not reused.
BASE_REFERENCE = "localhost/inventory-base:bookworm-minbase-1"
SUITE = "bookworm"
HOST_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")


def debian_mirror(sources: Path = HOST_SOURCES) -> str:
    """The host's main Debian mirror (the first URIs: line of its deb822 sources)."""
    try:
        text = sources.read_text()
    except OSError as exc:
        raise RuntimeError(f"cannot read the Debian mirror from {sources}: {exc}") from None
    match = re.search(r"^URIs:\s*(\S+)", text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{sources} has no 'URIs:' line")
    return match.group(1)


def image_exists(reference: str) -> bool:
    """True when the project store holds `reference`."""
    return podman("image", "exists", reference, check=False, capture=True).returncode == 0


def _debootstrap(rootfs: Path, mirror: str) -> None:
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise RuntimeError("debootstrap not found; install it with: make bootstrap")
    subprocess.run(
        [debootstrap, "--variant=minbase", SUITE, str(rootfs), mirror],
        check=True,
        stdout=sys.stderr,
        timeout=1800,
    )
    # The image uses the same mirrors as the host (including security updates).
    (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
    shutil.copy(HOST_SOURCES, rootfs / "etc/apt/sources.list.d/debian.sources")
    subprocess.run(["chroot", str(rootfs), "apt-get", "clean"], check=True, timeout=300)
    for leftover in ("var/lib/apt/lists", "var/cache/apt", "var/log"):
        for child in (rootfs / leftover).glob("*"):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()


def _import(rootfs: Path, reference: str) -> None:
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE
    )
    try:
        podman(
            "import",
            "--change",
            'CMD ["/bin/bash"]',
            "--message",
            f"debootstrap --variant=minbase {SUITE}",
            "-",
            reference,
            stdin=tar.stdout,
            stdout=sys.stderr,
        )
    finally:
        if tar.stdout is not None:
            tar.stdout.close()
        if tar.wait() != 0:
            raise RuntimeError("tar of the base rootfs failed")


def ensure_base_image(refresh: bool = False) -> str:
    """The base image reference, building it first when missing (serialised by a file lock)."""
    lock_path = state_dir() / "base.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if refresh or not image_exists(BASE_REFERENCE):
            if os.geteuid() != 0:
                raise RuntimeError("making the base image needs root (debootstrap, chroot)")
            print(f"making base image {BASE_REFERENCE} with debootstrap", file=sys.stderr)
            with tempfile.TemporaryDirectory(prefix="inventory-base-") as tmp:
                rootfs = Path(tmp) / "rootfs"
                _debootstrap(rootfs, debian_mirror())
                _import(rootfs, BASE_REFERENCE)
    return BASE_REFERENCE
