"""Container image builds without a registry: local debootstrap base, project-owned podman config.

    python -m tools.containers build IMAGE --tag TAG   # prints the image reference last
    python -m tools.containers base                    # makes (or finds) the base image

Python API: `build_image(name, tag)` and `podman(*args)` (podman with the project configuration).
"""

from tools.containers.build import build_image
from tools.containers.podman import podman, podman_env

__all__ = ["build_image", "podman", "podman_env"]
