"""The local stand-in for the Azure platform: it makes exactly what values-local.yaml names.

The chart is rendered as `deploy --target local` installs it (release `inventory-platform`,
namespace `inventory`, values-local.yaml, after the platform releases: cert-manager.io/v1
served), so a renamed Secret, host or certificate name on either side fails here instead of on
the cluster. Every Secret the release uses is made by the stand-in or issued by cert-manager
from one of the release's own Certificates.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from pipelines.core import contract
from pipelines.targets import local_platform as lp
from pipelines.targets.cluster import NAMESPACE
from pipelines.targets.local_certificates import issue_set
from tests.pipeline.local_release import Manifest, one, pod_labels, render_local, selects
from tests.support.tools import REPO_ROOT

DB = contract.load().fullnames["postgresql"]
API = contract.load().fullnames["inventory-api"]


@pytest.fixture(scope="module")
def local_release(tmp_path_factory: pytest.TempPathFactory) -> list[Manifest]:
    """The umbrella rendered with the local values, as the deploy stage installs it."""
    return render_local(tmp_path_factory.mktemp("deploy"))


def _pod(workload: Manifest) -> Manifest:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["spec"])


def _env(container: Manifest) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def _secrets_used(docs: list[Manifest]) -> set[str]:
    """Every Secret a workload of the release mounts or reads."""
    names: set[str] = set()
    for doc in docs:
        if doc["kind"] not in ("Deployment", "StatefulSet", "CronJob", "Job"):
            continue
        pod = _pod(doc)
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                names.add(volume["secret"]["secretName"])
            for source in volume.get("projected", {}).get("sources", []):
                if "secret" in source:  # besides tokens, ConfigMaps and the downward API
                    names.add(source["secret"]["name"])
        for container in pod["containers"]:
            for item in container.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    names.add(ref["name"])
    return names


def _issued(docs: list[Manifest]) -> dict[str, Manifest]:
    """The release's cert-manager Certificates, by the Secret each is issued into."""
    return {d["spec"]["secretName"]: d for d in docs if d["kind"] == "Certificate"}


def test_every_secret_the_release_uses_is_made_or_issued(
    local_release: list[Manifest],
) -> None:
    made = {lp.DB_SECRET, lp.CIPHER_PASS_SECRET, lp.STORAGE_KEY_SECRET, *lp.CERTIFICATE_SECRETS}
    issued = set(_issued(local_release))
    # The release's own Secrets (Patroni's generated member passwords).
    rendered = {d["metadata"]["name"] for d in local_release if d["kind"] == "Secret"}
    assert not made & issued, "cert-manager and the stand-in would fight over a Secret"
    assert not made & rendered, "the release and the stand-in would fight over a Secret"
    assert _secrets_used(local_release) <= made | issued | rendered
    assert _secrets_used(local_release) >= {
        lp.DB_SECRET,
        lp.CIPHER_PASS_SECRET,
        lp.STORAGE_KEY_SECRET,
        lp.STORAGE_CA_SECRET,
    }
    tls = one(local_release, "StatefulSet", DB)
    assert {v["secret"]["secretName"] for v in _pod(tls)["volumes"] if "secret" in v} & issued, (
        "the database pod mounts a Secret cert-manager issues"
    )


def test_backups_point_at_the_in_cluster_azurite(local_release: list[Manifest]) -> None:
    backup = one(local_release, "CronJob", f"{DB}-backup-full")
    (container,) = _pod(backup)["containers"]
    env = _env(container)
    assert env["BACKUP_AZURE_ACCOUNT"] == lp.ACCOUNT
    assert env["BACKUP_AZURE_CONTAINER"] == lp.CONTAINER
    assert env["BACKUP_AZURE_URI_STYLE"] == "path"
    assert env["BACKUP_AZURE_STORAGE_HOST"] == f"{lp.AZURITE}.{NAMESPACE}.svc"
    assert env["BACKUP_AZURE_STORAGE_PORT"] == str(lp.AZURITE_PORT)
    assert env["BACKUP_AZURE_KEY_TYPE"] == "shared"
    assert "PGBACKREST_REPO1_AZURE_KEY" not in env, "the key is a file, not an env variable"


