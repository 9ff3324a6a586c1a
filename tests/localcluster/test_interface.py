"""What the interface tells the pipeline about the add-ons is what the add-ons deploy: the local
Prometheus reaches kube-state-metrics and CoreDNS, and its NetworkPolicy admits exactly them."""

from __future__ import annotations

from typing import Any

from tools.localcluster import addons, statemetrics
from tools.localcluster import interface as harness


def one(documents: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    (found,) = [d for d in documents if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    return found


def container_ports(deployment: dict[str, Any]) -> dict[str, int]:
    return {
        port["name"]: port["containerPort"]
        for container in deployment["spec"]["template"]["spec"]["containers"]
        for port in container.get("ports", [])
    }


def labels(deployment: dict[str, Any]) -> dict[str, str]:
    return dict(deployment["spec"]["template"]["metadata"]["labels"])


def test_kube_state_metrics_is_where_the_interface_says() -> None:
    documents = statemetrics.manifests()
    service = one(documents, "Service", harness.STATE_METRICS_NAME)
    assert service["metadata"]["namespace"] == harness.STATE_METRICS_NAMESPACE
    assert service["spec"]["selector"] == harness.STATE_METRICS_SELECTOR
    port = next(p for p in service["spec"]["ports"] if p["name"] == harness.STATE_METRICS_PORT)
    assert port["port"] == harness.STATE_METRICS_CONTAINER_PORT
    deployment = one(documents, "Deployment")
    assert harness.STATE_METRICS_SELECTOR.items() <= labels(deployment).items()
    ports = container_ports(deployment)
    assert ports[harness.STATE_METRICS_PORT] == harness.STATE_METRICS_CONTAINER_PORT


def test_dns_pods_carry_the_interfaces_labels_and_port() -> None:
    deployment = one(addons.coredns_manifests(), "Deployment", "coredns")
    assert harness.DNS_SELECTOR.items() <= labels(deployment).items()
    assert harness.DNS_PORT in container_ports(deployment).values()
