"""metrics-server: CPU and memory of pods and nodes as `metrics.k8s.io`, what a
HorizontalPodAutoscaler reads.

It is an extension API server behind the API server's aggregation layer (the front-proxy CA in
pki.py). TLS is verified both ways: the APIService carries the cluster CA that signed the
serving certificate in the Secret (no `insecureSkipTLSVerify`), and the kubelet's serving
certificate is verified with the cluster CA every pod gets in its service-account volume.
RBAC is upstream's least-privilege set. Restricted pod, image FROM scratch.
"""

from __future__ import annotations

import base64
from typing import Any

from tools.kube.security import RESTRICTED_CONTAINER, restricted_pod
from tools.kube.workload import deployment, labels, selector
from tools.localcluster.addons import PART_OF
from tools.localcluster.catalog import METRICS_SERVER_VERSION
from tools.localcluster.pki import CertSpec
from tools.localcluster.settings import CLUSTER_DOMAIN

IMAGE = f"localhost/inventory-platform/metrics-server:{METRICS_SERVER_VERSION}"
NAMESPACE = "kube-system"
NAME = "metrics-server"
PORT = 10250  # upstream's container port (the pod's own network namespace, not the kubelet's)
PORT_NAME = "https"
SERVICE_PORT = 443  # what the APIService names
GROUP = "metrics.k8s.io"
VERSION = "v1beta1"
API_SERVICE = f"{VERSION}.{GROUP}"
METRIC_RESOLUTION = "15s"
TLS_SECRET = f"{NAME}-tls"
TLS_DIR = "/etc/metrics-server/tls"
# the cluster CA (controller-manager --root-ca-file), which signed the kubelet's serving cert
KUBELET_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"

_SERVICE_HOST = f"{NAME}.{NAMESPACE}.svc"
# the name the aggregator verifies (<service>.<namespace>.svc), signed by the cluster CA
SERVING_CERT = CertSpec(
    NAME,
    _SERVICE_HOST,
    server=True,
    dns_names=(_SERVICE_HOST, f"{NAME}.{NAMESPACE}", f"{_SERVICE_HOST}.{CLUSTER_DOMAIN}"),
)

LABELS = labels(NAME, "metrics-api", version=METRICS_SERVER_VERSION, part_of=PART_OF)
SELECTOR = selector(NAME)

# what every authenticated reader of metrics.k8s.io gets through the view/edit/admin roles
AGGREGATED_READER = "system:aggregated-metrics-reader"
OWN_ROLE = f"system:{NAME}"
DELEGATOR_BINDING = f"{NAME}:system:auth-delegator"
AUTH_READER_BINDING = f"{NAME}-auth-reader"
AUTH_READER_ROLE = "extension-apiserver-authentication-reader"  # kube-system, built in


def args() -> list[str]:
    """The command line: our certificate, the kubelet verified by the cluster CA, 15 s."""
    return [
        f"--secure-port={PORT}",
        f"--tls-cert-file={TLS_DIR}/tls.crt",
        f"--tls-private-key-file={TLS_DIR}/tls.key",
        f"--kubelet-certificate-authority={KUBELET_CA}",
        "--kubelet-preferred-address-types=InternalIP",
        "--kubelet-use-node-status-port",
        f"--metric-resolution={METRIC_RESOLUTION}",
    ]


def _container() -> dict[str, Any]:
    probe = {"path": "/readyz", "port": PORT_NAME, "scheme": "HTTPS"}
    return {
        "name": NAME,
        "image": IMAGE,
        "imagePullPolicy": "Never",
        "args": args(),
        "ports": [{"name": PORT_NAME, "containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": probe, "periodSeconds": 10, "initialDelaySeconds": 10},
        "livenessProbe": {
            "httpGet": {**probe, "path": "/livez"},
            "periodSeconds": 10,
            "initialDelaySeconds": 20,
        },
        "resources": {"requests": {"cpu": "20m", "memory": "48Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": RESTRICTED_CONTAINER,
        "volumeMounts": [
            {"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 (a private emptyDir, the only writable path)
        ],
    }


def rules() -> list[dict[str, Any]]:
    """metrics-server's own ClusterRole: read pods and nodes, get nodes/metrics (the kubelet's
    resource metrics endpoint, authorised by the kubelet's webhook); nothing else."""
    return [
        {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]},
    ]


def _binding(kind: str, name: str, role_kind: str, role: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": LABELS}
    if kind == "RoleBinding":
        metadata["namespace"] = NAMESPACE
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
    }


def manifests(ca_pem: bytes, cert_pem: bytes, key_pem: bytes) -> list[dict[str, Any]]:
    """ServiceAccount, RBAC, serving Secret, Deployment, Service and the APIService.

    `ca_pem` is the cluster CA (the APIService's caBundle); `cert_pem`/`key_pem` are
    SERVING_CERT's, issued by it."""
    meta = {"namespace": NAMESPACE, "labels": LABELS}
    pod = {
        "serviceAccountName": NAME,
        "priorityClassName": "system-cluster-critical",
        "securityContext": restricted_pod(65534),
        "containers": [_container()],
        "volumes": [
            {"name": "tls", "secret": {"secretName": TLS_SECRET}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
        ],
    }
    surge_only = {"maxUnavailable": 0}  # the APIService keeps a serving pod through a rollout

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": NAME, **meta}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {
                "name": AGGREGATED_READER,
                "labels": {
                    **LABELS,
                    "rbac.authorization.k8s.io/aggregate-to-view": "true",
                    "rbac.authorization.k8s.io/aggregate-to-edit": "true",
                    "rbac.authorization.k8s.io/aggregate-to-admin": "true",
                },
            },
            "rules": [
                {
                    "apiGroups": [GROUP],
                    "resources": ["pods", "nodes"],
                    "verbs": ["get", "list", "watch"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": OWN_ROLE, "labels": LABELS},
            "rules": rules(),
        },
        _binding("ClusterRoleBinding", OWN_ROLE, "ClusterRole", OWN_ROLE),
        # delegated authentication and authorisation of the requests the aggregator forwards
        _binding("ClusterRoleBinding", DELEGATOR_BINDING, "ClusterRole", "system:auth-delegator"),
        # read the requestheader CA and allowed names from extension-apiserver-authentication
        _binding("RoleBinding", AUTH_READER_BINDING, "Role", AUTH_READER_ROLE),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": TLS_SECRET, **meta},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": b64(cert_pem), "tls.key": b64(key_pem)},
        },
        deployment(NAME, NAMESPACE, LABELS, SELECTOR, pod, strategy={"rollingUpdate": surge_only}),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": NAME, **meta},
            "spec": {
                "type": "ClusterIP",
                "selector": SELECTOR,
                "ports": [
                    {
                        "name": PORT_NAME,
                        "port": SERVICE_PORT,
                        "targetPort": PORT_NAME,
                        "protocol": "TCP",
                        "appProtocol": "https",
                    }
                ],
            },
        },
        {
            "apiVersion": "apiregistration.k8s.io/v1",
            "kind": "APIService",
            "metadata": {"name": API_SERVICE, "labels": LABELS},
            "spec": {
                "group": GROUP,
                "version": VERSION,
                "service": {"name": NAME, "namespace": NAMESPACE, "port": SERVICE_PORT},
                "caBundle": b64(ca_pem),
                "groupPriorityMinimum": 100,
                "versionPriority": 100,
            },
        },
    ]
