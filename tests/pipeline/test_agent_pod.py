"""The Jenkins agent pod: a valid Kubernetes Pod (real schemas), locked down, no secrets."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support.tools import REPO_ROOT

AGENT_POD = REPO_ROOT / "pipelines" / "jenkins" / "agent-pod.yaml"


@pytest.fixture(scope="module")
def pod() -> dict[str, Any]:
    """The agent pod manifest."""
    document: dict[str, Any] = yaml.safe_load(AGENT_POD.read_text(encoding="utf-8"))
    return document


@pytest.mark.parametrize("version", ["1.31.0", "1.33.0"])
def test_agent_pod_is_valid_against_strict_kubernetes_schemas(
    pod: dict[str, Any], version: str
) -> None:
    kubernetes_validate.validate(pod, version, strict=True)


def test_a_misspelt_field_is_rejected(pod: dict[str, Any]) -> None:
    broken = yaml.safe_load(yaml.safe_dump(pod))
    broken["spec"]["containers"][0]["securityContex"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.33.0", strict=True)


def test_agent_runs_unprivileged_as_non_root(pod: dict[str, Any]) -> None:
    spec = pod["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    for container in spec["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        assert not context.get("privileged", False)
        assert "limits" in container["resources"]


def test_azure_access_is_workload_identity_not_a_secret(pod: dict[str, Any]) -> None:
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert pod["spec"]["serviceAccountName"]
    text = AGENT_POD.read_text(encoding="utf-8").lower()
    assert "secretkeyref" not in text
    assert "client_secret" not in text


def test_the_jenkinsfile_uses_this_pod_and_its_container(pod: dict[str, Any]) -> None:
    jenkinsfile = (REPO_ROOT / "Jenkinsfile").read_text(encoding="utf-8")
    assert "yamlFile 'pipelines/jenkins/agent-pod.yaml'" in jenkinsfile
    [container] = [c["name"] for c in pod["spec"]["containers"]]
    assert f"defaultContainer '{container}'" in jenkinsfile
