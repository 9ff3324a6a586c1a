"""The API's HorizontalPodAutoscaler really scales: on a live CPU metric, out under a bounded
load through the ingress, and back in after it.

Runs only with SMOKE_AUTOSCALING=run (it loads the API on purpose). The load stays under the
API's per-client rate limit, read from its Deployment (every request of the suite comes from one
client address), is bounded in time and in requests, and stops as soon as the HPA wants more
replicas. Each request reads a full page of products the module created for it (200, deleted
afterwards), so a request costs the API a page of rows to load and serialise, not just its
routing. The times are JUnit suite properties; the only timing assertion is "within the
timeout". The scale-in waits for the HPA's scale-down window (values-local.yaml shortens it).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.smoke.auth_checks import deployed_settings
from tests.smoke.autoscaling import (
    Load,
    Pacer,
    current_cpu_utilization,
    load_rate,
    scaling_active_problem,
)
from tests.smoke.failover import wait_for
from tests.smoke.kube import API_NAME, INSTANCE, NAME, Kube, selector
from tests.smoke.settings import SmokeSettings
from tests.smoke.test_api import PRODUCTS, TIMEOUT

pytestmark = pytest.mark.autoscaling
METRIC_TIMEOUT = 300.0  # metrics-server's first scrape, then the HPA's first sync
SCALE_OUT_TIMEOUT = 300.0  # also the load's longest duration
SCALE_IN_TIMEOUT = 600.0  # the scale-down window, then the pods' graceful termination
THREADS = 4
LIST_LIMIT = 200  # a full page of products: the heavier of the API's reads
SEED_SECONDS = 120.0  # bound on creating (and on deleting) the page of products


def _labels(settings: SmokeSettings) -> str:
    return selector({NAME: API_NAME, INSTANCE: settings.release})


@pytest.fixture(scope="module")
def hpa_name(kube: Kube, settings: SmokeSettings) -> str:
    found = kube.autoscaling.list_namespaced_horizontal_pod_autoscaler(
        settings.namespace, label_selector=_labels(settings)
    ).items
    if len(found) != 1:
        pytest.fail(
            f"expected one HorizontalPodAutoscaler labelled {_labels(settings)} in namespace "
            f"{settings.namespace}, found {len(found)} (autoscaling.enabled in the values?)",
            pytrace=False,
        )
    return str(found[0].metadata.name)


@pytest.fixture(scope="module")
def read_hpa(kube: Kube, settings: SmokeSettings, hpa_name: str) -> Callable[[], dict[str, Any]]:
    """The HPA as the API serialises it (camelCase), read afresh on each call."""
    serialise = kube.autoscaling.api_client.sanitize_for_serialization

    def read() -> dict[str, Any]:
        hpa = kube.autoscaling.read_namespaced_horizontal_pod_autoscaler(
            hpa_name, settings.namespace
        )
        document: dict[str, Any] = serialise(hpa)
        return document

    return read


@pytest.fixture(scope="module")
def rate(kube: Kube, settings: SmokeSettings) -> float:
    """Requests per second of the load: under the API's per-client limit, read from its
    Deployment's environment (every request of the suite comes from one client address)."""
    (deployment,) = kube.apps.list_namespaced_deployment(
        settings.namespace, label_selector=_labels(settings)
    ).items
    container = next(c for c in deployment.spec.template.spec.containers if c.name == "api")
    return load_rate(float(deployed_settings(container.env or []).rate_limit_per_second))


@pytest.fixture(scope="module")
def session(settings: SmokeSettings, api_host: str | None) -> Iterator[requests.Session]:
    """Requests through the ingress with its Host header and, where the API checks them, the
    suite's token."""
    with requests.Session() as api:
        if api_host:
            api.headers["Host"] = api_host
        if settings.api_token:
            api.headers["Authorization"] = f"Bearer {settings.api_token}"
        yield api


def _paced(rate: float, count: int) -> Iterator[int]:
    """0..count-1 at most `rate` a second (the load's pacer, one caller), within SEED_SECONDS."""
    pacer = Pacer(rate, max_requests=count, duration=SEED_SECONDS)
    for number in range(count):
        slot = pacer.next_slot()
        if slot is None:
            raise AssertionError(f"only {number} of {count} requests fit in {SEED_SECONDS:.0f} s")
        time.sleep(max(0.0, slot - time.monotonic()))
        yield number


@pytest.fixture(scope="module")
def seeded(settings: SmokeSettings, session: requests.Session, rate: float) -> Iterator[str]:
    """A page of products (LIST_LIMIT) sharing a unique SKU prefix, deleted afterwards."""
    prefix = f"smoke-autoscaling-{uuid.uuid4().hex[:8]}-"
    url = settings.ingress_url + PRODUCTS
    created: list[str] = []
    try:
        for number in _paced(rate, LIST_LIMIT):
            body = {"sku": f"{prefix}{number:03d}", "name": "Autoscaling load", "price_cents": 1}
            answer = session.post(url, json=body, timeout=TIMEOUT)
            assert answer.status_code == 201, f"creating {body['sku']}: {answer.status_code}"
            created.append(f"{url}/{answer.json()['id']}")
        yield prefix
    finally:
        for number in _paced(rate, len(created)):
            session.delete(created[number], timeout=TIMEOUT)


