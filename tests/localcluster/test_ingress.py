"""The ingress add-on: restricted pod, loopback-only host port, least-privilege RBAC, and an
IngressClass that only Ingresses naming it use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.localcluster import ingress, render
from tools.localcluster.settings import Paths


def _by_kind(kind: str) -> dict[str, Any]:
    (found,) = [d for d in ingress.manifests() if d["kind"] == kind]
    return found


def _pod() -> dict[str, Any]:
    spec: dict[str, Any] = _by_kind("Deployment")["spec"]["template"]["spec"]
    return spec


def test_web_port_is_published_on_the_host_loopback_only() -> None:
    (container,) = _pod()["containers"]
    published = [p for p in container["ports"] if "hostPort" in p]
    assert published == [
        {
            "name": "web",
            "containerPort": ingress.WEB_PORT,
            "hostIP": "127.0.0.1",
            "hostPort": ingress.HOST_PORT,
            "protocol": "TCP",
        }
    ]
    assert f"--entryPoints.web.address=:{ingress.WEB_PORT}" in container["args"]
    assert f"http://127.0.0.1:{ingress.HOST_PORT}" == ingress.INGRESS_URL
    assert "hostNetwork" not in _pod()


def test_the_cni_network_can_map_host_ports() -> None:
    plugins = json.loads(render.cni_conflist(Paths(Path("/s"))))["plugins"]
    (portmap,) = [p for p in plugins if p["type"] == "portmap"]
    assert portmap["capabilities"] == {"portMappings": True}
    assert plugins[0]["type"] == "bridge"  # portmap chains after the interface exists


def test_pod_meets_the_restricted_profile() -> None:
    pod = _pod()
    (container,) = pod["containers"]
    context = container["securityContext"]
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["runAsNonRoot"] is True
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsUser"] != 0
    assert all(p["containerPort"] > 1024 for p in container["ports"])
    labels = _by_kind("Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"


def test_readiness_is_the_ping_endpoint_on_the_admin_port() -> None:
    (container,) = _pod()["containers"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/ping", "port": "admin"}
    assert {"--ping=true", "--ping.entryPoint=traefik"} <= set(container["args"])
    (admin,) = [p for p in container["ports"] if p["name"] == "admin"]
    assert f"--entryPoints.traefik.address=:{admin['containerPort']}" in container["args"]


def test_only_the_kubernetes_providers_only_its_class_and_no_cross_namespace_middlewares() -> None:
    (container,) = _pod()["containers"]
    providers = {a.split("=")[0].split(".")[1] for a in container["args"] if "--providers." in a}
    assert providers == {"kubernetesingress", "kubernetescrd"}
    assert "--providers.kubernetesingress=true" in container["args"]
    assert "--providers.kubernetesingress.ingressClass=traefik" in container["args"]
    assert "--providers.kubernetescrd=true" in container["args"]
    assert "--providers.kubernetescrd.allowCrossNamespace=false" in container["args"]
    assert not any(a.startswith("--api") for a in container["args"])  # no dashboard


def test_ingress_class_is_traefiks_and_not_the_default() -> None:
    ingress_class = _by_kind("IngressClass")
    assert ingress_class["metadata"]["name"] == "traefik"
    assert ingress_class["spec"] == {"controller": "traefik.io/ingress-controller"}
    assert "annotations" not in ingress_class["metadata"]  # is-default-class unset


def test_rbac_reads_what_the_provider_watches_and_writes_only_ingress_status() -> None:
    rules = _by_kind("ClusterRole")["rules"]
    writes = [r for r in rules if set(r["verbs"]) - {"get", "list", "watch"}]
    assert writes == [
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses/status"], "verbs": ["update"]}
    ]
    resources = {res for r in rules for res in r["resources"]}
    assert resources == {
        "services",
        "secrets",
        "nodes",
        "configmaps",
        "endpointslices",
        "ingresses",
        "ingressclasses",
        "ingresses/status",
        *ingress.CRD_RESOURCES,
    }
    (crd_rule,) = [r for r in rules if r["apiGroups"] == [ingress.CRD_GROUP]]
    assert crd_rule["verbs"] == ["get", "list", "watch"]
    assert all("*" not in r["verbs"] and "*" not in r["resources"] for r in rules)
    binding = _by_kind("ClusterRoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "traefik", "namespace": ingress.NAMESPACE}
    ]


def test_every_object_carries_the_standard_labels() -> None:
    for document in ingress.manifests():
        labels = document["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "traefik", document["kind"]
        assert "app.kubernetes.io/version" in labels


def test_the_buffering_middleware_has_a_writable_tmp_on_a_read_only_root() -> None:
    (container,) = _pod()["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    (volume,) = _pod()["volumes"]
    assert volume == {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}
