"""A single-node Kubernetes on the local host, built from source, for the end-to-end pipeline.

python -m pipelines.localcluster build    # the binaries, into the per-user tool cache
python -m pipelines.localcluster up       # idempotent; prints the admin kubeconfig path
python -m pipelines.localcluster status   # exit 0 only when all run and the node is Ready
python -m pipelines.localcluster down [--purge]
python -m pipelines.localcluster import IMAGE...   # podman image -> the cluster's containerd
"""
