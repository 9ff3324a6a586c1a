"""kube-state-metrics: object-state metrics (deployments, pods, jobs, ...) for Prometheus.

Only the collectors the monitoring needs are enabled, and the ClusterRole grants list/watch
on exactly those (no Secrets or ConfigMaps: their list responses carry the data). Restricted
pod, image FROM scratch, metrics on 8080 and its own telemetry on 8081 inside the cluster.
"""

from __future__ import annotations

from typing import Any

from tools.kube.security import RESTRICTED_CONTAINER, restricted_pod
from tools.kube.workload import deployment, labels, selector
from tools.localcluster.addons import PART_OF
from tools.localcluster.catalog import KUBE_STATE_METRICS_VERSION

IMAGE = f"localhost/inventory-platform/kube-state-metrics:{KUBE_STATE_METRICS_VERSION}"
NAMESPACE = "kube-system"
NAME = "kube-state-metrics"
METRICS_PORT = 8080
METRICS_PORT_NAME = "http-metrics"
TELEMETRY_PORT = 8081

# collector name (--resources) -> (API group, resource) its informer lists and watches
COLLECTORS: dict[str, tuple[str, str]] = {
    "cronjobs": ("batch", "cronjobs"),
    "daemonsets": ("apps", "daemonsets"),
    "deployments": ("apps", "deployments"),
    "horizontalpodautoscalers": ("autoscaling", "horizontalpodautoscalers"),
    "ingresses": ("networking.k8s.io", "ingresses"),
    "jobs": ("batch", "jobs"),
    "namespaces": ("", "namespaces"),
    "networkpolicies": ("networking.k8s.io", "networkpolicies"),
    "nodes": ("", "nodes"),
    "persistentvolumeclaims": ("", "persistentvolumeclaims"),
    "persistentvolumes": ("", "persistentvolumes"),
    "poddisruptionbudgets": ("policy", "poddisruptionbudgets"),
    "pods": ("", "pods"),
    "replicasets": ("apps", "replicasets"),
    "services": ("", "services"),
    "statefulsets": ("apps", "statefulsets"),
}

LABELS = labels(NAME, "exporter", version=KUBE_STATE_METRICS_VERSION, part_of=PART_OF)
SELECTOR = selector(NAME)


def rules() -> list[dict[str, Any]]:
    """list/watch on each enabled collector's resource, one rule per API group."""
    groups: dict[str, list[str]] = {}
    for group, resource in COLLECTORS.values():
        groups.setdefault(group, []).append(resource)
    return [
        {"apiGroups": [group], "resources": sorted(resources), "verbs": ["list", "watch"]}
        for group, resources in sorted(groups.items())
    ]


def _container() -> dict[str, Any]:
    return {
        "name": NAME,
        "image": IMAGE,
        "imagePullPolicy": "Never",
        "args": [
            f"--port={METRICS_PORT}",
            f"--telemetry-port={TELEMETRY_PORT}",
            f"--resources={','.join(sorted(COLLECTORS))}",
        ],
        "ports": [
            {"name": METRICS_PORT_NAME, "containerPort": METRICS_PORT, "protocol": "TCP"},
            {"name": "telemetry", "containerPort": TELEMETRY_PORT, "protocol": "TCP"},
        ],
        "livenessProbe": {
            "httpGet": {"path": "/livez", "port": METRICS_PORT_NAME},
            "initialDelaySeconds": 5,
        },
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "telemetry"}},
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": RESTRICTED_CONTAINER,
    }


def manifests() -> list[dict[str, Any]]:
    """ServiceAccount, read-only RBAC, Deployment and the metrics Service in kube-system."""
    meta = {"namespace": NAMESPACE, "labels": LABELS}
    role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME}
    pod = {
        "serviceAccountName": NAME,
        "securityContext": restricted_pod(65534),
        "containers": [_container()],
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": NAME, **meta}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": NAME, "labels": LABELS},
            "rules": rules(),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": NAME, "labels": LABELS},
            "roleRef": role_ref,
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
        },
        deployment(NAME, NAMESPACE, LABELS, SELECTOR, pod),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": NAME, **meta},
            "spec": {
                "type": "ClusterIP",
                "selector": SELECTOR,
                "ports": [
                    {
                        "name": METRICS_PORT_NAME,
                        "port": METRICS_PORT,
                        "targetPort": METRICS_PORT_NAME,
                    },
                    {"name": "telemetry", "port": TELEMETRY_PORT, "targetPort": "telemetry"},
                ],
            },
        },
    ]
