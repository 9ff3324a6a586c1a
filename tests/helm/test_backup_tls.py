"""cert-manager creates the pgBackRest TLS Secrets the database pod and backup jobs mount.

The chain is the standard bootstrap: selfSigned Issuer -> CA Certificate -> CA Issuer ->
server and client Certificates, on every target (the deploy stage installs cert-manager
before the workloads). Asked for without the cert-manager.io/v1 API, the render fails with what
to install.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helm.rendering import DB, ENVIRONMENTS, Manifest, Renderer, RenderError, pod_spec

SERVER_SECRET = "inventory-pgbackrest-tls"
CLIENT_SECRET = "inventory-pgbackrest-client-tls"
CLIENT_CN = "pgbackrest-client"
CERT_KINDS = {"Certificate", "Issuer"}


def tls_secret(workload: Manifest) -> str:
    """The Secret behind a workload's `pgbackrest-tls` volume."""
    (volume,) = [v for v in pod_spec(workload)["volumes"] if v["name"] == "pgbackrest-tls"]
    return str(volume["secret"]["secretName"])


def env_value(workload: Manifest, name: str) -> str:
    values = {
        e["name"]: e.get("value")
        for c in pod_spec(workload)["containers"]
        for e in c.get("env", [])
    }
    return str(values[name])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_certificates_create_the_secrets_the_pods_mount(renderer: Renderer, env: str) -> None:
    rendered = renderer.env_render(env)
    server = rendered.one("Certificate", f"{DB}-pgbackrest-server")
    client = rendered.one("Certificate", f"{DB}-pgbackrest-client")
    assert server["spec"]["secretName"] == SERVER_SECRET
    assert client["spec"]["secretName"] == CLIENT_SECRET
    assert tls_secret(rendered.one("StatefulSet", DB)) == SERVER_SECRET
    cronjobs = rendered.of_kind("CronJob")
    mounting = [
        c for c in cronjobs if any(v["name"] == "pgbackrest-tls" for v in pod_spec(c)["volumes"])
    ]
    # The restore drill reads the Azure repository directly; the backups go through the server.
    assert {c["metadata"]["name"] for c in mounting} == {f"{DB}-backup-full", f"{DB}-backup-diff"}
    assert {tls_secret(c) for c in mounting} == {CLIENT_SECRET}
    assert client["spec"]["commonName"] == CLIENT_CN
    assert env_value(rendered.one("StatefulSet", DB), "BACKUP_TLS_CLIENT_CN") == CLIENT_CN
    assert client["spec"]["usages"] == ["client auth", "digital signature", "key encipherment"]
    assert server["spec"]["usages"] == ["server auth", "digital signature", "key encipherment"]
    backup = next(c for c in cronjobs if c["metadata"]["name"] == f"{DB}-backup-full")
    # Every member runs a TLS server the backup may be sent to; pgBackRest checks each name.
    hosts = env_value(backup, "BACKUP_PG_HOST").split(",")
    assert len(hosts) == rendered.one("StatefulSet", DB)["spec"]["replicas"]
    assert set(hosts) <= set(server["spec"]["dnsNames"]), "pgBackRest checks the server name"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_issuer_chain_is_self_signed_ca_then_ca_issuer(renderer: Renderer, env: str) -> None:
    rendered = renderer.env_render(env)
    issuers = {i["metadata"]["name"]: i["spec"] for i in rendered.of_kind("Issuer")}
    certificates = {c["metadata"]["name"]: c["spec"] for c in rendered.of_kind("Certificate")}
    ca = certificates[f"{DB}-pgbackrest-ca"]
    assert ca["isCA"] is True
    assert issuers[ca["issuerRef"]["name"]] == {"selfSigned": {}}
    (ca_issuer,) = [name for name, spec in issuers.items() if "ca" in spec]
    assert issuers[ca_issuer]["ca"]["secretName"] == ca["secretName"]
    leaves = [spec for name, spec in certificates.items() if name != f"{DB}-pgbackrest-ca"]
    assert len(leaves) == 2
    assert all(
        leaf["issuerRef"] == {"group": "cert-manager.io", "kind": "Issuer", "name": ca_issuer}
        for leaf in leaves
    )
    assert all(not leaf.get("isCA") for leaf in leaves)


@pytest.mark.parametrize(
    ("crds", "extra", "created"),
    [
        (True, [], True),
        (False, ["backup.tlsServer.certManager.forceCreate=true"], True),
        (True, ["backup.tlsServer.certManager.enabled=false"], False),
        (False, ["backup.tlsServer.certManager.enabled=false"], False),  # Secrets supplied
        (True, ["backup.enabled=false"], False),
    ],
)
def test_certificates_are_gated_on_the_value_and_the_crds(
    renderer: Renderer, fixtures_dir: Path, crds: bool, extra: list[str], created: bool
) -> None:
    sets = ["backup.tlsServer.certManager.enabled=true", *extra]
    rendered = renderer.render(
        "postgresql",
        values=[fixtures_dir / "backup-enabled.yaml"],
        sets=sets,
        platform_apis=crds,
    )
    assert bool(CERT_KINDS & rendered.kinds()) is created


def test_certificates_without_cert_manager_fail_with_what_to_install(
    renderer: Renderer, fixtures_dir: Path
) -> None:
    """The database pod would wait forever for a Secret nobody issues: refuse instead."""
    with pytest.raises(RenderError) as refused:
        renderer.render(
            "postgresql",
            values=[fixtures_dir / "backup-enabled.yaml"],
            sets=["backup.tlsServer.certManager.enabled=true"],
        )
    assert "serves no cert-manager.io/v1 API; install cert-manager" in str(refused.value)
    assert "backup.tlsServer.certManager.enabled=false" in str(refused.value)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("backup.tlsServer.certManager.enabled=yes", "enabled"),
        ("backup.tlsServer.certManager.issuer=letsencrypt", "issuer"),
        ("backup.tlsServer.certManager.duration=90d", "duration"),
    ],
)
def test_schema_rejects_bad_cert_manager_values(
    renderer: Renderer, setting: str, expected: str
) -> None:
    message = renderer.render_error("postgresql", sets=[setting])
    assert "values don't meet the specifications of the schema" in message
    assert expected in message
