"""The local stand-in for the Azure platform, made before `deploy --target local` installs.

In Azure, Terraform provides what the umbrella chart expects to exist: Key Vault holds the
database password, a storage account holds the pgBackRest repository. The local cluster has
neither, so this module makes their local equivalents in the release's namespace, once, and
keeps them (the pgBackRest TLS certificates come from cert-manager on both targets: the deploy
stage installs it before the workloads):

- Secret `inventory-db-credentials` (key `password`): random, created once, never printed;
- Secret `inventory-backup-cipher-pass` (key `passphrase`): the pgBackRest repository
  passphrase (Key Vault's `pgbackrest-passphrase` in Azure), random, created once: a new one
  would make the existing repository unreadable;
- Azurite (built from images/azurite) as Deployment + Service `azurite`, HTTPS on 10000, its
  data on a PersistentVolumeClaim, and account `inventorylocal` with a random key (Secret
  `inventory-backup-storage-key`: `key` for pgBackRest, `accounts` for Azurite);
- the blob container `pgbackrest` (pgBackRest never creates its own), made from the pipeline's host;
- NetworkPolicy `azurite`: only the database pod and the backup/drill job pods may connect, and
  Azurite itself may connect nowhere. The host's own traffic (the container creation below,
  kubelet's probes) is not a pod and needs no rule: kube-router accepts traffic whose source is
  an address of the pod's own node (its "local node" rule), as policy engines commonly do;
- Azurite's HTTPS certificate from a throwaway CA, whose certificate is Secret
  `inventory-backup-storage-ca`, the CA pgBackRest trusts for the repository (see
  local_certificates).
- the token issuer the API trusts on this target (Entra ID's part on AKS): Secret
  `inventory-token-issuer-key` (its RSA key, created once and kept) and its published keys as
  ConfigMap, Deployment, Service and NetworkPolicy `inventory-token-issuer` (see local_issuer).

helm-charts/inventory-platform/values-local.yaml names the same objects; tests/pipeline holds
them equal. Secret material goes to kubectl through files in a private temporary directory and
is never logged; everything else applied is saved as reports/deploy/local-platform.json.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.core.stage import StageContext
from pipelines.targets import local_issuer
from pipelines.targets.blob_container import Endpoint, create_container
from pipelines.targets.cluster import NAMESPACE, RELEASE, Cluster, kubectl_binary, local_paths
from pipelines.targets.local_certificates import issue_set, service_names
from tools.containers.base import image_exists
from tools.containers.catalog import CATALOG
from tools.containers.containerd import is_imported
from tools.kube.kubectl import Kubectl
from tools.kube.security import restricted_container, restricted_pod
from tools.localcluster import interface as harness

# Names of Secrets, not their contents (the values are generated at deploy time).
DB_SECRET = "inventory-db-credentials"  # noqa: S105
STORAGE_KEY_SECRET = "inventory-backup-storage-key"  # noqa: S105
CIPHER_PASS_SECRET = "inventory-backup-cipher-pass"  # noqa: S105
STORAGE_CA_SECRET = "inventory-backup-storage-ca"  # noqa: S105
AZURITE = "azurite"
AZURITE_TLS_SECRET = "azurite-tls"  # noqa: S105
AZURITE_PORT = 10000
AZURITE_VERSION = "3.35.0"
ACCOUNT = "inventorylocal"
CONTAINER = "pgbackrest"
MANIFEST_FILE = "local-platform.json"
TIMEOUT = 300.0
CERTIFICATE_SECRETS = (AZURITE_TLS_SECRET, STORAGE_CA_SECRET)
LABELS = {
    "app.kubernetes.io/name": AZURITE,
    "app.kubernetes.io/instance": AZURITE,
    "app.kubernetes.io/component": "backup-storage",
    "app.kubernetes.io/part-of": "inventory-platform",
    "app.kubernetes.io/managed-by": "inventory-pipeline",
    "app.kubernetes.io/version": AZURITE_VERSION,
}
AZURITE_USER = 10001
"""The uid and gid the Azurite image runs as (images/azurite)."""


def azurite_image_tag(context: Path = CATALOG[AZURITE].context) -> str:
    """`<azurite version>-<digest of the build context>`: a changed recipe gets a new tag."""
    digest = hashlib.sha256()
    for name in ("Dockerfile", "package.json", "package-lock.json"):
        digest.update(name.encode() + b"\0" + (context / name).read_bytes())
    return f"{AZURITE_VERSION}-{digest.hexdigest()[:12]}"


def certificate_specs() -> dict[str, harness.CertSpec]:
    """The certificates the stand-in issues, by the Secret that holds each."""
    return {
        AZURITE_TLS_SECRET: harness.CertSpec(
            AZURITE, AZURITE, server=True, dns_names=service_names(AZURITE, NAMESPACE)
        ),
    }


# The pods that talk to the backup repository (labels set by the postgresql chart).
STORAGE_CLIENTS = {
    "matchLabels": {"app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": RELEASE},
    "matchExpressions": [
        {
            "key": "app.kubernetes.io/component",
            "operator": "In",
            "values": ["database", "backup", "restore-drill"],
        }
    ],
}


def azurite_network_policy(selector: dict[str, str]) -> dict[str, Any]:
    """Ingress only from the storage clients on the blob port; no egress at all."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": AZURITE, "namespace": NAMESPACE, "labels": LABELS},
        "spec": {
            "podSelector": {"matchLabels": selector},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [{"podSelector": STORAGE_CLIENTS}],
                    "ports": [{"port": AZURITE_PORT, "protocol": "TCP"}],
                }
            ],
            "egress": [],
        },
    }


