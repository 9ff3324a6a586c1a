"""The ingress controller add-on: Traefik, honouring standard networking.k8s.io/v1 Ingresses.

Only Ingresses naming the `traefik` IngressClass are served (the class is not the cluster
default: charts set `className` explicitly). The web entry point reaches the host on the
loopback address only, through the CNI portmap plugin (hostPort + hostIP 127.0.0.1), so the
cluster's ingress is reachable from the host and from nothing else. Pod Security: the pod
meets every `restricted` control, but the namespace cannot *enforce* a level, because even
`baseline` rejects any hostPort; it warns and audits at `restricted` instead.
"""

from __future__ import annotations

from typing import Any

from tools.kube.security import RESTRICTED_CONTAINER, restricted_pod
from tools.localcluster.catalog import TRAEFIK_VERSION

TRAEFIK_IMAGE = f"localhost/inventory-platform/traefik:{TRAEFIK_VERSION}"
NAMESPACE = "traefik"
INGRESS_CLASS = "traefik"
CONTROLLER = "traefik.io/ingress-controller"
HOST_IP = "127.0.0.1"
HOST_PORT = 8088  # only the loopback address is bound
WEB_PORT = 8000  # unprivileged ports inside the pod: no NET_BIND_SERVICE needed
ADMIN_PORT = 8080  # ping (probes) and Prometheus metrics; never exposed on the host
INGRESS_URL = f"http://{HOST_IP}:{HOST_PORT}"

LABELS = {
    "app.kubernetes.io/name": "traefik",
    "app.kubernetes.io/component": "ingress-controller",
    "app.kubernetes.io/version": TRAEFIK_VERSION,
    "app.kubernetes.io/part-of": "inventory-localcluster",
}
SELECTOR = {"app.kubernetes.io/name": "traefik"}

ARGS = (
    f"--entryPoints.web.address=:{WEB_PORT}",
    f"--entryPoints.traefik.address=:{ADMIN_PORT}",
    "--ping=true",
    "--ping.entryPoint=traefik",
    "--metrics.prometheus=true",
    "--metrics.prometheus.entryPoint=traefik",
    "--providers.kubernetesingress=true",
    f"--providers.kubernetesingress.ingressClass={INGRESS_CLASS}",
    # Ingress status shows where the host reaches it.
    f"--providers.kubernetesingress.ingressEndpoint.ip={HOST_IP}",
    "--global.checkNewVersion=false",  # no phoning home, online or offline
    "--global.sendAnonymousUsage=false",
    "--log.level=INFO",
    "--log.noColor=true",
)

# What the kubernetesingress provider watches (pkg/provider/kubernetes/ingress/client.go):
# Secrets for TLS Ingresses, Nodes and IngressClasses cluster-wide, and the status it writes.
RULES: list[dict[str, Any]] = [
    {
        "apiGroups": [""],
        "resources": ["services", "secrets", "nodes"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": ["discovery.k8s.io"],
        "resources": ["endpointslices"],
        "verbs": ["list", "watch"],
    },
    {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["ingresses", "ingressclasses"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["ingresses/status"],
        "verbs": ["update"],
    },
]


def _container() -> dict[str, Any]:
    probe = {"httpGet": {"path": "/ping", "port": "admin"}, "periodSeconds": 5}
    return {
        "name": "traefik",
        "image": TRAEFIK_IMAGE,
        "imagePullPolicy": "Never",
        "args": list(ARGS),
        "ports": [
            {
                "name": "web",
                "containerPort": WEB_PORT,
                "hostIP": HOST_IP,
                "hostPort": HOST_PORT,
                "protocol": "TCP",
            },
            {"name": "admin", "containerPort": ADMIN_PORT, "protocol": "TCP"},
        ],
        "readinessProbe": probe,
        "livenessProbe": {**probe, "initialDelaySeconds": 10},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": RESTRICTED_CONTAINER,
    }


def manifests() -> list[dict[str, Any]]:
    """Namespace, ServiceAccount, RBAC, IngressClass, Deployment and the admin Service."""
    meta = {"namespace": NAMESPACE, "labels": LABELS}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "traefik", **meta},
        "spec": {
            "replicas": 1,
            # A hostPort is held by one pod at a time: replace, do not surge.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": SELECTOR},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "serviceAccountName": "traefik",
                    "securityContext": restricted_pod(65535),
                    "containers": [_container()],
                },
            },
        },
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": NAMESPACE,
                "labels": {
                    **LABELS,
                    # baseline and restricted both forbid hostPort: see the module docstring
                    "pod-security.kubernetes.io/enforce": "privileged",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                },
            },
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "traefik", **meta}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "traefik-ingress-controller", "labels": LABELS},
            "rules": RULES,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "traefik-ingress-controller", "labels": LABELS},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "traefik-ingress-controller",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "traefik", "namespace": NAMESPACE}],
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": INGRESS_CLASS, "labels": LABELS},  # not the default class
            "spec": {"controller": CONTROLLER},
        },
        deployment,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "traefik-admin", **meta},
            "spec": {
                "type": "ClusterIP",
                "selector": SELECTOR,
                "ports": [{"name": "admin", "port": ADMIN_PORT, "targetPort": "admin"}],
            },
        },
    ]
