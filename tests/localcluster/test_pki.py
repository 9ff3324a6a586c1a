"""The harness's PKI: identities the authorizers rely on, usages, SANs, and idempotence."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tools.localcluster import pki


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    pki.ensure_pki(directory, "node-a", "192.0.2.7", "10.96.0.1")
    return directory


def test_every_leaf_is_signed_by_the_ca(pki_dir: Path) -> None:
    ca = _load(pki_dir / "ca.crt")
    for spec in pki.cluster_specs("node-a", "192.0.2.7", "10.96.0.1"):
        cert = _load(pki_dir / f"{spec.name}.crt")
        cert.verify_directly_issued_by(ca)


def test_identities_match_what_the_authorizers_expect(pki_dir: Path) -> None:
    def subject(name: str, oid: x509.ObjectIdentifier) -> list[str]:
        cert = _load(pki_dir / f"{name}.crt")
        return [str(a.value) for a in cert.subject.get_attributes_for_oid(oid)]

    assert subject("admin", NameOID.ORGANIZATION_NAME) == ["system:masters"]
    assert subject("kubelet-client", NameOID.COMMON_NAME) == ["system:node:node-a"]
    assert subject("kubelet-client", NameOID.ORGANIZATION_NAME) == ["system:nodes"]
    assert subject("kube-proxy", NameOID.COMMON_NAME) == ["system:kube-proxy"]
    assert subject("scheduler", NameOID.COMMON_NAME) == ["system:kube-scheduler"]


def test_api_server_certificate_covers_service_node_and_loopback(pki_dir: Path) -> None:
    san = _load(pki_dir / "apiserver.crt").extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    ips = set(san.value.get_values_for_type(x509.IPAddress))
    assert {ipaddress.ip_address(a) for a in ("127.0.0.1", "192.0.2.7", "10.96.0.1")} <= ips
    assert "kubernetes.default.svc.cluster.local" in san.value.get_values_for_type(x509.DNSName)


def test_client_certificates_cannot_serve(pki_dir: Path) -> None:
    usages = _load(pki_dir / "admin.crt").extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert list(usages.value) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_keys_are_private_and_files_are_reused(pki_dir: Path) -> None:
    before = (pki_dir / "apiserver.crt").read_bytes()
    pki.ensure_pki(pki_dir, "node-a", "192.0.2.7", "10.96.0.1")
    assert (pki_dir / "apiserver.crt").read_bytes() == before
    for key in pki_dir.glob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key


def test_a_certificate_without_a_usage_is_refused(pki_dir: Path) -> None:
    ca = pki.ensure_ca(pki_dir)
    with pytest.raises(ValueError, match="server or client"):
        pki.issue(pki.CertSpec("useless", "nobody"), ca)


def test_the_proxy_client_is_signed_by_the_front_proxy_ca_only(pki_dir: Path) -> None:
    """Extension API servers trust request headers from the front-proxy CA's clients: a client
    certificate of the cluster CA (admin, kubelet) must not pass as the aggregator."""
    client = _load(pki_dir / f"{pki.FRONT_PROXY_CLIENT}.crt")
    client.verify_directly_issued_by(_load(pki_dir / f"{pki.FRONT_PROXY_CA_NAME}.crt"))
    with pytest.raises((ValueError, InvalidSignature)):
        client.verify_directly_issued_by(_load(pki_dir / "ca.crt"))
    with pytest.raises((ValueError, InvalidSignature)):
        _load(pki_dir / "admin.crt").verify_directly_issued_by(
            _load(pki_dir / f"{pki.FRONT_PROXY_CA_NAME}.crt")
        )
    names = client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert [a.value for a in names] == [pki.FRONT_PROXY_CLIENT]
    usages = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert list(usages.value) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_an_existing_pki_gains_the_front_proxy_files_and_keeps_the_rest(tmp_path: Path) -> None:
    ca = pki.ensure_ca(tmp_path)
    for spec in pki.cluster_specs("node-a", "192.0.2.7", "10.96.0.1"):
        pki.ensure_cert(tmp_path, spec, ca)
    before = (tmp_path / "apiserver.crt").read_bytes()
    pki.ensure_pki(tmp_path, "node-a", "192.0.2.7", "10.96.0.1")
    assert (tmp_path / "apiserver.crt").read_bytes() == before
    assert (tmp_path / f"{pki.FRONT_PROXY_CA_NAME}.crt").is_file()
    assert (tmp_path / f"{pki.FRONT_PROXY_CLIENT}.key").is_file()
