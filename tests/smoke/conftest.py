"""Smoke suite: checks a deployed release through its ingress and its cluster.

Collection gate: `pytest tests` leaves the suite out (only tests/smoke/unit, which needs no
cluster, is collected); naming a path inside tests/smoke or setting SMOKE=1 opts in, and then a
missing or bad KUBECONFIG / INGRESS_URL stops the run with one message saying what to set.
Everything else (Ingress host, Services, CronJobs, images) is discovered in the cluster.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.smoke.settings import UNIT_DIR, ConfigError, SmokeSettings, load_settings, opted_in

if TYPE_CHECKING:
    from tests.smoke.kube import Kube

OPTED_IN = pytest.StashKey[bool]()
SETTINGS = pytest.StashKey[SmokeSettings]()


def pytest_configure(config: pytest.Config) -> None:
    """Decide whether this run includes the suite; if it does, check its configuration."""
    config.addinivalue_line(
        "markers", "backup_mode(mode): runs only when SMOKE_BACKUP_MODE is `mode`"
    )
    config.addinivalue_line(
        "markers", "failover: disrupts the database on purpose; runs only with SMOKE_FAILOVER=run"
    )
    config.addinivalue_line(
        "markers",
        "autoscaling: loads the API until it scales; runs only with SMOKE_AUTOSCALING=run",
    )
    config.addinivalue_line(
        "markers", "incidents: causes incidents and waits for their alerts; needs SMOKE_ALERTS"
    )
    config.addinivalue_line(
        "markers", "gitops: checks the Flux delivery of the release; needs SMOKE_GITOPS"
    )
    try:
        wanted = opted_in(config.args, os.environ, config.invocation_params.dir)
        config.stash[OPTED_IN] = wanted
        if wanted:
            config.stash[SETTINGS] = load_settings(os.environ)
    except ConfigError as error:
        raise pytest.UsageError(f"smoke suite: {error}") from None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave the cluster tests out unless the run opted in; the unit tests always stay."""
    if config.stash.get(OPTED_IN, False):
        return None
    path = collection_path.resolve()
    if path == UNIT_DIR or UNIT_DIR in path.parents:
        return None
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the backup tests of the other SMOKE_BACKUP_MODE, the failover tests unless
    SMOKE_FAILOVER=run, the autoscaling tests unless SMOKE_AUTOSCALING=run, the incident
    tests when SMOKE_ALERTS is off, and the GitOps tests when SMOKE_GITOPS is off (reported as
    deselected)."""
    settings = config.stash.get(SETTINGS, None)
    if settings is None:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("backup_mode")
        other_mode = marker is not None and marker.args[0] != settings.backup_mode
        unwanted_failover = (
            item.get_closest_marker("failover") is not None and not settings.failover
        )
        unwanted_incident = (
            item.get_closest_marker("incidents") is not None and settings.alert_receiver is None
        )
        unwanted_autoscaling = (
            item.get_closest_marker("autoscaling") is not None and not settings.autoscaling
        )
        unwanted_gitops = item.get_closest_marker("gitops") is not None and not settings.gitops
        unwanted = (
            other_mode
            or unwanted_failover
            or unwanted_autoscaling
            or unwanted_incident
            or unwanted_gitops
        )
        (drop if unwanted else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which release and cluster the run targets, and the NetworkPolicy state."""
    settings = config.stash.get(SETTINGS, None)
    if settings is None:
        return []
    return [
        f"smoke target: release {settings.release} in namespace {settings.namespace}, "
        f"ingress {settings.ingress_url}, backup mode {settings.backup_mode}",
        f"smoke NetworkPolicy: {settings.networkpolicy.describe()}",
    ]


@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config) -> SmokeSettings:
    """The checked configuration of this run."""
    return pytestconfig.stash[SETTINGS]


@pytest.fixture(scope="session")
def kube(settings: SmokeSettings) -> Kube:
    """API clients for the target cluster; fails at once when its API server does not answer."""
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415
    from urllib3.exceptions import HTTPError  # noqa: PLC0415 - kubernetes only when used

    from tests.smoke.kube import connect, reason_of  # noqa: PLC0415

    clients = connect(settings.kubeconfig)
    try:
        clients.core.list_namespaced_service(settings.namespace, limit=1)
    except ApiException as error:
        pytest.fail(f"the cluster of KUBECONFIG refused: {reason_of(error)}", pytrace=False)
    except HTTPError as error:
        pytest.fail(
            f"no answer from the API server of KUBECONFIG={settings.kubeconfig}: {error}",
            pytrace=False,
        )
    return clients


