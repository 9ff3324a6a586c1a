"""The cluster's certificates: one CA signs every serving and client certificate.

Identities follow the upstream conventions the authorizers expect (system:masters for the
admin, system:node:<name> in system:nodes for the kubelet, system:kube-* for the control
plane). The aggregation layer has a CA of its own, as upstream: the front-proxy CA signs only
the API server's proxy client, so an extension API server (metrics-server) trusts request
headers from that one identity and not from every client certificate the cluster CA signed.
Files are written once and reused, so a second `up` keeps trust intact; keys are 0600.
ECDSA P-256 keeps generation fast.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=365)
CA_NAME = "ca"
FRONT_PROXY_CA_NAME = "front-proxy-ca"
FRONT_PROXY_CLIENT = "front-proxy-client"  # the CN --requestheader-allowed-names admits
SERVICE_ACCOUNT_KEY = "service-account"

Key = ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class CertSpec:
    """One leaf certificate: file stem, subject, and what it may be used for."""

    name: str
    common_name: str
    organizations: tuple[str, ...] = ()
    server: bool = False
    client: bool = False
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = field(default_factory=tuple)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to a file only its owner can read (keys, passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _key_pem(key: Key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str, organizations: tuple[str, ...] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _load_key(path: Path) -> Key:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: expected an EC private key")
    return key


def ensure_ca(
    directory: Path,
    now: datetime.datetime | None = None,
    name: str = CA_NAME,
    common_name: str = "inventory-localcluster-ca",
) -> tuple[x509.Certificate, Key]:
    """A CA (the cluster's by default), created on first use."""
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    if cert_path.exists() and key_path.exists():
        return x509.load_pem_x509_certificate(cert_path.read_bytes()), _load_key(key_path)
    now = now or datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + 10 * VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(signs_certificates=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(key_path, _key_pem(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _key_usage(signs_certificates: bool) -> x509.KeyUsage:
    """Digital signatures for every certificate; certificate and CRL signing for the CA only."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def issue(
    spec: CertSpec,
    ca: tuple[x509.Certificate, Key],
    now: datetime.datetime | None = None,
) -> tuple[x509.Certificate, Key]:
    """A new leaf certificate for `spec`, signed by `ca`."""
    if not (spec.server or spec.client):
        raise ValueError(f"certificate {spec.name!r} must be for server or client use")
    ca_cert, ca_key = ca
    now = now or datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] if spec.server else []
    usages += [ExtendedKeyUsageOID.CLIENT_AUTH] if spec.client else []
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(spec.common_name, spec.organizations))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signs_certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in spec.dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in spec.ip_addresses]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def ensure_cert(directory: Path, spec: CertSpec, ca: tuple[x509.Certificate, Key]) -> Path:
    """`<name>.crt`/`<name>.key` in `directory`, issued when missing; returns the cert path."""
    cert_path, key_path = directory / f"{spec.name}.crt", directory / f"{spec.name}.key"
    if not (cert_path.exists() and key_path.exists()):
        cert, key = issue(spec, ca)
        write_private(key_path, _key_pem(key))
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path


def ensure_service_account_key(directory: Path) -> None:
    """The key pair the API server signs service-account tokens with."""
    key_path = directory / f"{SERVICE_ACCOUNT_KEY}.key"
    if key_path.exists():
        return
    key = ec.generate_private_key(ec.SECP256R1())
    write_private(key_path, _key_pem(key))
    (directory / f"{SERVICE_ACCOUNT_KEY}.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def cluster_specs(node_name: str, node_ip: str, service_ip: str) -> tuple[CertSpec, ...]:
    """Every certificate the cluster's components need."""
    api_names = (
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "localhost",
    )
    return (
        CertSpec(
            "etcd-server",
            "etcd",
            server=True,
            client=True,
            dns_names=("localhost",),
            ip_addresses=("127.0.0.1",),
        ),
        CertSpec("apiserver-etcd-client", "kube-apiserver-etcd-client", client=True),
        CertSpec(
            "apiserver",
            "kube-apiserver",
            server=True,
            dns_names=api_names,
            ip_addresses=("127.0.0.1", node_ip, service_ip),
        ),
        CertSpec(
            "apiserver-kubelet-client",
            "kube-apiserver-kubelet-client",
            organizations=("system:masters",),
            client=True,
        ),
        CertSpec("admin", "kubernetes-admin", organizations=("system:masters",), client=True),
        CertSpec("controller-manager", "system:kube-controller-manager", client=True),
        CertSpec("scheduler", "system:kube-scheduler", client=True),
        CertSpec("kube-proxy", "system:kube-proxy", client=True),
        # kube-router's firewall: a read-only ClusterRole (kuberouter.py), no group.
        CertSpec("kube-router", "system:kube-router", client=True),
        CertSpec(
            "kubelet-client",
            f"system:node:{node_name}",
            organizations=("system:nodes",),
            client=True,
        ),
        CertSpec(
            "kubelet-server",
            node_name,
            server=True,
            dns_names=(node_name, "localhost"),
            ip_addresses=("127.0.0.1", node_ip),
        ),
    )


def front_proxy_specs() -> tuple[CertSpec, ...]:
    """What the front-proxy CA signs: the API server's client towards extension API servers."""
    return (CertSpec(FRONT_PROXY_CLIENT, FRONT_PROXY_CLIENT, client=True),)


def ensure_front_proxy_ca(directory: Path) -> tuple[x509.Certificate, Key]:
    """The aggregation layer's CA (`--requestheader-client-ca-file`), created on first use."""
    return ensure_ca(
        directory, name=FRONT_PROXY_CA_NAME, common_name="inventory-localcluster-front-proxy-ca"
    )


def ensure_pki(directory: Path, node_name: str, node_ip: str, service_ip: str) -> None:
    """The whole PKI under `directory`; existing files are kept (idempotent), and files added
    since a cluster was first started (the front proxy's) are created on its next start."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = ensure_ca(directory)
    for spec in cluster_specs(node_name, node_ip, service_ip):
        ensure_cert(directory, spec, ca)
    front_proxy_ca = ensure_front_proxy_ca(directory)
    for spec in front_proxy_specs():
        ensure_cert(directory, spec, front_proxy_ca)
    ensure_service_account_key(directory)
