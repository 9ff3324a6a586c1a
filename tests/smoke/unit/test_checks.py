"""Each check of the smoke suite passes a compliant object and bites on a crafted bad one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from kubernetes import client

from tests.smoke.checks import (
    allowed_client_labels,
    container_problems,
    exposure_problems,
    image_pin_problems,
    readiness_problem,
    recency_problem,
    selects,
)

DATABASE_LABELS = {
    "app.kubernetes.io/name": "postgresql",
    "app.kubernetes.io/instance": "inventory-platform",
    "app.kubernetes.io/component": "database",
}


def service(spec: dict[str, Any], status: dict[str, Any] | None = None) -> Any:
    return client.V1Service.from_dict(
        {"metadata": {"name": "db"}, "spec": spec, "status": status or {}}
    )


def test_cluster_ip_service_passes() -> None:
    assert exposure_problems(service({"type": "ClusterIP", "ports": [{"port": 5432}]})) == []


def test_every_way_out_is_reported() -> None:
    exposed = service(
        {
            "type": "LoadBalancer",
            "externalIPs": ["203.0.113.7"],
            "ports": [{"port": 5432, "nodePort": 30432}],
        },
        {"loadBalancer": {"ingress": [{"ip": "20.1.2.3"}]}},
    )
    problems = exposure_problems(exposed)
    assert problems[:3] == [
        "db: type LoadBalancer, must be ClusterIP",
        "db: port 5432 has nodePort 30432",
        "db: externalIPs ['203.0.113.7']",
    ]
    assert problems[3].startswith("db: load balancer ingress")


RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
POD_CONTEXT = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def pod(container_context: dict[str, Any] | None, pod_context: dict[str, Any]) -> Any:
    container = {"name": "api", "image": "i", "securityContext": container_context}
    return client.V1Pod.from_dict(
        {
            "metadata": {"name": "p"},
            "spec": {"containers": [container], "securityContext": pod_context},
        }
    )


def problems_of(subject: Any) -> list[str]:
    return container_problems(subject, subject.spec.containers[0])


def test_restricted_container_passes() -> None:
    assert problems_of(pod(RESTRICTED, POD_CONTEXT)) == []


def test_container_level_values_count_too() -> None:
    assert problems_of(pod({**RESTRICTED, **POD_CONTEXT}, {})) == []


@pytest.mark.parametrize(
    ("container", "pod_context", "problem"),
    [
        (RESTRICTED, {**POD_CONTEXT, "runAsNonRoot": None}, "runAsNonRoot is not true"),
        ({**RESTRICTED, "runAsNonRoot": False}, POD_CONTEXT, "runAsNonRoot is not true"),
        (RESTRICTED, {**POD_CONTEXT, "runAsUser": 0}, "runAsUser is 0 (root)"),
        (RESTRICTED, {**POD_CONTEXT, "seccompProfile": None}, "seccompProfile is not Runtime"),
        (
            {**RESTRICTED, "seccompProfile": {"type": "Unconfined"}},
            POD_CONTEXT,
            "seccompProfile is not RuntimeDefault",
        ),
        ({**RESTRICTED, "allowPrivilegeEscalation": True}, POD_CONTEXT, "allowPrivilegeEscal"),
        ({**RESTRICTED, "readOnlyRootFilesystem": False}, POD_CONTEXT, "readOnlyRootFilesystem"),
        ({**RESTRICTED, "capabilities": {"drop": ["NET_RAW"]}}, POD_CONTEXT, "drop ALL"),
        ({**RESTRICTED, "privileged": True}, POD_CONTEXT, "privileged"),
        (None, POD_CONTEXT, "allowPrivilegeEscalation is not false"),
    ],
)
def test_each_missing_setting_bites(
    container: dict[str, Any] | None, pod_context: dict[str, Any], problem: str
) -> None:
    found = problems_of(pod(container, pod_context))
    assert any(problem in line for line in found), found
    assert all(line.startswith("pod p container api: ") for line in found)


def policy(ingress: list[dict[str, Any]], selector: dict[str, Any] | None = None) -> Any:
    return client.V1NetworkPolicy.from_dict(
        {
            "metadata": {"name": "db"},
            "spec": {
                "podSelector": selector or {"matchLabels": DATABASE_LABELS},
                "ingress": ingress,
            },
        }
    )


API_PEER = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "inventory-api"}}}
JOBS_PEER = {
    "podSelector": {
        "matchLabels": {"app.kubernetes.io/name": "postgresql"},
        "matchExpressions": [
            {"key": "app.kubernetes.io/component", "operator": "In", "values": ["backup"]}
        ],
    }
}


def test_allowed_labels_come_from_the_rule_for_the_database_port() -> None:
    policies = [
        policy([{"from": [{"namespaceSelector": {}}], "ports": [{"port": 9187}]}]),
        policy([{"from": [JOBS_PEER, API_PEER], "ports": [{"port": 5432}]}]),
    ]
    labels = allowed_client_labels(policies, DATABASE_LABELS)
    assert labels == {"app.kubernetes.io/name": "inventory-api"}


def test_policies_for_other_pods_or_ports_do_not_count() -> None:
    other_pods = policy(
        [{"from": [API_PEER], "ports": [{"port": 5432}]}],
        {"matchLabels": {"app.kubernetes.io/name": "something-else"}},
    )
    other_port = policy([{"from": [API_PEER], "ports": [{"port": 8432}]}])
    with pytest.raises(AssertionError, match="no NetworkPolicy selecting the pods labelled"):
        allowed_client_labels([other_pods, other_port], DATABASE_LABELS)


def test_the_pooler_port_admits_its_own_peers_only() -> None:
    pooler_labels = {**DATABASE_LABELS, "app.kubernetes.io/component": "pooler"}
    serving = {"podSelector": {"matchLabels": {"app.kubernetes.io/component": "api"}}}
    pooler_policy = policy(
        [{"from": [serving], "ports": [{"port": 6432}]}],
        {"matchLabels": {"app.kubernetes.io/component": "pooler"}},
    )
    policies = [policy([{"from": [API_PEER], "ports": [{"port": 5432}]}]), pooler_policy]
    assert allowed_client_labels(policies, pooler_labels, 6432, "pgbouncer") == {
        "app.kubernetes.io/component": "api"
    }
    with pytest.raises(AssertionError, match="admits a labelled pod to port 6432"):
        allowed_client_labels(policies[:1], pooler_labels, 6432, "pgbouncer")


@pytest.mark.parametrize(
    ("expression", "matches"),
    [
        ({"key": "app.kubernetes.io/component", "operator": "In", "values": ["database"]}, True),
        (
            {"key": "app.kubernetes.io/component", "operator": "NotIn", "values": ["database"]},
            False,
        ),
        ({"key": "tier", "operator": "DoesNotExist"}, True),
        ({"key": "tier", "operator": "Exists"}, False),
    ],
)
def test_label_selector_expressions(expression: dict[str, Any], matches: bool) -> None:
    selector = client.V1LabelSelector.from_dict({"matchExpressions": [expression]})
    assert selects(selector, DATABASE_LABELS) is matches


NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


def cronjob(schedule: str, last: dt.datetime | None, **spec: Any) -> Any:
    return client.V1CronJob.from_dict(
        {
            "metadata": {"name": "inventory-platform-postgresql-backup-full"},
            "spec": {
                "schedule": schedule,
                "timeZone": "Etc/UTC",
                "jobTemplate": {"spec": {"activeDeadlineSeconds": 10800, "template": {}}},
                **spec,
            },
            "status": {"lastSuccessfulTime": last.isoformat() if last else None},
        }
    )


def test_weekly_backup_six_days_old_is_recent() -> None:
    last = dt.datetime(2026, 11, 22, 1, 20, tzinfo=dt.UTC)  # Sunday's run
    assert recency_problem(cronjob("15 1 * * 0", last), NOW) is None


def test_missed_daily_backup_is_stale() -> None:
    last = dt.datetime(2026, 11, 25, 1, 20, tzinfo=dt.UTC)  # yesterday; today's 01:15 is due
    problem = recency_problem(cronjob("15 1 * * *", last), NOW)
    assert problem is not None
    assert "before its scheduled run at 2026-11-26T01:15:00+00:00" in problem


def test_a_run_still_within_its_deadline_may_be_pending() -> None:
    last = dt.datetime(2026, 11, 25, 8, 50, tzinfo=dt.UTC)  # yesterday's 08:45 run
    assert recency_problem(cronjob("45 8 * * *", last), NOW) is None  # today's is running


def test_never_succeeded_and_suspended_are_reported() -> None:
    assert "never succeeded" in (recency_problem(cronjob("* * * * *", None), NOW) or "")
    suspended = cronjob("* * * * *", NOW, suspend=True)
    assert recency_problem(suspended, NOW) == (
        "inventory-platform-postgresql-backup-full is suspended"
    )


def deployment(replicas: int, ready: int, updated: int, observed: int = 4) -> Any:
    return client.V1Deployment.from_dict(
        {
            "metadata": {"name": "api", "generation": 4},
            "spec": {"replicas": replicas, "selector": {}, "template": {}},
            "status": {
                "readyReplicas": ready,
                "updatedReplicas": updated,
                "observedGeneration": observed,
            },
        }
    )


def test_fully_ready_workload_passes() -> None:
    assert readiness_problem("Deployment", deployment(2, 2, 2)) is None


@pytest.mark.parametrize(
    ("replicas", "ready", "updated"), [(2, 1, 2), (2, 2, 1), (0, 0, 0), (3, 4, 4)]
)
def test_missing_or_stale_replicas_bite(replicas: int, ready: int, updated: int) -> None:
    assert readiness_problem("Deployment", deployment(replicas, ready, updated)) == (
        f"Deployment api: {ready} ready, {updated} updated of {replicas} desired"
    )


def test_a_status_older_than_the_spec_bites_even_when_its_counts_match() -> None:
    """An autoscaler's new replica count is in the spec before the controller has counted it."""
    assert readiness_problem("Deployment", deployment(2, 2, 2, observed=3)) == (
        "Deployment api: status is of generation 3, the spec is generation 4"
    )