def azurite_manifests(image: str) -> list[dict[str, Any]]:
    """PVC, NetworkPolicy, Deployment and Service of Azurite (blob only, HTTPS), in the
    release's namespace (the deploy stage makes it before this stand-in)."""
    meta = {"namespace": NAMESPACE, "labels": LABELS}
    selector = {"app.kubernetes.io/name": AZURITE, "app.kubernetes.io/instance": AZURITE}
    tls = "/etc/azurite/tls"
    container = {
        "name": AZURITE,
        "image": image,
        "imagePullPolicy": "Never",
        "args": [
            # Every pod interface: the Service forwards to the pod IP.
            *["--blobHost", "0.0.0.0", "--blobPort", str(AZURITE_PORT)],  # noqa: S104
            *["--location", "/data"],
            *["--cert", f"{tls}/tls.crt", "--key", f"{tls}/tls.key"],
            *["--disableTelemetry", "--skipApiVersionCheck"],
            # The account is in the path (uriStyle path), not the first label of the host name.
            "--disableProductStyleUrl",
        ],
        "env": [
            {
                "name": "AZURITE_ACCOUNTS",
                "valueFrom": {"secretKeyRef": {"name": STORAGE_KEY_SECRET, "key": "accounts"}},
            }
        ],
        "ports": [{"name": "blob", "containerPort": AZURITE_PORT, "protocol": "TCP"}],
        "readinessProbe": {"tcpSocket": {"port": "blob"}, "periodSeconds": 5},
        "livenessProbe": {"tcpSocket": {"port": "blob"}, "periodSeconds": 20},
        "resources": {
            "requests": {"cpu": "50m", "memory": "96Mi"},
            "limits": {"cpu": "500m", "memory": "384Mi"},
        },
        "securityContext": restricted_container(AZURITE_USER),
        "volumeMounts": [
            {"name": "data", "mountPath": "/data"},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - the pod's own emptyDir
            {"name": "tls", "mountPath": tls, "readOnly": True},
        ],
    }
    pod = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": restricted_pod(AZURITE_USER, fs_group=True),
        "containers": [container],
        "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": f"{AZURITE}-data"}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
            {"name": "tls", "secret": {"secretName": AZURITE_TLS_SECRET, "defaultMode": 0o440}},
        ],
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": f"{AZURITE}-data", **meta},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "local-path",
                "resources": {"requests": {"storage": "2Gi"}},
            },
        },
        azurite_network_policy(selector),
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": AZURITE, **meta},
            "spec": {
                "replicas": 1,
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": selector},
                "template": {"metadata": {"labels": LABELS}, "spec": pod},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": AZURITE, **meta},
            "spec": {
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "blob", "port": AZURITE_PORT, "targetPort": "blob"}],
            },
        },
    ]


