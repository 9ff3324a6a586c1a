"""A single-node Kubernetes on the local host, built from source, for the end-to-end pipeline.

python -m tools.localcluster build    # the binaries, into the per-user tool cache
python -m tools.localcluster up       # idempotent; prints the admin kubeconfig path
python -m tools.localcluster status   # exit 0 only when all run and the node is Ready
python -m tools.localcluster down [--purge]
python -m tools.localcluster import IMAGE...   # podman image -> the cluster's containerd
"""
