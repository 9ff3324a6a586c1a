"""Cluster add-ons the workloads rely on, rendered here and applied with kubectl.

CoreDNS: our own build in an image FROM scratch, listening on an unprivileged port (1053) so
it runs under the restricted Pod Security profile with no capabilities; the `kube-dns`
Service maps the usual port 53 onto it at the cluster DNS address kubelet hands to pods.
"""

from __future__ import annotations

import json
from typing import Any

from tools.containers.base import BASE_REFERENCE
from tools.kube.security import RESTRICTED_CONTAINER
from tools.localcluster.catalog import COREDNS_VERSION, LOCAL_PATH_VERSION
from tools.localcluster.settings import CLUSTER_DOMAIN, DNS_SERVICE_IP

PART_OF = "inventory-localcluster"
"""The `app.kubernetes.io/part-of` label of the add-ons that carry the recommended labels."""

COREDNS_IMAGE = f"localhost/inventory-platform/coredns:{COREDNS_VERSION}"
DNS_PORT = 1053

COREFILE = f"""\
.:{DNS_PORT} {{
    errors
    health {{
        lameduck 5s
    }}
    ready
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }}
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
}}
"""

DNS_SELECTOR = {"k8s-app": "kube-dns"}
_LABELS = {**DNS_SELECTOR, "app.kubernetes.io/name": "coredns"}
_META = {"namespace": "kube-system", "labels": _LABELS}


def coredns_manifests() -> list[dict[str, Any]]:
    """ServiceAccount, RBAC, Corefile, Deployment and the kube-dns Service."""
    deployment_spec = {
        "replicas": 1,
        "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
        "template": {
            "metadata": {"labels": _LABELS},
            "spec": {
                "serviceAccountName": "coredns",
                "priorityClassName": "system-cluster-critical",
                "dnsPolicy": "Default",  # forward to the node's resolvers, not to ourselves
                "securityContext": {"runAsNonRoot": True, "runAsUser": 65535},
                "containers": [
                    {
                        "name": "coredns",
                        "image": COREDNS_IMAGE,
                        "imagePullPolicy": "Never",
                        "args": ["-conf", "/etc/coredns/Corefile"],
                        "ports": [
                            {"name": "dns", "containerPort": DNS_PORT, "protocol": "UDP"},
                            {"name": "dns-tcp", "containerPort": DNS_PORT, "protocol": "TCP"},
                        ],
                        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}},
                        "livenessProbe": {
                            "httpGet": {"path": "/health", "port": 8080},
                            "initialDelaySeconds": 10,
                        },
                        "resources": {
                            "requests": {"cpu": "50m", "memory": "64Mi"},
                            "limits": {"memory": "128Mi"},
                        },
                        "securityContext": RESTRICTED_CONTAINER,
                        "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns"}],
                    }
                ],
                "volumes": [{"name": "config", "configMap": {"name": "coredns"}}],
            },
        },
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "coredns", **_META}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "system:coredns", "labels": _LABELS},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["endpoints", "services", "pods", "namespaces"],
                    "verbs": ["list", "watch"],
                },
                {
                    "apiGroups": ["discovery.k8s.io"],
                    "resources": ["endpointslices"],
                    "verbs": ["list", "watch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "system:coredns", "labels": _LABELS},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:coredns",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "coredns", **_META},
            "data": {"Corefile": COREFILE},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "coredns", **_META},
            "spec": deployment_spec,
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kube-dns", **_META},
            "spec": {
                "type": "ClusterIP",
                "clusterIP": DNS_SERVICE_IP,
                "selector": {"k8s-app": "kube-dns"},
                "ports": [
                    {"name": "dns", "port": 53, "targetPort": DNS_PORT, "protocol": "UDP"},
                    {"name": "dns-tcp", "port": 53, "targetPort": DNS_PORT, "protocol": "TCP"},
                ],
            },
        },
    ]


def manifest_list(documents: list[dict[str, Any]]) -> str:
    """One `kind: List` document kubectl applies in a single call."""
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": documents}, indent=2)


LOCAL_PATH_IMAGE = f"localhost/inventory-platform/local-path-provisioner:{LOCAL_PATH_VERSION}"
# The helper pods that create and delete volume directories need a shell: the local
# debootstrap base (the project's base image) stands in for upstream's busybox.
HELPER_IMAGE = BASE_REFERENCE
LOCAL_PATH_NAMESPACE = "local-path-storage"

HELPER_POD = f"""\
apiVersion: v1
kind: Pod
metadata:
  name: helper-pod
spec:
  priorityClassName: system-node-critical
  containers:
  - name: helper-pod
    image: {HELPER_IMAGE}
    imagePullPolicy: Never
"""


def local_path_manifests(volumes_dir: str) -> list[dict[str, Any]]:
    """The dynamic hostPath provisioner (rancher.io/local-path) and the default StorageClass."""
    namespace = LOCAL_PATH_NAMESPACE
    labels = {"app.kubernetes.io/name": "local-path-provisioner"}
    meta = {"namespace": namespace, "labels": labels}
    account = "local-path-provisioner"
    subject = {"kind": "ServiceAccount", "name": account, "namespace": namespace}
    config = {
        "nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": [volumes_dir]}]
    }
    container = {
        "name": "local-path-provisioner",
        "image": LOCAL_PATH_IMAGE,
        "imagePullPolicy": "Never",
        "args": [
            "start",
            "--config=/etc/config/config.json",
            f"--helper-image={HELPER_IMAGE}",
            f"--service-account-name={account}",  # helper pods run under it
        ],
        "env": [
            {
                "name": "POD_NAMESPACE",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
            },
            {"name": "CONFIG_MOUNT_PATH", "value": "/etc/config/"},
        ],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": RESTRICTED_CONTAINER,
        "volumeMounts": [{"name": "config", "mountPath": "/etc/config/"}],
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": labels},
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account, **meta}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": account, **meta},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["pods"],
                    "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": account, "labels": labels},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": [
                        "nodes",
                        "persistentvolumeclaims",
                        "configmaps",
                        "pods",
                        "pods/log",
                    ],
                    "verbs": ["get", "list", "watch"],
                },
                {
                    "apiGroups": [""],
                    "resources": ["persistentvolumes"],
                    "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
                },
                {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
                {
                    "apiGroups": ["storage.k8s.io"],
                    "resources": ["storageclasses"],
                    "verbs": ["get", "list", "watch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": account, **meta},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
            "subjects": [subject],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": account, "labels": labels},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": account,
            },
            "subjects": [subject],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "local-path-config", **meta},
            "data": {
                "config.json": json.dumps(config),
                "setup": 'set -eu\nmkdir -m 0777 -p "$VOL_DIR"\n',
                "teardown": 'set -eu\nrm -rf "$VOL_DIR"\n',
                "helperPod.yaml": HELPER_POD,
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "local-path-provisioner", **meta},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": account,
                        "securityContext": {"runAsNonRoot": True, "runAsUser": 65535},
                        "containers": [container],
                        "volumes": [{"name": "config", "configMap": {"name": "local-path-config"}}],
                    },
                },
            },
        },
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": "local-path",
                "labels": labels,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": "rancher.io/local-path",
            "volumeBindingMode": "WaitForFirstConsumer",
            "reclaimPolicy": "Delete",
        },
    ]
