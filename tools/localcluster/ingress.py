"""The ingress controller add-on: Traefik, honouring standard networking.k8s.io/v1 Ingresses.

Only Ingresses naming the `traefik` IngressClass are served (the class is not the cluster
default: charts set `className` explicitly). The kubernetescrd provider is on too, so an
Ingress can name Traefik Middlewares (the per-client rate, concurrency and body-size limits the
inventory-api chart renders for this class, as it renders nginx annotations on AKS). Its
CustomResourceDefinitions are not vendored: they are read at install time from the pinned
Traefik module the build compiled (docs/content/reference/dynamic-configuration/
kubernetes-crd-definition-v1.yml in the module cache), so they always match the binary; the
provider watches every traefik.io kind, so all of them are installed, not only Middleware.

The web entry point reaches the host on the loopback address only, through the CNI portmap
plugin (hostPort + hostIP 127.0.0.1), so the cluster's ingress is reachable from the host and
from nothing else. Pod Security: the pod
meets every `restricted` control, but the namespace cannot *enforce* a level, because even
`baseline` rejects any hostPort; it warns and audits at `restricted` instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

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
    # Middlewares (and the other traefik.io kinds), each used only from its own namespace.
    "--providers.kubernetescrd=true",
    "--providers.kubernetescrd.allowCrossNamespace=false",
    "--global.checkNewVersion=false",  # no phoning home, online or offline
    "--global.sendAnonymousUsage=false",
    "--log.level=INFO",
    "--log.noColor=true",
)

CRD_FILE = "docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml"
"""The traefik.io CustomResourceDefinitions, inside the Traefik module's source."""
CRD_GROUP = "traefik.io"
CRD_API = f"{CRD_GROUP}/v1alpha1"
"""The API version the CRDs serve (what charts check with .Capabilities.APIVersions)."""
CRD_RESOURCES = (
    "ingressroutes",
    "ingressroutetcps",
    "ingressrouteudps",
    "middlewares",
    "middlewaretcps",
    "serverstransports",
    "serverstransporttcps",
    "tlsoptions",
    "tlsstores",
    "traefikservices",
)
"""What the kubernetescrd provider watches (pkg/provider/kubernetes/crd/client.go): it waits for
every one of these informers, so each CRD must exist and be readable."""

# What the providers watch (pkg/provider/kubernetes/{ingress,crd}/client.go): Secrets for TLS,
# ConfigMaps (CRD provider), Nodes and IngressClasses cluster-wide, the traefik.io kinds, and
# the Ingress status it writes; nothing else is written.
RULES: list[dict[str, Any]] = [
    {
        "apiGroups": [""],
        "resources": ["services", "secrets", "nodes", "configmaps"],
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
    {
        "apiGroups": [CRD_GROUP],
        "resources": list(CRD_RESOURCES),
        "verbs": ["get", "list", "watch"],
    },
]


class CrdSourceError(RuntimeError):
    """The Traefik module's source does not hold the CRDs this add-on needs."""


def crd_manifests(module_dir: Path) -> list[dict[str, Any]]:
    """The traefik.io CRDs from the Traefik module's source at `module_dir`, labelled as ours;
    CrdSourceError when the file is missing or lacks one the provider watches."""
    path = module_dir / CRD_FILE
    if not path.is_file():
        raise CrdSourceError(f"{path} is missing: is {module_dir} the Traefik v3 module source?")
    crds = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    found = {
        doc["spec"]["names"]["plural"]
        for doc in crds
        if doc.get("kind") == "CustomResourceDefinition"
        and f"{doc['spec']['group']}/{doc['spec']['versions'][0]['name']}" == CRD_API
    }
    missing = sorted(set(CRD_RESOURCES) - found)
    if missing or len(found) != len(crds):
        raise CrdSourceError(
            f"{path} must define exactly the {CRD_API} CRDs {', '.join(CRD_RESOURCES)}; "
            f"missing: {', '.join(missing) or 'none'}, found: {', '.join(sorted(found))}"
        )
    for doc in crds:
        doc["metadata"]["labels"] = {**doc["metadata"].get("labels", {}), **LABELS}
    return crds


def crd_names() -> list[str]:
    """`<plural>.<group>` of each CRD, as `kubectl wait crd/<name>` takes them."""
    return [f"{resource}.{CRD_GROUP}" for resource in CRD_RESOURCES]


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
        # The buffering middleware spills responses above 1 MiB to a temporary file.
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - its own emptyDir
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
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
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
