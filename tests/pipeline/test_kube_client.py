"""The one kubectl client, the one restricted security context and the one workload shape
(tools.kube)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.smoke.checks import container_problems
from tools.kube.kubectl import Kubectl, KubectlError
from tools.kube.security import RESTRICTED_CONTAINER, restricted_container, restricted_pod
from tools.kube.workload import (
    COMPONENT,
    INSTANCE,
    NAME,
    PART_OF,
    VERSION,
    deployment,
    labels,
    selector,
)


def test_argv_points_kubectl_at_one_cluster_and_namespace() -> None:
    kubectl = Kubectl("kubectl", Path("/state/admin.kubeconfig"), namespace="inventory")

    assert kubectl.argv("get", "pods") == [
        *["kubectl", "--kubeconfig=/state/admin.kubeconfig"],
        *["--namespace", "inventory", "get", "pods"],
    ]
    assert Kubectl("kubectl").argv("version") == ["kubectl", "version"]


def test_a_failing_checked_call_raises_with_the_command_and_its_stderr() -> None:
    shell = Kubectl("sh")  # a real program standing where kubectl goes: same argv contract

    with pytest.raises(KubectlError, match=r"^sh -c echo refused >&2; exit 3 exited 3: refused$"):
        shell.run("-c", "echo refused >&2; exit 3")
    assert shell.run("-c", "exit 3", check=False).returncode == 3
    assert shell.run("-c", "cat", stdin="manifest").stdout == "manifest"


def pod(container_context: dict[str, Any], pod_context: dict[str, Any]) -> Any:
    container = {"name": "c", "image": "i", "securityContext": container_context}
    spec = {"containers": [container], "securityContext": pod_context}
    return client.V1Pod.from_dict({"metadata": {"name": "p"}, "spec": spec})


@pytest.mark.parametrize(
    ("container_context", "pod_context"),
    [
        (RESTRICTED_CONTAINER, restricted_pod(65534)),
        (restricted_container(10001), restricted_pod(10001, fs_group=True)),
    ],
)
def test_the_shared_contexts_pass_the_smoke_suites_restricted_check(
    container_context: dict[str, Any], pod_context: dict[str, Any]
) -> None:
    subject = pod(container_context, pod_context)

    assert container_problems(subject, subject.spec.containers[0]) == []


def test_a_root_user_fails_the_same_check() -> None:
    subject = pod(RESTRICTED_CONTAINER, restricted_pod(0))

    assert "runAsUser is 0 (root)" in " ".join(
        container_problems(subject, subject.spec.containers[0])
    )


def test_restricted_pod_sets_fs_group_only_when_asked() -> None:
    assert "fsGroup" not in restricted_pod(10001)
    assert restricted_pod(10001, 2000, fs_group=True)["fsGroup"] == 2000


def test_labels_start_with_the_selector_and_carry_only_the_labels_given() -> None:
    given = labels("issuer", "token-issuer", part_of="platform", instance="issuer")

    assert list(given) == [NAME, INSTANCE, COMPONENT, PART_OF]
    assert selector("issuer", "issuer").items() <= given.items()
    assert labels("ksm", "exporter", part_of="cluster", version="2.0")[VERSION] == "2.0"


def test_a_deployment_runs_one_replica_of_pods_carrying_its_labels() -> None:
    own = labels("ksm", "exporter", part_of="cluster", version="2.0")
    made = deployment("ksm", "kube-system", own, selector("ksm"), {"containers": []})

    assert made["metadata"] == {"name": "ksm", "namespace": "kube-system", "labels": own}
    assert made["spec"]["replicas"] == 1
    assert made["spec"]["selector"] == {"matchLabels": {NAME: "ksm"}}
    assert made["spec"]["template"] == {"metadata": {"labels": own}, "spec": {"containers": []}}
    assert "strategy" not in made["spec"]


def test_a_deployment_whose_selector_misses_its_pods_is_refused() -> None:
    own = labels("ksm", "exporter", part_of="cluster")

    with pytest.raises(ValueError, match=r"selector .* does not match labels"):
        deployment("ksm", "kube-system", own, selector("ksm", "other"), {"containers": []})