PINNED = "localhost:5000/inventory-api:0a1b@sha256:" + "a" * 64


def pinned_pod(image: str, image_id: str | None) -> Any:
    status = [{"name": "api", "image": image, "imageID": image_id, "ready": True,
               "restartCount": 0}] if image_id is not None else []  # fmt: skip
    return client.V1Pod.from_dict(
        {
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "api", "image": image}]},
            "status": {"containerStatuses": status},
        }
    )


def test_a_container_running_the_digest_it_pins_passes() -> None:
    assert (
        image_pin_problems(pinned_pod(PINNED, "localhost:5000/inventory-api@sha256:" + "a" * 64))
        == []
    )
    assert image_pin_problems(pinned_pod(PINNED, None)) == [], "not started yet: nothing ran"


@pytest.mark.parametrize(
    ("image", "image_id", "problem"),
    [
        ("localhost:5000/inventory-api:0a1b", "x@sha256:" + "a" * 64, "is not pinned by a digest"),
        (PINNED, "localhost:5000/inventory-api@sha256:" + "b" * 64, "but its spec pins sha256:aaa"),
        (PINNED, "sha256:" + "c" * 64, "but its spec pins"),
    ],
)
def test_an_unpinned_or_other_running_image_is_reported(
    image: str, image_id: str, problem: str
) -> None:
    (reported,) = image_pin_problems(pinned_pod(image, image_id))
    assert reported.startswith("pod p container api: ")
    assert problem in reported
