"""The CoreDNS add-on: reachable at the cluster DNS address, restricted, no capabilities."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.localcluster import addons
from tools.localcluster.render import kubelet_config
from tools.localcluster.settings import DNS_SERVICE_IP, Paths


def _by_kind(kind: str) -> dict[str, Any]:
    (found,) = [d for d in addons.coredns_manifests() if d["kind"] == kind]
    return found


def test_service_is_the_address_kubelet_gives_pods() -> None:
    service = _by_kind("Service")
    assert service["spec"]["clusterIP"] == DNS_SERVICE_IP
    assert json.loads(kubelet_config(Paths(Path("/s"))))["clusterDNS"] == [DNS_SERVICE_IP]
    assert {p["port"] for p in service["spec"]["ports"]} == {53}


def test_corefile_port_container_port_and_target_port_agree() -> None:
    container = _by_kind("Deployment")["spec"]["template"]["spec"]["containers"][0]
    ports = {p["containerPort"] for p in container["ports"]}
    targets = {p["targetPort"] for p in _by_kind("Service")["spec"]["ports"]}
    assert ports == targets == {addons.DNS_PORT}
    assert addons.COREFILE.startswith(f".:{addons.DNS_PORT} {{")
    assert addons.DNS_PORT > 1024  # unprivileged: no NET_BIND_SERVICE needed


def test_coredns_runs_restricted() -> None:
    pod = _by_kind("Deployment")["spec"]["template"]["spec"]
    context = pod["containers"][0]["securityContext"]
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["dnsPolicy"] == "Default"  # never forwards to itself


def test_local_path_uses_local_images_and_is_the_default_class() -> None:
    documents = addons.local_path_manifests("/state/volumes")
    (config,) = [d for d in documents if d["kind"] == "ConfigMap"]
    assert json.loads(config["data"]["config.json"])["nodePathMap"][0]["paths"] == [
        "/state/volumes"
    ]
    assert f"image: {addons.HELPER_IMAGE}" in config["data"]["helperPod.yaml"]
    assert "imagePullPolicy: Never" in config["data"]["helperPod.yaml"]
    (storage_class,) = [d for d in documents if d["kind"] == "StorageClass"]
    annotations = storage_class["metadata"]["annotations"]
    assert annotations["storageclass.kubernetes.io/is-default-class"] == "true"
    (deployment,) = [d for d in documents if d["kind"] == "Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith("localhost/")
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