@dataclass(frozen=True)
class NamespaceSteps:
    """kubectl in the release's namespace, each call a logged step of the stage."""

    ctx: StageContext
    kubectl: Kubectl

    def run(self, name: str, *args: str) -> list[str]:
        """One logged kubectl step; returns its output tail."""
        argv = self.kubectl.argv(*args)
        return list(self.ctx.run(name, argv, timeout=TIMEOUT, env=self.kubectl.env).tail)

    def exists(self, kind: str, name: str) -> bool:
        """True when the object exists (a read of its name only)."""
        tail = self.run(f"get {kind} {name}", "get", kind, name, "--ignore-not-found", "-o", "name")
        return any(line.strip() for line in tail)

    def apply(self, manifests: list[dict[str, Any]]) -> None:
        """Server-side apply of non-secret objects, saved in the stage's reports."""
        path = self.ctx.write_json(
            MANIFEST_FILE, {"apiVersion": "v1", "kind": "List", "items": manifests}
        )
        self.run(
            "apply local platform",
            "apply", "--server-side", "--field-manager=inventory-pipeline", "-f", str(path),
        )  # fmt: skip

    def create_secret(self, name: str, files: dict[str, bytes], kind: str = "Opaque") -> None:
        """(Re)create Secret `name` from in-memory files; only their paths reach the log."""
        with tempfile.TemporaryDirectory(prefix="local-platform-") as directory:
            sources = []
            for key, content in files.items():
                path = Path(directory) / key
                path.touch(mode=0o600)
                path.write_bytes(content)
                sources.append(f"--from-file={key}={path}")
            self.run(f"delete secret {name}", "delete", "secret", name, "--ignore-not-found")
            self.run(
                f"create secret {name}",
                *["create", "secret", "generic", name, f"--type={kind}", *sources],
            )
            self.run(
                f"label secret {name}",
                *["label", "secret", name, "app.kubernetes.io/managed-by=inventory-pipeline"],
            )

    def secret_value(self, name: str, key: str) -> bytes:
        """One Secret value, read outside the step log (it may be a credential)."""
        result = self.kubectl.run("get", "secret", name, "-o", "json", check=False, timeout=120)
        if result.returncode != 0:
            self.ctx.fail(f"cannot read Secret {NAMESPACE}/{name}: {result.stderr.strip()}")
        data = json.loads(result.stdout).get("data", {})
        if key not in data:
            self.ctx.fail(f"Secret {NAMESPACE}/{name} has no key {key!r}")
        return base64.b64decode(data[key])


def namespace_steps(ctx: StageContext, cluster: Cluster) -> NamespaceSteps:
    """kubectl for the local cluster, in the release's namespace."""
    env = ctx.tool_env(cluster.env())
    return NamespaceSteps(ctx, Kubectl(kubectl_binary(ctx, env), namespace=NAMESPACE, env=env))


def prepare(ctx: StageContext, cluster: Cluster, api_image: str) -> None:
    """Make (or keep) every stand-in object; idempotent, so every local deploy runs it.
    `api_image` (the release's API image, pinned by its published digest) also serves the
    token issuer's keys."""
    kubectl = namespace_steps(ctx, cluster)
    manifests = azurite_manifests(_azurite_image(ctx))
    _ensure_secrets(ctx, kubectl)  # the namespace exists: the deploy stage made it first
    signing_key = kubectl.secret_value(local_issuer.KEY_SECRET, local_issuer.KEY_FILE)
    kubectl.apply([*manifests, *local_issuer.manifests(api_image, signing_key)])
    for deployment in (AZURITE, local_issuer.NAME):
        kubectl.run(
            f"rollout {deployment}",
            *["rollout", "status", f"deployment/{deployment}", f"--timeout={int(TIMEOUT)}s"],
        )
    _ensure_container(ctx, kubectl)


def signing_key(ctx: StageContext, cluster: Cluster) -> bytes:
    """The local token issuer's private key (PEM), read from its Secret, never logged."""
    return namespace_steps(ctx, cluster).secret_value(
        local_issuer.KEY_SECRET, local_issuer.KEY_FILE
    )


