"""The image builder's pure parts: catalog, build arguments, mirror discovery, podman config."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tools.containers.base import debian_mirror
from tools.containers.build import build_args
from tools.containers.catalog import CATALOG
from tools.containers.podman import write_config


def test_catalog_names_match_the_contract_and_the_chart_repositories() -> None:
    assert set(CATALOG) == {
        *("api", "postgresql", "postgres-exporter", "azurite", "pgbouncer", "prometheus")
    }
    assert CATALOG["api"].reference("abc") == "localhost/inventory-api:abc"
    assert CATALOG["postgresql"].repository == "inventory-postgresql"
    assert CATALOG["postgres-exporter"].repository == "inventory-postgres-exporter"
    assert CATALOG["azurite"].repository == "inventory-azurite"
    assert CATALOG["prometheus"].repository == "inventory-prometheus"


def test_build_args_pass_the_base_the_ca_secret_and_oci_labels() -> None:
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    args = build_args("api", "t1", "localhost/base:x", created)
    assert args[0] == "build"
    assert "--pull=never" in args
    assert args[args.index("--build-arg") + 1] == "BASE_IMAGE=localhost/base:x"
    assert args[args.index("--tag") + 1] == "localhost/inventory-api:t1"
    assert "id=ca,src=/etc/ssl/certs/ca-certificates.crt" in args
    labels = {
        args[i + 1].split("=", 1)[0]: args[i + 1].split("=", 1)[1]
        for i, a in enumerate(args)
        if a == "--label"
    }
    assert labels["org.opencontainers.image.created"] == "2026-01-02T03:04:05Z"
    assert labels["org.opencontainers.image.source"] == (
        "https://github.com/example-org/inventory-platform"
    )
    assert len(labels["org.opencontainers.image.revision"]) == 40
    assert args[-1].endswith("/application")


def test_unknown_image_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown image 'apj'; choose one of api, postgresql"):
        build_args("apj", "t", "b")


def test_mirror_comes_from_the_hosts_deb822_sources(tmp_path: Path) -> None:
    sources = tmp_path / "debian.sources"
    sources.write_text(
        "Types: deb\n# comment\nURIs: http://mirror.example/debian\nSuites: bookworm\n"
    )
    assert debian_mirror(sources) == "http://mirror.example/debian"
    sources.write_text("Types: deb\n")
    with pytest.raises(RuntimeError, match="no 'URIs:' line"):
        debian_mirror(sources)


def test_podman_config_carries_the_host_workarounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVENTORY_TOOL_CACHE", str(tmp_path))
    env = write_config()
    containers = Path(env["CONTAINERS_CONF"]).read_text()
    assert 'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]' in containers
    assert 'cgroup_manager = "cgroupfs"' in containers
    storage = Path(env["CONTAINERS_STORAGE_CONF"]).read_text()
    assert f'graphroot = "{tmp_path}/containers/storage"' in storage
