"""The database's and the pooler's NetworkPolicies: only the pods each names reach its port (5432;
the pooler's Service port), when the cluster enforces them. Whether it does is declared
(SMOKE_NETWORKPOLICY or the local harness's file) and checked against what throwaway pods
observe, so a wrong declaration fails too."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.smoke.checks import DATABASE_PORT, allowed_client_labels, selects
from tests.smoke.kube import (
    DATABASE_NAME,
    NAME,
    PROBE_LABELS,
    Kube,
    ProbeImage,
    ProbeResult,
    probe_pod_manifest,
    run_probe_pods,
    short_token,
)
from tests.smoke.settings import SmokeSettings

CONNECT_TIMEOUT = 3.0
PROBE_WINDOW = 15.0
POD_TIMEOUT = 90.0
POLICY_SETTLE_SECONDS = 20.0
"""How long a target pod must have been Ready before the probes: a policy engine programs a new
pod's rules shortly after it starts (kube-router took 1-2 s here), and a database pod the
incident checks just restarted would otherwise be probed before its rules exist."""


@dataclass(frozen=True)
class Target:
    """What the probes aim at: a Service, the pods behind it and the port their policy names."""

    name: str
    service: Any
    pod_labels: dict[str, str]
    port: int
    port_name: str


@pytest.fixture(scope="module")
def database_pods(kube: Kube, settings: SmokeSettings, database_service: Any) -> Any:
    """The pod template of the database StatefulSet behind the client Service."""
    statefulsets = kube.apps.list_namespaced_stateful_set(
        settings.namespace, label_selector=f"app.kubernetes.io/instance={settings.release}"
    ).items
    # Under Patroni the client Service has no selector (Patroni writes its Endpoints): then the
    # StatefulSet is the database's by its name label.
    service_selector = database_service.spec.selector
    database = [
        s
        for s in statefulsets
        if (
            selects(s.spec.selector, service_selector)
            if service_selector
            else (s.metadata.labels or {}).get(NAME) == DATABASE_NAME
        )
    ]
    assert database, f"no StatefulSet behind Service {database_service.metadata.name}"
    return database[0].spec.template


@pytest.fixture(scope="module", params=["database", "pooler"])
def target(
    request: pytest.FixtureRequest,
    database_service: Any,
    pooler_service: Any | None,
    database_pods: Any,
) -> Target:
    """The database (its pods' port 5432) and, where it runs, the pooler (its Service's port:
    the pooler's pods listen on the same)."""
    if request.param == "database":
        labels = dict(database_pods.metadata.labels or {})
        return Target("database", database_service, labels, DATABASE_PORT, "postgresql")
    if pooler_service is None:
        pytest.skip("no pooler runs in this release")
    (port,) = [p for p in pooler_service.spec.ports if p.name == "pgbouncer"]
    labels = dict(pooler_service.spec.selector)
    return Target("pooler", pooler_service, labels, port.port, port.name)


@pytest.fixture(scope="module")
def probes(
    kube: Kube, settings: SmokeSettings, target: Target, database_pods: Any
) -> dict[str, ProbeResult]:
    """Two pods try TCP to the target's Service: one without labels, one with the allowed ones.
    Both run the database image (already on every node that ran the database)."""
    policies = kube.networking.list_namespaced_network_policy(settings.namespace).items
    allowed = allowed_client_labels(policies, target.pod_labels, target.port, target.port_name)
    container = database_pods.spec.containers[0]
    context = database_pods.spec.security_context
    image = ProbeImage(
        image=container.image,
        pull_policy=container.image_pull_policy or "IfNotPresent",
        pull_secrets=[{"name": s.name} for s in database_pods.spec.image_pull_secrets or []],
        run_as_user=(context.run_as_user if context else None) or 65532,
        run_as_group=(context.run_as_group if context else None) or 65532,
    )
    token = short_token()
    address = {"host": target.service.spec.cluster_ip, "port": target.port}
    manifests = {
        "denied": probe_pod_manifest(
            f"smoke-np-denied-{token}",
            labels=PROBE_LABELS,
            image=image,
            timeout=CONNECT_TIMEOUT,
            window=PROBE_WINDOW,
            **address,
        ),
        "allowed": probe_pod_manifest(
            f"smoke-np-allowed-{token}",
            labels={"app.kubernetes.io/managed-by": "smoke-tests", **allowed},
            image=image,
            timeout=CONNECT_TIMEOUT,
            window=PROBE_WINDOW,
            **address,
        ),
    }
    _wait_until_settled(kube, settings.namespace, target.pod_labels)
    results = run_probe_pods(kube, settings.namespace, manifests.values(), POD_TIMEOUT)
    return {role: results[m["metadata"]["name"]] for role, m in manifests.items()}


def _wait_until_settled(kube: Kube, namespace: str, labels: dict[str, str]) -> None:
    """Sleep until every pod with `labels` has been Ready for POLICY_SETTLE_SECONDS."""
    selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
    pods = kube.core.list_namespaced_pod(namespace, label_selector=selector).items
    ready_since = [
        condition.last_transition_time
        for pod in pods
        for condition in (pod.status.conditions or [])
        if condition.type == "Ready" and condition.status == "True"
    ]
    if ready_since:
        age = (datetime.now(UTC) - max(ready_since)).total_seconds()
        time.sleep(max(0.0, POLICY_SETTLE_SECONDS - age))


def test_networkpolicy_enforcement_is_reported(
    settings: SmokeSettings, record_testsuite_property: Any
) -> None:
    """Record the declared state as a JUnit suite property; warn loudly when it is not enforced."""
    state = settings.networkpolicy
    record_testsuite_property("networkpolicy", state.describe())
    if not state.enforced:
        warnings.warn(
            f"NetworkPolicy is NOT enforced on this cluster ({state.describe()}): the database "
            "isolation between pods was not proven, only declared",
            UserWarning,
            stacklevel=1,
        )


def test_allowed_client_reaches_the_target(
    target: Target, probes: dict[str, ProbeResult], record_testsuite_property: Any
) -> None:
    """Positive control: a pod with the labels the policy allows opens a TCP connection."""
    record_testsuite_property(f"allowed_pod_to_{target.name}", probes["allowed"].log)
    assert probes["allowed"].connected, (
        f"a pod with the allowed labels cannot reach the {target.name}: " + probes["allowed"].log
    )


def test_unlabelled_pod_matches_the_declared_enforcement(
    settings: SmokeSettings,
    target: Target,
    probes: dict[str, ProbeResult],
    record_testsuite_property: Any,
) -> None:
    """Enforced: a pod without the allowed labels is blocked. Not enforced: it connects, which
    is recorded and warned about (and a block would mean the declaration is wrong)."""
    denied, state = probes["denied"], settings.networkpolicy
    record_testsuite_property(f"unlabelled_pod_to_{target.name}", denied.log)
    if state.enforced:
        assert not denied.connected, (
            f"NetworkPolicy is declared {state.describe()} but a pod without the allowed "
            f"labels reached the {target.name}: {denied.log}"
        )
        return
    assert denied.connected, (
        f"NetworkPolicy is declared {state.describe()} but the unlabelled pod was "
        f"blocked ({denied.log}): the cluster enforces it; fix the declaration"
    )
    warnings.warn(
        f"NetworkPolicy not enforced: a pod without the allowed labels reached the {target.name} "
        f"({denied.log})",
        UserWarning,
        stacklevel=1,
    )
