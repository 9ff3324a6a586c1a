"""The one kubectl client and the one restricted security context (tools.kube)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.smoke.checks import container_problems
from tools.kube.kubectl import Kubectl, KubectlError
from tools.kube.security import RESTRICTED_CONTAINER, restricted_container, restricted_pod


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
