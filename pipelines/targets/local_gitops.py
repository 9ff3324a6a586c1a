"""The local target's GitOps channel: the harness's git server and Flux controllers.

On AKS, Terraform's Flux configuration (iac/modules/gitops) follows the repository's
environment branch and applies gitops/<env>; locally the harness runs the same Flux controllers
and a git server whose main is the environment branch, and this module is the configuration's
stand-in: the GitRepository (Flux's read-only account, the cluster CA), the Kustomization of
gitops/local with the local platform's substitutions, the ConfigMap of the values the push
deploy passes as files (contract names, token issuer), and what the chart's OCIRepository pulls
the published chart with (the registry's account, the cluster CA). The pipeline pushes with its
own account.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from pipelines.core import contract
from pipelines.core.gitops_commits import Repository
from pipelines.targets import local_issuer
from pipelines.targets.flux_reconcile import FIELD_MANAGER, Names
from pipelines.targets.gitops_delivery import Channel
from tools.localcluster.interface import (
    FLUX_NAMESPACE,
    GIT_PUSHER,
    GIT_READER,
    REGISTRY_SERVER,
    git_url,
    state_paths,
)

ENVIRONMENT = "local"
FOLDER = Path("gitops") / ENVIRONMENT
RELEASE_FILE = FOLDER / "helmrelease.yaml"
BRANCH = "main"  # the harness's repository holds nothing but the environment branch
PLATFORM_VALUES = "inventory-platform-local-values"
INTERVAL = "1m"


def names() -> Names:
    """The local configuration's objects, named as Terraform names them on AKS."""
    names = contract.load()
    return Names.pinned(
        namespace=FLUX_NAMESPACE,
        source=names.release,
        release=names.release,
        platform=(names.cert_manager["release"],),
    )


def substitutions(flux: Names) -> dict[str, str]:
    """What the Kustomization substitutes into gitops/local (post-build), by name."""
    names = contract.load()
    return {
        "release": flux.release,
        "namespace": names.namespace,
        "cert_manager_release": names.cert_manager["release"],
        "cert_manager_namespace": names.cert_manager["namespace"],
        "flux_source_name": flux.source,
        "flux_source_namespace": flux.namespace,
        "registry_server": REGISTRY_SERVER,
        "platform_values": PLATFORM_VALUES,
    }


def platform_values() -> dict[str, Any]:
    """The values the push deploy passes as generated files, merged as helm merges them."""
    return _merge(contract.chart_values(contract.load()), local_issuer.chart_values())


def configuration(
    flux: Names, ca: bytes, reader_password: str, registry_auth: bytes
) -> list[dict[str, Any]]:
    """The local Flux configuration: source credentials, platform values, the chart's registry
    login, source, kustomization. `registry_auth`: the registry's auth file (config.json)."""
    secret, source = source_objects(flux, ca, reader_password, BRANCH)
    values = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": PLATFORM_VALUES, **_meta(flux)},
        "data": {"values.yaml": yaml.safe_dump(platform_values(), sort_keys=True)},
    }
    registry = registry_objects(flux, ca, registry_auth)
    return [secret, values, *registry, source, kustomization(flux, FOLDER, substitutions(flux))]


def registry_objects(flux: Names, ca: bytes, registry_auth: bytes) -> list[dict[str, Any]]:
    """What a chart's OCIRepository pulls from the local registry with: the registry's account
    (`<source>-registry-reader`) and the cluster CA that signed its certificate
    (`<source>-cluster-ca`), the names gitops/local/chart.yaml gives."""
    return [
        _secret(flux, f"{flux.source}-registry-reader", "kubernetes.io/dockerconfigjson",
                {".dockerconfigjson": registry_auth}),
        _secret(flux, f"{flux.source}-cluster-ca", "Opaque", {"ca.crt": ca}),
    ]  # fmt: skip


def _secret(flux: Names, name: str, kind: str, data: Mapping[str, bytes]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, **_meta(flux)},
        "type": kind,
        "data": {key: base64.b64encode(value).decode() for key, value in data.items()},
    }


def source_objects(
    flux: Names, ca: bytes, reader_password: str, branch: str
) -> list[dict[str, Any]]:
    """The Secret of Flux's fetch-only account and the GitRepository of `branch` on the
    harness's git server."""
    data = {"username": GIT_READER.encode(), "password": reader_password.encode(), "ca.crt": ca}
    return [
        _secret(flux, f"{flux.source}-git-reader", "Opaque", data),
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": flux.source, **_meta(flux)},
            "spec": {
                "url": git_url(),
                "ref": {"branch": branch},
                "interval": INTERVAL,
                "secretRef": {"name": f"{flux.source}-git-reader"},
            },
        },
    ]


def kustomization(flux: Names, folder: Path, substitute: Mapping[str, str]) -> dict[str, Any]:
    """The Kustomization of `folder` in the GitRepository, named as AKS names it, pruning."""
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": flux.kustomization, **_meta(flux)},
        "spec": {
            "interval": INTERVAL,
            "path": f"./{folder.as_posix()}",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": flux.source},
            "postBuild": {"substitute": dict(substitute)},
        },
    }


def _meta(flux: Names) -> dict[str, Any]:
    return {"namespace": flux.namespace, "labels": {"app.kubernetes.io/managed-by": FIELD_MANAGER}}


def channel() -> Channel:
    """The local channel: the harness's server with the pipeline's account, the configuration
    with Flux's read-only one."""
    paths = state_paths()
    ca_file = paths.pki / "ca.crt"
    flux = names()
    return Channel(
        environment=ENVIRONMENT,
        repository=Repository(
            url=git_url(),
            user=GIT_PUSHER,
            password=paths.git_password(GIT_PUSHER).read_text(encoding="utf-8").strip(),
            ca_file=ca_file,
        ),
        branch=BRANCH,
        release_file=RELEASE_FILE,
        names=flux,
        configuration=tuple(
            configuration(
                flux, ca_file.read_bytes(), reader_password(), paths.registry_auth_file.read_bytes()
            )
        ),
    )


def reader_password() -> str:
    """The password of Flux's fetch-only account on the harness's git server."""
    return state_paths().git_password(GIT_READER).read_text(encoding="utf-8").strip()


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
