"""Traefik's CRDs come from the pinned module the build compiles: all the kinds its kubernetescrd
provider waits for, served at the API version the charts check, readable under the add-on's
RBAC; a source without them is refused with a message naming what is missing."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.localcluster import ingress
from tools.localcluster.catalog import TRAEFIK
from tools.toolchain.gobuild import module_source
from tools.toolchain.paths import Layout


@pytest.fixture(scope="module")
def source() -> Path:
    """The Traefik module's source in the Go module cache (downloaded once if missing)."""
    return module_source(TRAEFIK.module, TRAEFIK.module_version, Layout.default())


@pytest.fixture(scope="module")
def crds(source: Path) -> list[dict[str, Any]]:
    return ingress.crd_manifests(source)


def test_every_kind_the_provider_watches_is_defined_at_the_charts_api_version(
    crds: list[dict[str, Any]],
) -> None:
    names = {crd["metadata"]["name"] for crd in crds}
    assert names == set(ingress.crd_names())
    for crd in crds:
        served = [v["name"] for v in crd["spec"]["versions"] if v["served"]]
        assert f"{crd['spec']['group']}/{served[0]}" == ingress.CRD_API
        assert crd["metadata"]["labels"]["app.kubernetes.io/version"] == TRAEFIK.version


def test_the_rbac_reads_every_installed_kind(crds: list[dict[str, Any]]) -> None:
    rules = next(d for d in ingress.manifests() if d["kind"] == "ClusterRole")["rules"]
    readable = {
        (group, resource)
        for rule in rules
        if {"list", "watch"} <= set(rule["verbs"])
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    for crd in crds:
        assert (crd["spec"]["group"], crd["spec"]["names"]["plural"]) in readable


def _copy_without(source: Path, tmp_path: Path, plural: str) -> Path:
    """A module source whose CRD file lacks the CRD of `plural`."""
    target = tmp_path / ingress.CRD_FILE
    target.parent.mkdir(parents=True)
    documents = yaml.safe_load_all((source / ingress.CRD_FILE).read_text(encoding="utf-8"))
    kept = [d for d in documents if d and d["spec"]["names"]["plural"] != plural]
    target.write_text(yaml.safe_dump_all(kept), encoding="utf-8")
    return tmp_path


def test_a_source_without_the_middleware_crd_is_refused(source: Path, tmp_path: Path) -> None:
    broken = _copy_without(source, tmp_path, "middlewares")
    with pytest.raises(ingress.CrdSourceError, match="missing: middlewares"):
        ingress.crd_manifests(broken)


def test_a_source_without_the_file_is_refused(source: Path, tmp_path: Path) -> None:
    shutil.copy(source / "go.mod", tmp_path / "go.mod")
    with pytest.raises(ingress.CrdSourceError, match="is missing"):
        ingress.crd_manifests(tmp_path)
