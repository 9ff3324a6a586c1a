"""Certificates of the local platform stand-in: what Azure Storage's public chain gives AKS.

Why: the local cluster has no Azure Storage, so the pipeline issues, from a throwaway CA,
Azurite's HTTPS certificate, whose CA pgBackRest then trusts (`backup.local.storageCASecret`).
The CA key is never stored: the Secrets are made once and kept, and a new set (new CA) is
issued only when one is missing. (The pgBackRest TLS certificates come from cert-manager, on
the local target as on AKS.)
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from tools.localcluster import interface as harness


@dataclass(frozen=True)
class TlsFiles:
    """One certificate as a Kubernetes TLS Secret holds it: tls.crt, tls.key and ca.crt (PEM)."""

    certificate: bytes
    key: bytes
    ca: bytes

    def secret_files(self) -> dict[str, bytes]:
        """File name -> content, as `kubectl create secret --from-file` takes them."""
        return {"tls.crt": self.certificate, "tls.key": self.key, "ca.crt": self.ca}


def service_names(name: str, namespace: str) -> tuple[str, ...]:
    """The DNS names a Service (or a StatefulSet pod's headless name) answers to in-cluster."""
    return (
        name,
        f"{name}.{namespace}",
        f"{name}.{namespace}.svc",
        f"{name}.{namespace}.svc.{harness.CLUSTER_DOMAIN}",
    )


def issue_set(
    specs: dict[str, harness.CertSpec],
) -> tuple[bytes, dict[str, TlsFiles]]:
    """A fresh CA and one certificate per spec; returns the CA PEM and {secret name: files}."""
    with tempfile.TemporaryDirectory(prefix="local-platform-ca-") as directory:
        ca = harness.ensure_ca(Path(directory))
    ca_pem = ca[0].public_bytes(serialization.Encoding.PEM)
    issued = {}
    for secret, spec in specs.items():
        cert, key = harness.issue(spec, ca)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        issued[secret] = TlsFiles(cert.public_bytes(serialization.Encoding.PEM), key_pem, ca_pem)
    return ca_pem, issued
