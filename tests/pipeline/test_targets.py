"""How deploy stages find their cluster, address and image values on each target."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pipelines.core.stage import Options, StageBlocked, StageContext, StageFailed
from pipelines.stages import STAGES
from pipelines.stages.deploy import image_values
from pipelines.stages.publish import read_digest
from pipelines.targets.cluster import find_cluster, ingress_url
from pipelines.targets.registry_login import local_registry
from tools.localcluster.interface import REGISTRY_SERVER, Paths

SMOKE = next(stage for stage in STAGES if stage.name == "smoke")


def context(root: Path, target: str, env: str | None = None) -> StageContext:
    """A smoke-stage context over `root`, printing nothing."""
    options = Options(root=root, reports=root / "reports", target=target, env=env)
    return StageContext(SMOKE, options, echo=lambda _line: None)


def test_local_images_name_the_clusters_registry_and_their_digest() -> None:
    digest = "sha256:" + "cd" * 32
    reference = f"{REGISTRY_SERVER}/inventory-api:0123abcd-dirty"
    assert image_values({"api": reference}, {"api": digest}) == [
        "--set-string",
        f"inventory-api.image.registry={REGISTRY_SERVER}",
        "--set-string",
        "inventory-api.image.repository=inventory-api",
        "--set-string",
        "inventory-api.image.tag=0123abcd-dirty",
        "--set-string",
        f"inventory-api.image.digest={digest}",
    ]


def test_registry_images_split_host_repository_and_tag() -> None:
    values = image_values({"postgres-exporter": "crinventoryprodweu.azurecr.io/db/exporter:0a1b"})
    assert values[1::2] == [
        "postgresql.exporter.image.registry=crinventoryprodweu.azurecr.io",
        "postgresql.exporter.image.repository=db/exporter",
        "postgresql.exporter.image.tag=0a1b",
    ]


def test_azure_smoke_address_is_the_environments_ingress_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INGRESS_URL", raising=False)
    chart = tmp_path / "helm-charts" / "inventory-platform"
    chart.mkdir(parents=True)
    (chart / "values-staging.yaml").write_text(
        "inventory-api:\n  ingress:\n    hosts:\n      - host: inventory.staging.example.org\n"
    )
    assert (
        ingress_url(context(tmp_path, "azure", "staging"))
        == "https://inventory.staging.example.org"
    )


def test_an_explicit_ingress_url_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGRESS_URL", "http://127.0.0.1:18080")
    assert ingress_url(context(tmp_path, "local")) == "http://127.0.0.1:18080"


def test_local_target_without_the_harness_blocks_with_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INGRESS_URL", raising=False)
    monkeypatch.setenv("INVENTORY_CLUSTER_STATE", str(tmp_path / "no-cluster"))
    with pytest.raises(StageBlocked, match=r"let `make cluster-up` write .*/ingress-url"):
        ingress_url(context(tmp_path, "local"))


def test_local_target_reads_the_address_the_harness_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INGRESS_URL", raising=False)
    monkeypatch.setenv("INVENTORY_CLUSTER_STATE", str(tmp_path))
    (tmp_path / "ingress-url").write_text("http://127.0.0.1:30080\n")
    assert ingress_url(context(tmp_path, "local")) == "http://127.0.0.1:30080"


def test_local_registry_is_the_harness_one_and_blocks_until_it_has_an_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVENTORY_CLUSTER_STATE", str(tmp_path))
    with pytest.raises(StageBlocked, match=r"registry/auth\.json, .*registry/certs/ca\.crt"):
        local_registry(context(tmp_path, "local"))
    paths = Paths(tmp_path)
    paths.registry_cert_dir.mkdir(parents=True)
    (paths.registry_cert_dir / "ca.crt").write_text("CA\n")
    with pytest.raises(StageBlocked, match=r"registry/auth\.json missing; run `make cluster-up`"):
        local_registry(context(tmp_path, "local"))
    paths.registry_auth_file.write_text("{}\n")
    found = local_registry(context(tmp_path, "local"))
    assert (found.server, found.auth_file, found.cert_dir) == (
        REGISTRY_SERVER,
        paths.registry_auth_file,
        paths.registry_cert_dir,
    )
    assert found.podman_options() == [
        *["--authfile", str(paths.registry_auth_file)],
        *["--cert-dir", str(paths.registry_cert_dir)],
    ]
    assert found.helm_options() == [
        *["--registry-config", str(paths.registry_auth_file)],
        *["--ca-file", str(paths.registry_cert_dir / "ca.crt")],
    ]


def test_azure_images_are_pinned_by_the_pushed_digest() -> None:
    digest = "sha256:" + "ab" * 32
    values = image_values({"api": "cr.azurecr.io/inventory-api:0a1b"}, {"api": digest})
    assert values[-2:] == ["--set-string", f"inventory-api.image.digest={digest}"]
    assert "digest" not in " ".join(image_values({"api": "localhost/inventory-api:0a1b"}))


def test_a_digest_file_that_is_not_a_digest_fails_the_publish(tmp_path: Path) -> None:
    ctx = context(tmp_path, "azure", "dev")
    assert read_digest(ctx, "api", "sha256:" + "0" * 64 + "\n") == "sha256:" + "0" * 64
    with pytest.raises(StageFailed, match=r"push api: podman --digestfile wrote 'latest'"):
        read_digest(ctx, "api", "latest")


KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:%d"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
users: [{name: u, user: {}}]
"""


def test_a_local_kubeconfig_whose_server_is_down_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kubeconfig = tmp_path / "admin.kubeconfig"
    kubeconfig.write_text(KUBECONFIG % port)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    with pytest.raises(StageBlocked, match=rf"no local cluster answers at 127.0.0.1:{port} "):
        find_cluster(context(tmp_path, "local"))
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        kubeconfig.write_text(KUBECONFIG % server.getsockname()[1])
        assert find_cluster(context(tmp_path, "local")).kubeconfig == kubeconfig