@pytest.fixture(scope="session")
def release_pods(kube: Kube, settings: SmokeSettings) -> list[Any]:
    """The release's pods (label app.kubernetes.io/instance); fails when there are none."""
    pods = kube.core.list_namespaced_pod(
        settings.namespace, label_selector=f"app.kubernetes.io/instance={settings.release}"
    ).items
    if not pods:
        pytest.fail(
            f"no pods labelled app.kubernetes.io/instance={settings.release} in namespace "
            f"{settings.namespace}: is the release deployed (SMOKE_RELEASE, SMOKE_NAMESPACE)?",
            pytrace=False,
        )
    return list(pods)


@pytest.fixture(scope="session")
def database_services(kube: Kube, settings: SmokeSettings) -> list[Any]:
    """The database chart's Services (client, headless, replicas, the pooler's), found by the
    standard labels: each is a way to the database."""
    from tests.smoke.kube import DATABASE_NAME, INSTANCE, NAME, selector  # noqa: PLC0415

    labels = {NAME: DATABASE_NAME, INSTANCE: settings.release}
    services = kube.core.list_namespaced_service(
        settings.namespace, label_selector=selector(labels)
    ).items
    if not services:
        pytest.fail(
            f"no Service labelled {selector(labels)} in namespace {settings.namespace}",
            pytrace=False,
        )
    return list(services)


@pytest.fixture(scope="session")
def database_service(database_services: list[Any]) -> Any:
    """The database's client Service: the database's one with a cluster IP that is not Patroni's
    read-only Service (which selects `role: replica`)."""
    from tests.smoke.kube import COMPONENT  # noqa: PLC0415

    client_services = [
        s
        for s in database_services
        if s.spec.cluster_ip not in (None, "None")
        and "role" not in (s.spec.selector or {})
        and (s.metadata.labels or {}).get(COMPONENT) == "database"
    ]
    assert len(client_services) == 1, (
        "expected exactly one database Service with a cluster IP, found "
        f"{[s.metadata.name for s in client_services]}"
    )
    return client_services[0]


@pytest.fixture(scope="session")
def pooler_service(database_services: list[Any]) -> Any | None:
    """The pooler's Service (PgBouncer in front of the database), None where it does not run."""
    from tests.smoke.kube import COMPONENT  # noqa: PLC0415

    poolers = [s for s in database_services if (s.metadata.labels or {}).get(COMPONENT) == "pooler"]
    names = [s.metadata.name for s in poolers]
    assert len(poolers) <= 1, f"expected at most one pooler Service, found {names}"
    return poolers[0] if poolers else None


@pytest.fixture(scope="session")
def api_ingress(kube: Kube, settings: SmokeSettings) -> Any:
    """The release's Ingress that routes to the API Service."""
    from tests.smoke.kube import API_NAME, INSTANCE, NAME, backend_services, selector  # noqa: PLC0415

    api_services = {
        s.metadata.name
        for s in kube.core.list_namespaced_service(
            settings.namespace,
            label_selector=selector({NAME: API_NAME, INSTANCE: settings.release}),
        ).items
    }
    ingresses = kube.networking.list_namespaced_ingress(settings.namespace).items
    routed = [i for i in ingresses if backend_services(i) & api_services]
    if not api_services or not routed:
        pytest.fail(
            f"no Ingress in namespace {settings.namespace} routes to the API Service "
            f"({', '.join(sorted(api_services)) or 'none found'}): is ingress enabled in the "
            "release's values?",
            pytrace=False,
        )
    return routed[0]


@pytest.fixture(scope="session")
def api_host(api_ingress: Any) -> str | None:
    """The host the API's Ingress rule matches (sent as the Host header); None if host-less."""
    hosts = [rule.host for rule in api_ingress.spec.rules or [] if rule.host]
    return hosts[0] if hosts else None