def _azurite_image(ctx: StageContext) -> str:
    """Azurite's image in the cluster's containerd."""
    reference = local_image(ctx, AZURITE, azurite_image_tag())
    ctx.note(f"azurite: {reference}")
    return reference


def local_image(ctx: StageContext, name: str, tag: str) -> str:
    """Catalog image `name`:`tag` in the cluster's containerd: built and imported only when
    missing (stand-ins are not release images, so the build stage does not make them)."""
    reference = CATALOG[name].reference(tag)
    if not image_exists(reference):
        ctx.run(
            f"build {name}",
            [ctx.python, "-m", "tools.containers", "build", name, "--tag", tag],
            timeout=30 * 60.0,
        )
    if not is_imported(local_paths().containerd_socket, reference):
        ctx.run(
            f"import {name}",
            [ctx.python, "-m", "tools.localcluster", "import", reference],
            timeout=TIMEOUT,
        )
    return reference


def _ensure_secrets(ctx: StageContext, kubectl: NamespaceSteps) -> None:
    """The password, passphrase, storage key, signing key and certificate Secrets: created when
    missing, else kept."""
    if not kubectl.exists("secret", DB_SECRET):
        password = secrets.token_urlsafe(32).encode()
        kubectl.create_secret(DB_SECRET, {"password": password})
        ctx.note(f"created Secret {DB_SECRET} (random password)")
    if not kubectl.exists("secret", CIPHER_PASS_SECRET):
        passphrase = secrets.token_urlsafe(48).encode()
        kubectl.create_secret(CIPHER_PASS_SECRET, {"passphrase": passphrase})
        ctx.note(f"created Secret {CIPHER_PASS_SECRET} (random repository passphrase)")
    if not kubectl.exists("secret", STORAGE_KEY_SECRET):
        key = base64.b64encode(secrets.token_bytes(64))
        accounts = f"{ACCOUNT}:".encode() + key
        kubectl.create_secret(STORAGE_KEY_SECRET, {"key": key, "accounts": accounts})
        ctx.note(f"created Secret {STORAGE_KEY_SECRET} (random key of account {ACCOUNT})")
    if not kubectl.exists("secret", local_issuer.KEY_SECRET):
        key = local_issuer.new_signing_key()
        kubectl.create_secret(local_issuer.KEY_SECRET, {local_issuer.KEY_FILE: key})
        ctx.note(f"created Secret {local_issuer.KEY_SECRET} (new token signing key)")
    missing = [name for name in CERTIFICATE_SECRETS if not kubectl.exists("secret", name)]
    if missing:
        ca_pem, issued = issue_set(certificate_specs())
        for name, files in issued.items():
            kubectl.create_secret(name, files.secret_files(), kind="kubernetes.io/tls")
        kubectl.create_secret(STORAGE_CA_SECRET, {"ca.crt": ca_pem})
        ctx.note(f"issued a new local CA and certificates ({', '.join(missing)} were missing)")


def _ensure_container(ctx: StageContext, kubectl: NamespaceSteps) -> None:
    """The blob container, made through the Service's cluster IP (routable from the node)."""
    tail = kubectl.run(
        "azurite address", "get", "service", AZURITE, "-o", "jsonpath={.spec.clusterIP}"
    )
    address = next((line.strip() for line in reversed(tail) if line.strip()), "")
    if not address:
        ctx.fail(f"Service {NAMESPACE}/{AZURITE} has no cluster IP")
    ca = kubectl.secret_value(STORAGE_CA_SECRET, "ca.crt")
    key = kubectl.secret_value(STORAGE_KEY_SECRET, "key").decode()
    endpoint = Endpoint(address, AZURITE_PORT, f"{AZURITE}.{NAMESPACE}.svc", ca)
    deadline = time.monotonic() + 60
    while True:
        try:
            created = create_container(endpoint, ACCOUNT, key, CONTAINER)
            break
        except OSError as error:
            if time.monotonic() > deadline:
                ctx.fail(f"cannot create blob container {CONTAINER} in Azurite: {error}")
            time.sleep(2)
    ctx.note(f"blob container {CONTAINER}: {'created' if created else 'exists'}")
