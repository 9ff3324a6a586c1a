"""Container image tests: real builds from the local base, run with podman."""
