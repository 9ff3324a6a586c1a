"""Container image builds without a registry: local debootstrap base, project-owned podman config.

    python -m pipelines.containers build IMAGE --tag TAG   # prints the image reference last
    python -m pipelines.containers base                    # makes (or finds) the base image

Python API: `build_image(name, tag)` and `podman(*args)` (podman with the project configuration).
"""

from pipelines.containers.build import build_image
from pipelines.containers.podman import podman, podman_env

__all__ = ["build_image", "podman", "podman_env"]
