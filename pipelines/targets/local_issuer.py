"""The local target's token issuer: what Entra ID is to the API on AKS, on the local cluster.

Why: the API validates bearer tokens on every target, so the smoke suite proves through the
ingress that an anonymous write is refused and an authorised one succeeds. The local cluster has
no tenant, so the local platform keeps an RSA signing key of its own (Secret
`inventory-token-issuer-key`, made once and kept, like the database password), publishes its
public half as a JWKS document (ConfigMap `inventory-token-issuer-jwks`) behind Service
`inventory-token-issuer` in the release's namespace, and the smoke stage signs its token with
the same key. This module declares the issuer once: the chart values that make the API trust it
(`write_values_file`, a values file the deploy stage adds), the objects that serve its keys
(`manifests`) and the token (`mint_token`).

Why the API image serves the keys: it is already built and published for the release (the node
pulls it by the same digest) and holds Python's `http.server`, so a static JSON document needs
no image of its own (no build, nothing more to keep patched). It runs non-root with a read-only
root filesystem and serves only the ConfigMap, mounted read-only; a NetworkPolicy admits only
the API's serving pods and lets the server connect nowhere.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import jwt
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from inventory_api.auth.settings import AuthSettings
from jwt.algorithms import RSAAlgorithm

from pipelines.targets.cluster import NAMESPACE, RELEASE
from tools.kube.security import restricted_container, restricted_pod
from tools.kube.workload import deployment, labels, selector

NAME = "inventory-token-issuer"
KEY_SECRET = "inventory-token-issuer-key"  # noqa: S105 - the Secret's name, not its content
KEY_FILE = "key.pem"
JWKS_CONFIGMAP = "inventory-token-issuer-jwks"
JWKS_KEY = "jwks.json"
JWKS_PATH = "/discovery/v2.0/keys"
"""Where the keys are published: Entra ID's path, so the API fetches them as it does on AKS."""
PORT = 8080
"""The server's container port: the API's NetworkPolicy egress matches it (after the Service)."""
SERVICE_PORT = 80
ISSUER = f"http://{NAME}.{NAMESPACE}.svc:{SERVICE_PORT}"
"""The `iss` claim, and the Service's in-cluster base URL."""
JWKS_URL = f"{ISSUER}{JWKS_PATH}"
AUDIENCE = "api://inventory-api-local"
ALGORITHM = "RS256"
ROLES = (AuthSettings.read_role, AuthSettings.write_role)
"""Both of the API's roles (its defaults, which the chart's auth.roles hold equal)."""
TOKEN_LIFETIME_SECONDS = 3600
"""Long enough for the smoke suite with its backup and restore-drill jobs, no longer."""
API_IMAGE_USER = 10001
"""The uid and gid the API image runs as (application/Dockerfile)."""
VALUES_FILE = "local-issuer-values.yaml"
"""The generated values file, written into the deploy stage's report folder."""
MOUNT = "/srv/issuer"

SELECTOR = selector(NAME, instance=NAME)
LABELS = labels(
    NAME,
    "token-issuer",
    instance=NAME,
    part_of="inventory-platform",
    managed_by="inventory-pipeline",
)
API_PODS = {
    "app.kubernetes.io/name": "inventory-api",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/component": "api",
}
"""The API's serving pods (labels set by the inventory-api chart): the only clients."""


def new_signing_key() -> bytes:
    """A fresh RSA-2048 private key as unencrypted PKCS#8 PEM (what the Secret holds)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _private_key(key_pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"Secret {KEY_SECRET} key {KEY_FILE} must hold an RSA private key")
    return key


def public_jwk(key_pem: bytes) -> dict[str, Any]:
    """The public half as a JWK; its kid is the RFC 7638 thumbprint, so it follows the key."""
    full = json.loads(RSAAlgorithm.to_jwk(_private_key(key_pem).public_key()))
    required = {name: str(full[name]) for name in ("e", "kty", "n")}  # RFC 7638's members
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    return {**required, "kid": kid, "use": "sig", "alg": ALGORITHM}


def jwks_document(key_pem: bytes) -> str:
    """The published key set (one key)."""
    return json.dumps({"keys": [public_jwk(key_pem)]}, sort_keys=True)


def mint_token(key_pem: bytes, *, roles: tuple[str, ...] = ROLES, now: float | None = None) -> str:
    """A token the API on the local target accepts: this issuer and audience, `roles`, valid
    for TOKEN_LIFETIME_SECONDS from `now`, signed with the published key."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "inventory-smoke",
        "azp": "inventory-pipeline",
        "iat": issued,
        "nbf": issued,
        "exp": issued + TOKEN_LIFETIME_SECONDS,
        "roles": list(roles),
    }
    kid = public_jwk(key_pem)["kid"]
    return jwt.encode(claims, _private_key(key_pem), algorithm=ALGORITHM, headers={"kid": kid})


