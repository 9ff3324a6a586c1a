"""What the suite creates in a cluster: Jobs like `kubectl create job --from`, restricted probes."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from tests.smoke.kube import (
    JobOutcome,
    ProbeImage,
    job_from_cronjob,
    probe_pod_manifest,
    unique_name,
)

TEMPLATE_SPEC = {
    "backoffLimit": 1,
    "template": {
        "metadata": {"labels": {"app.kubernetes.io/component": "backup"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "backup", "image": "db:1"}]},
    },
}


def cronjob(annotations: dict[str, str] | None = None) -> Any:
    return client.V1CronJob.from_dict(
        {
            "metadata": {"name": "db-backup-full", "namespace": "inventory", "uid": "1234"},
            "spec": {
                "schedule": "15 1 * * 0",
                "jobTemplate": {
                    "metadata": {
                        "labels": {"app.kubernetes.io/component": "backup"},
                        "annotations": annotations,
                    },
                    "spec": TEMPLATE_SPEC,
                },
            },
        }
    )


def serialized(job: Any) -> dict[str, Any]:
    document: dict[str, Any] = job.model_dump(by_alias=True, exclude_none=True, mode="json")
    return document


def test_job_from_cronjob_is_kubectls_but_outside_the_cronjob_history() -> None:
    job = serialized(job_from_cronjob(cronjob({"team": "dbops"}), "db-backup-full-smoke-abc123"))
    assert job["metadata"] == {
        "name": "db-backup-full-smoke-abc123",
        "namespace": "inventory",
        "labels": {"app.kubernetes.io/component": "backup"},
        "annotations": {"team": "dbops", "cronjob.kubernetes.io/instantiate": "manual"},
        "ownerReferences": [
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "name": "db-backup-full",
                "uid": "1234",
                "controller": False,
            }
        ],
    }
    assert job["spec"] == TEMPLATE_SPEC


def test_unique_names_fit_a_label_value() -> None:
    name = unique_name("inventory-platform-postgresql-restore-drill-" + "x" * 40, "a1b2c3")
    assert len(name) <= 63
    assert name.endswith("-smoke-a1b2c3")


def test_job_report_is_the_last_json_line() -> None:
    log = 'starting\n{"job": "old"}\nWARNING: slow\n{"job": "backup-full", "status": "ok"}\n'
    assert JobOutcome("j", True, 1.0, log).report() == {"job": "backup-full", "status": "ok"}
    with pytest.raises(pytest.fail.Exception, match="printed no JSON report"):
        JobOutcome("j", False, 1.0, "ERROR: no repository\n").report()


def test_probe_pods_are_restricted() -> None:
    image = ProbeImage("localhost/db:1", "Never", [], 999, 999)
    manifest = probe_pod_manifest(
        "probe",
        labels={"a": "b"},
        image=image,
        host="10.96.0.9",
        port=5432,
        timeout=5.0,
        window=20.0,
    )
    pod: Any = client.V1Pod.from_dict(manifest)
    assert pod.spec.security_context.run_as_non_root is True
    assert pod.spec.security_context.seccomp_profile.type == "RuntimeDefault"
    container = pod.spec.containers[0]
    assert container.security_context.capabilities.drop == ["ALL"]
    assert container.security_context.read_only_root_filesystem is True
    assert container.security_context.allow_privilege_escalation is False
    assert container.command[-4:] == ["10.96.0.9", "5432", "5.0", "20.0"]
    assert pod.spec.automount_service_account_token is False
