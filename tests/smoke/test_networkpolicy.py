"""The database's NetworkPolicy: only the pods it names reach port 5432, when the cluster enforces
it. Whether it does is declared (SMOKE_NETWORKPOLICY or the local harness's file) and checked
against what a throwaway pod observes, so a wrong declaration fails too."""

from __future__ import annotations

import warnings
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


@pytest.fixture(scope="module")
def probes(kube: Kube, settings: SmokeSettings, database_service: Any) -> dict[str, ProbeResult]:
    """Two pods try TCP to the database Service: one without labels, one with the allowed ones."""
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
    template = database[0].spec.template
    policies = kube.networking.list_namespaced_network_policy(settings.namespace).items
    allowed = allowed_client_labels(policies, dict(template.metadata.labels or {}))
    container = template.spec.containers[0]
    context = template.spec.security_context
    image = ProbeImage(
        image=container.image,
        pull_policy=container.image_pull_policy or "IfNotPresent",
        pull_secrets=[{"name": s.name} for s in template.spec.image_pull_secrets or []],
        run_as_user=(context.run_as_user if context else None) or 65532,
        run_as_group=(context.run_as_group if context else None) or 65532,
    )
    token = short_token()
    target = {"host": database_service.spec.cluster_ip, "port": DATABASE_PORT}
    manifests = {
        "denied": probe_pod_manifest(
            f"smoke-np-denied-{token}",
            labels=PROBE_LABELS,
            image=image,
            timeout=CONNECT_TIMEOUT,
            window=PROBE_WINDOW,
            **target,
        ),
        "allowed": probe_pod_manifest(
            f"smoke-np-allowed-{token}",
            labels={"app.kubernetes.io/managed-by": "smoke-tests", **allowed},
            image=image,
            timeout=CONNECT_TIMEOUT,
            window=PROBE_WINDOW,
            **target,
        ),
    }
    results = run_probe_pods(kube, settings.namespace, manifests.values(), POD_TIMEOUT)
    return {role: results[m["metadata"]["name"]] for role, m in manifests.items()}


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


def test_allowed_client_reaches_the_database(
    probes: dict[str, ProbeResult], record_testsuite_property: Any
) -> None:
    """Positive control: a pod with the labels the policy allows opens a TCP connection."""
    record_testsuite_property("allowed_pod_to_database", probes["allowed"].log)
    assert probes["allowed"].connected, (
        "a pod with the allowed labels cannot reach the database: " + probes["allowed"].log
    )


def test_unlabelled_pod_matches_the_declared_enforcement(
    settings: SmokeSettings, probes: dict[str, ProbeResult], record_testsuite_property: Any
) -> None:
    """Enforced: a pod without the allowed labels is blocked. Not enforced: it connects, which
    is recorded and warned about (and a block would mean the declaration is wrong)."""
    denied, state = probes["denied"], settings.networkpolicy
    record_testsuite_property("unlabelled_pod_to_database", denied.log)
    if state.enforced:
        assert not denied.connected, (
            f"NetworkPolicy is declared {state.describe()} but a pod without the allowed "
            f"labels reached the database: {denied.log}"
        )
        return
    assert denied.connected, (
        f"NetworkPolicy is declared {state.describe()} but the unlabelled pod was "
        f"blocked ({denied.log}): the cluster enforces it; fix the declaration"
    )
    warnings.warn(
        "NetworkPolicy not enforced: a pod without the allowed labels reached the database "
        f"({denied.log})",
        UserWarning,
        stacklevel=1,
    )
