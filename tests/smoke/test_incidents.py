"""Incidents raise their alerts end to end: Prometheus evaluates the charts' rules over the real
scrapes and Alertmanager delivers to this suite's receiver (SMOKE_ALERTS).

Chosen for alerts that fire within minutes with the rules' own `for:` durations (no per-target
shortcut exists in the rule sources): a restore drill against a wrong repository ->
PostgresRestoreDrillFailed (1m); the database stopped -> PostgresExporterDown (5m, then resolved
after recovery) while bounded load through the ingress meets the API's 503s ->
InventoryApiErrorBudgetBurnFast (2m). Slow-burn, latency and capacity alerts (15m to days) are
left to the promtool cases of tests/helm.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from kubernetes import client

from tests.smoke.alerts import AlertLog, AlertReceiver
from tests.smoke.failover import wait_for
from tests.smoke.incidents import BoundedLoad, alert_rule, notify_timeout
from tests.smoke.kube import (
    API_NAME,
    COMPONENT,
    INSTANCE,
    NAME,
    Kube,
    job_from_cronjob,
    run_job,
    selector,
    short_token,
    unique_name,
)
from tests.smoke.settings import SmokeSettings

pytestmark = pytest.mark.incidents

PRODUCTS = "/api/v1/products"
RECOVERY_SECONDS = 300.0
WRONG_CONTAINER = "missing-repository"


@pytest.fixture(scope="module")
def alerts(settings: SmokeSettings) -> Iterator[AlertLog]:
    """The receiver Alertmanager sends to, for this module's incidents."""
    assert settings.alert_receiver is not None  # the incidents marker needs it
    receiver = AlertReceiver(*settings.alert_receiver).start()
    yield receiver.log
    receiver.close()


HEADLESS_LABEL = "inventory.example.org/service"  # the chart's label on its headless Service


def expected(alert: str, namespace: str, job: str) -> tuple[dict[str, str], dict[str, Any]]:
    """The labels the notification must carry, and the rule it comes from."""
    rule = alert_rule(alert)
    return {"namespace": namespace, "job": job, "severity": rule["labels"]["severity"]}, rule


def headless_service(database_services: list[Any]) -> str:
    """The database's headless Service: the scrape job its rules select."""
    (name,) = [
        s.metadata.name
        for s in database_services
        if (s.metadata.labels or {}).get(HEADLESS_LABEL) == "headless"
    ]  # not Patroni's `<scope>-config`, headless too
    return str(name)


def test_a_restore_drill_against_a_wrong_repository_raises_the_drill_alert(
    kube: Kube, settings: SmokeSettings, alerts: AlertLog, database_services: list[Any]
) -> None:
    cronjobs = kube.batch.list_namespaced_cron_job(
        settings.namespace,
        label_selector=selector({INSTANCE: settings.release, COMPONENT: "restore-drill"}),
    ).items
    assert len(cronjobs) == 1, f"expected one restore-drill CronJob, found {len(cronjobs)}"
    job = job_from_cronjob(cronjobs[0], unique_name("smoke-drill-fails", short_token()))
    (container,) = job.spec.template.spec.containers
    container.env = [e for e in container.env if e.name != "BACKUP_AZURE_CONTAINER"]
    container.env.append(client.V1EnvVar(name="BACKUP_AZURE_CONTAINER", value=WRONG_CONTAINER))
    since = time.monotonic()
    outcome = run_job(kube, settings.namespace, job, settings.job_timeout_seconds)
    assert not outcome.succeeded, (
        f"the drill against {WRONG_CONTAINER} succeeded:\n{outcome.tail()}"
    )
    labels, rule = expected(
        "PostgresRestoreDrillFailed", settings.namespace, headless_service(database_services)
    )
    alert = alerts.wait_for(rule["alert"], "firing", labels, notify_timeout(rule), since=since)
    assert alert.annotations["runbook_url"] == rule["annotations"]["runbook_url"]


def api_service(kube: Kube, settings: SmokeSettings) -> str:
    (service,) = kube.core.list_namespaced_service(
        settings.namespace, label_selector=selector({NAME: API_NAME, INSTANCE: settings.release})
    ).items
    return str(service.metadata.name)


def test_the_database_stopped_pages_resolves_and_burns_the_api_budget(
    kube: Kube,
    settings: SmokeSettings,
    alerts: AlertLog,
    database_services: list[Any],
    api_host: str | None,
) -> None:
    (statefulset,) = kube.apps.list_namespaced_stateful_set(
        settings.namespace,
        label_selector=selector(
            {NAME: "postgresql", INSTANCE: settings.release, COMPONENT: "database"}
        ),
    ).items
    name, replicas = statefulset.metadata.name, statefulset.spec.replicas
    database, database_rule = expected(
        "PostgresExporterDown", settings.namespace, headless_service(database_services)
    )
    api, api_rule = expected(
        "InventoryApiErrorBudgetBurnFast", settings.namespace, api_service(kube, settings)
    )
    headers = {"Host": api_host} if api_host else {}
    if settings.api_token:
        headers["Authorization"] = f"Bearer {settings.api_token}"
    load = BoundedLoad(url=settings.ingress_url + PRODUCTS, headers=headers)
    since = time.monotonic()
    kube.apps.patch_namespaced_stateful_set_scale(
        name, settings.namespace, {"spec": {"replicas": 0}}
    )
    try:
        load.start()
        budget = alerts.wait_for(
            api_rule["alert"], "firing", api, notify_timeout(api_rule), since=since
        )
        down = alerts.wait_for(
            database_rule["alert"], "firing", database, notify_timeout(database_rule), since=since
        )
    finally:
        load.stop()
        kube.apps.patch_namespaced_stateful_set_scale(
            name, settings.namespace, {"spec": {"replicas": replicas}}
        )

    def ready() -> bool:
        status = kube.apps.read_namespaced_stateful_set_status(name, settings.namespace).status
        return bool((status.ready_replicas or 0) == replicas)

    def serving() -> bool:
        try:
            response = requests.get(load.url, headers=headers, timeout=5)
        except requests.RequestException:
            return False
        return bool(response.status_code == 200)

    wait_for(ready, RECOVERY_SECONDS, f"StatefulSet {name} back at {replicas} ready replicas")
    recovered = time.monotonic()
    wait_for(serving, RECOVERY_SECONDS, f"GET {PRODUCTS} answering 200 again")
    resolved = alerts.wait_for(
        database_rule["alert"], "resolved", database, RECOVERY_SECONDS, since=recovered
    )
    assert load.server_errors() > 0, f"the load saw no 5xx: {dict(load.statuses)}"
    for alert, rule in ((budget, api_rule), (down, database_rule), (resolved, database_rule)):
        assert alert.annotations["runbook_url"] == rule["annotations"]["runbook_url"]
