"""kube-state-metrics: restricted, and its RBAC is exactly list/watch on what it collects."""

from __future__ import annotations

from typing import Any

from tools.localcluster import statemetrics


def _by_kind(kind: str) -> dict[str, Any]:
    (found,) = [d for d in statemetrics.manifests() if d["kind"] == kind]
    return found


def test_rbac_is_list_watch_on_exactly_the_enabled_collectors() -> None:
    rules = _by_kind("ClusterRole")["rules"]
    assert {verb for rule in rules for verb in rule["verbs"]} == {"list", "watch"}
    granted = {(g, r) for rule in rules for g in rule["apiGroups"] for r in rule["resources"]}
    assert granted == set(statemetrics.COLLECTORS.values())
    assert not {("", "secrets"), ("", "configmaps")} & granted
    (container,) = _by_kind("Deployment")["spec"]["template"]["spec"]["containers"]
    (resources,) = [a for a in container["args"] if a.startswith("--resources=")]
    assert set(resources.removeprefix("--resources=").split(",")) == set(statemetrics.COLLECTORS)


def test_runs_restricted_in_kube_system_on_unprivileged_ports() -> None:
    pod = _by_kind("Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert all(p["containerPort"] > 1024 and "hostPort" not in p for p in container["ports"])
    assert {d["metadata"].get("namespace") for d in statemetrics.manifests()} == {
        "kube-system",
        None,  # the cluster-scoped RBAC objects
    }


def test_service_targets_the_named_container_ports() -> None:
    (container,) = _by_kind("Deployment")["spec"]["template"]["spec"]["containers"]
    names = {p["name"] for p in container["ports"]}
    assert {p["targetPort"] for p in _by_kind("Service")["spec"]["ports"]} == names
    assert container["readinessProbe"]["httpGet"]["port"] in names
