"""The one Kubernetes client of the project: kubectl invocations and the restricted security
context, shared by the pipeline's deploy stages, the local cluster harness and the smoke suite."""
