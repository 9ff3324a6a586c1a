"""What the pipeline builds and runs with, outside the orchestrator: the pinned toolchain, the
image builder, the one Kubernetes client and the local Kubernetes harness."""