@pytest.fixture(scope="module")
def read_products(
    settings: SmokeSettings, session: requests.Session, seeded: str
) -> Callable[[], int]:
    """One read of the seeded page of products through the ingress; its status code."""
    url = settings.ingress_url + PRODUCTS
    params = {"q": seeded, "limit": str(LIST_LIMIT)}

    def read() -> int:
        return session.get(url, params=params, timeout=TIMEOUT).status_code

    return read


@pytest.fixture(scope="module")
def timeline() -> dict[str, float]:
    """When the load stopped, shared by the scale-out and scale-in tests."""
    return {}


def _replicas(hpa: dict[str, Any]) -> tuple[int, int, int]:
    """(minReplicas, desiredReplicas, currentReplicas)."""
    status = hpa.get("status", {})
    minimum = int(hpa["spec"].get("minReplicas") or 1)
    return minimum, int(status.get("desiredReplicas") or 0), int(status.get("currentReplicas") or 0)


def test_the_hpa_scales_on_a_live_cpu_metric(
    read_hpa: Callable[[], dict[str, Any]],
    record_testsuite_property: Callable[[str, object], None],
) -> None:
    """ScalingActive=True with a current CPU utilisation: metrics.k8s.io serves the pods."""
    problems: list[str | None] = [None]

    def active() -> bool:
        problems[0] = scaling_active_problem(read_hpa())
        return problems[0] is None

    try:
        waited = wait_for(active, METRIC_TIMEOUT, "the HPA to read a CPU metric")
    except AssertionError as error:
        raise AssertionError(f"{error}: {problems[0]}") from None
    record_testsuite_property("autoscaling_metric_seconds", f"{waited:.1f}")
    record_testsuite_property(
        "autoscaling_idle_cpu_utilization", str(current_cpu_utilization(read_hpa()))
    )


def test_under_a_bounded_load_it_scales_out(
    read_products: Callable[[], int],
    read_hpa: Callable[[], dict[str, Any]],
    rate: float,
    timeline: dict[str, float],
    record_testsuite_property: Callable[[str, object], None],
) -> None:
    minimum, _, _ = _replicas(read_hpa())
    pacer = Pacer(rate, max_requests=int(rate * SCALE_OUT_TIMEOUT), duration=SCALE_OUT_TIMEOUT)
    load = Load(read_products, pacer, threads=THREADS)
    peak = {"cpu": 0, "desired": 0}

    def scaled_out() -> bool:
        hpa = read_hpa()
        _, desired, _ = _replicas(hpa)
        peak["cpu"] = max(peak["cpu"], current_cpu_utilization(hpa) or 0)
        peak["desired"] = max(peak["desired"], desired)
        return desired > minimum

    started = time.monotonic()
    load.start()
    try:
        waited = wait_for(scaled_out, SCALE_OUT_TIMEOUT, f"desiredReplicas above {minimum}")
    except AssertionError as error:
        raise AssertionError(
            f"{error} under {rate:g} requests/s ({load.sent} sent, answers "
            f"{dict(load.statuses)}); peak CPU utilisation {peak['cpu']}%"
        ) from None
    finally:
        load.stop()
        timeline["load_stopped"] = time.monotonic()
        record_testsuite_property("autoscaling_load_rate_per_second", f"{rate:g}")
        record_testsuite_property("autoscaling_load_requests", str(load.sent))
        record_testsuite_property(
            "autoscaling_load_statuses", json.dumps(dict(load.statuses), sort_keys=True)
        )
        record_testsuite_property("autoscaling_load_seconds", f"{time.monotonic() - started:.1f}")
    record_testsuite_property("autoscaling_scale_out_seconds", f"{waited:.1f}")
    record_testsuite_property("autoscaling_peak_cpu_utilization", str(peak["cpu"]))
    record_testsuite_property("autoscaling_desired_replicas", str(peak["desired"]))
    assert load.sent <= pacer.max_requests


def test_after_the_load_it_scales_back_in(
    read_hpa: Callable[[], dict[str, Any]],
    timeline: dict[str, float],
    record_testsuite_property: Callable[[str, object], None],
) -> None:
    def back_in() -> bool:
        minimum, desired, current = _replicas(read_hpa())
        return desired == current == minimum

    waited = wait_for(back_in, SCALE_IN_TIMEOUT, "desired and current replicas at minReplicas")
    since_load = time.monotonic() - timeline.get("load_stopped", time.monotonic() - waited)
    record_testsuite_property("autoscaling_scale_in_seconds", f"{since_load:.1f}")