def chart_values() -> dict[str, Any]:
    """The umbrella chart's values that make the API trust this issuer, and only reach it."""
    return {
        "inventory-api": {
            "auth": {
                "issuer": ISSUER,
                "jwksUrl": JWKS_URL,
                "allowHttpJwks": True,  # in-cluster only; the NetworkPolicies bound who talks
                "audience": AUDIENCE,
                "keysEgress": {"port": PORT, "to": [{"podSelector": {"matchLabels": SELECTOR}}]},
            }
        }
    }


def write_values_file(path: Path) -> Path:
    """Write `chart_values` as YAML at `path`, under a do-not-edit header."""
    header = (
        "# Generated by the deploy stage from pipelines/targets/local_issuer.py; do not edit.\n"
    )
    body = yaml.safe_dump(chart_values(), sort_keys=True, default_flow_style=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + body, encoding="utf-8")
    return path


def network_policy() -> dict[str, Any]:
    """Ingress only from the API's serving pods on the server's port; no egress at all."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": LABELS},
        "spec": {
            "podSelector": {"matchLabels": SELECTOR},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": API_PODS}}],
                    "ports": [{"port": PORT, "protocol": "TCP"}],
                }
            ],
            "egress": [],
        },
    }


def _pod_spec(image: str) -> dict[str, Any]:
    probe = {"httpGet": {"path": JWKS_PATH, "port": "http"}, "periodSeconds": 10}
    container = {
        "name": "server",
        "image": image,
        "imagePullPolicy": "IfNotPresent",  # `image` names a digest: pulled once, never stale
        # tini (the image's init) forwards SIGTERM; the server only reads the mounted ConfigMap.
        "command": ["/usr/bin/tini", "--", "python", "-m", "http.server"],
        "args": [str(PORT), "--bind", "0.0.0.0", "--directory", MOUNT],  # noqa: S104 - pod IP
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "startupProbe": {**probe, "periodSeconds": 1, "failureThreshold": 30},
        "readinessProbe": probe,
        "livenessProbe": {**probe, "periodSeconds": 20},
        "resources": {
            "requests": {"cpu": "10m", "memory": "32Mi"},
            "limits": {"cpu": "100m", "memory": "64Mi"},
        },
        "securityContext": restricted_container(API_IMAGE_USER),
        "volumeMounts": [{"name": "jwks", "mountPath": MOUNT, "readOnly": True}],
    }
    item = {"key": JWKS_KEY, "path": JWKS_PATH.lstrip("/")}
    return {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": restricted_pod(API_IMAGE_USER),
        "containers": [container],
        "volumes": [
            {
                "name": "jwks",
                "configMap": {"name": JWKS_CONFIGMAP, "items": [item], "defaultMode": 0o444},
            }
        ],
    }


def manifests(image: str, key_pem: bytes) -> list[dict[str, Any]]:
    """ConfigMap (the JWKS of `key_pem`), NetworkPolicy, Deployment (serving it from `image`,
    the API's) and Service of the issuer."""
    meta = {"namespace": NAMESPACE, "labels": LABELS}
    jwks = jwks_document(key_pem)
    checksum = hashlib.sha256(jwks.encode()).hexdigest()
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": JWKS_CONFIGMAP, **meta},
            "data": {JWKS_KEY: jwks},
        },
        network_policy(),
        deployment(
            NAME,
            NAMESPACE,
            LABELS,
            SELECTOR,
            _pod_spec(image),
            # A new key set restarts the server at once instead of after the kubelet's sync period.
            pod_annotations={"inventory-platform/jwks-sha256": checksum},
        ),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": NAME, **meta},
            "spec": {
                "type": "ClusterIP",
                "selector": SELECTOR,
                "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http"}],
            },
        },
    ]