def test_certificates_name_the_hosts_pgbackrest_connects_to(
    local_release: list[Manifest],
) -> None:
    backup = one(local_release, "CronJob", f"{DB}-backup-full")
    env = _env(_pod(backup)["containers"][0])
    mounted = {v["name"]: v for v in _pod(backup)["volumes"]}
    certificates = _issued(local_release)
    hosts = env["BACKUP_PG_HOST"].split(",")  # every member under Patroni
    server = next(
        c for c in certificates.values() if set(hosts) <= set(c["spec"].get("dnsNames", []))
    )
    assert "server auth" in server["spec"]["usages"]
    client = next(
        c
        for c in certificates.values()
        if c["spec"].get("commonName") == env["BACKUP_TLS_CLIENT_CN"]
    )
    assert "client auth" in client["spec"]["usages"]
    assert client["spec"]["secretName"] in {
        v.get("secret", {}).get("secretName") for v in mounted.values()
    }
    azurite = lp.certificate_specs()[lp.AZURITE_TLS_SECRET]
    assert env["BACKUP_AZURE_STORAGE_HOST"] in azurite.dns_names


def test_ingress_is_served_by_the_harness_traefik(local_release: list[Manifest]) -> None:
    ingress = one(local_release, "Ingress", API)
    assert ingress["spec"]["ingressClassName"] == "traefik"
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == ["inventory.localtest"]
    policy = one(local_release, "NetworkPolicy", API)
    sources = policy["spec"]["ingress"][0]["from"]
    assert sources[0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "traefik"
    }


def test_database_policy_allows_dns_on_the_local_coredns_port(
    local_release: list[Manifest],
) -> None:
    for name in (DB, API):
        policy = one(local_release, "NetworkPolicy", name)
        dns = [
            rule
            for rule in policy["spec"]["egress"]
            if {"port": 53, "protocol": "UDP"} in rule["ports"]
        ]
        assert dns, name
        assert {"port": 1053, "protocol": "UDP"} in dns[0]["ports"], name


def test_issued_certificates_chain_to_one_ca_with_the_right_usages() -> None:
    ca_pem, issued = issue_set(lp.certificate_specs())
    ca = x509.load_pem_x509_certificate(ca_pem)
    usages = {}
    for name, files in issued.items():
        cert = x509.load_pem_x509_certificate(files.certificate)
        cert.verify_directly_issued_by(ca)
        assert files.ca == ca_pem
        assert b"PRIVATE KEY" in files.key
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        usages[name] = set(eku)
    assert usages == {lp.AZURITE_TLS_SECRET: {ExtendedKeyUsageOID.SERVER_AUTH}}


def test_azurite_runs_non_root_read_only_without_a_token() -> None:
    manifests = {m["kind"]: m for m in lp.azurite_manifests("localhost/inventory-azurite:t")}
    assert set(manifests) == {"PersistentVolumeClaim", "NetworkPolicy", "Deployment", "Service"}
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert container["imagePullPolicy"] == "Never"
    assert "--cert" in container["args"]
    assert "--disableProductStyleUrl" in container["args"]
    (secret_env,) = container["env"]
    assert secret_env["valueFrom"]["secretKeyRef"]["name"] == lp.STORAGE_KEY_SECRET
    service = manifests["Service"]["spec"]
    assert service["type"] == "ClusterIP"
    assert service["ports"][0]["port"] == lp.AZURITE_PORT


def test_azurite_image_tag_changes_with_the_recipe(tmp_path: Path) -> None:
    context = tmp_path / "azurite"
    shutil.copytree(REPO_ROOT / "images" / "azurite", context)
    before = lp.azurite_image_tag(context)
    assert before.startswith(f"{lp.AZURITE_VERSION}-")
    assert lp.azurite_image_tag(context) == before
    lock = context / "package-lock.json"
    lock.write_text(lock.read_text() + "\n")
    assert lp.azurite_image_tag(context) != before


def test_only_the_database_and_backup_jobs_may_reach_azurite(
    local_release: list[Manifest],
) -> None:
    manifests = lp.azurite_manifests("localhost/inventory-azurite:t")
    policy = one(manifests, "NetworkPolicy", lp.AZURITE)["spec"]
    deployment = one(manifests, "Deployment", lp.AZURITE)
    assert selects(policy["podSelector"], pod_labels(deployment))
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["egress"] == []  # Azurite connects nowhere
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"port": lp.AZURITE_PORT, "protocol": "TCP"}]
    (source,) = rule["from"]
    allowed = {
        doc["metadata"]["name"]
        for doc in local_release
        if doc["kind"] in ("Deployment", "StatefulSet", "CronJob")
        and selects(source["podSelector"], pod_labels(doc))
    }
    assert allowed == {
        DB,
        f"{DB}-backup-full",
        f"{DB}-backup-diff",
        f"{DB}-heartbeat",
        f"{DB}-restore-drill",
    }
