"""Prometheus and Alertmanager configuration from the release's own monitoring objects.

The charts render ServiceMonitors and PrometheusRules (monitoring.coreos.com/v1) for a Prometheus
Operator. The local target runs Prometheus without the Operator, so this module does the part of
the Operator's work the release needs, at deploy time: each ServiceMonitor endpoint becomes a
scrape job with the Operator's target labels (`job` = the Service's name, `namespace`, `service`,
`endpoint`), and each PrometheusRule's groups become one rule file, unchanged. The alert rules
are therefore exactly what the charts render from their rules/ sources; no copy exists here.

Discovery is DNS: Debian's Prometheus is built without Kubernetes service discovery, so each
endpoint is found through the SRV records of a headless Service with the selected Service's
pod selector and ports (`discovery_services`, one per selected Service, one port per endpoint
scraping it): one record per pod, with the container's port. It publishes the pods the selected
Service publishes (publishNotReadyAddresses), so a pod the Operator would scrape while unready
is scraped here too and its `up` reads 0. Records carry no pod name, so local series have no
`pod` label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RULES_DIR = "/etc/prometheus/rules"
"""Where Prometheus finds the rule files (a ConfigMap volume)."""
EVALUATION_INTERVAL = "15s"
DEFAULT_INTERVAL = "30s"
DISCOVERY_SUFFIX = "-scrape"
REFRESH_INTERVAL = "15s"


class MonitoringObjectError(ValueError):
    """A ServiceMonitor or PrometheusRule this translation cannot honour; says which and why."""


@dataclass(frozen=True)
class Endpoint:
    """One ServiceMonitor endpoint: the Services it selects by labels and port name."""

    monitor: str
    namespace: str
    service_labels: Mapping[str, str]
    port: str
    path: str
    interval: str
    timeout: str


@dataclass(frozen=True)
class Target:
    """An endpoint bound to its Service: what to scrape, found how, labelled how."""

    endpoint: Endpoint
    service: str
    pod_selector: Mapping[str, str]
    service_port: int
    target_port: int | str
    publish_not_ready: bool = False

    @property
    def discovery(self) -> str:
        """The headless Service whose SRV records list the pods."""
        return f"{self.service}{DISCOVERY_SUFFIX}"


def monitor_endpoints(monitor: Mapping[str, Any]) -> list[Endpoint]:
    """The endpoints of one ServiceMonitor; refuses the selector forms it does not translate."""
    meta, spec = monitor.get("metadata", {}), monitor.get("spec", {})
    name = f"{meta.get('namespace', '?')}/{meta.get('name', '?')}"
    selector = spec.get("selector") or {}
    if set(selector) - {"matchLabels"} or not selector.get("matchLabels"):
        raise MonitoringObjectError(
            f"ServiceMonitor {name}: only spec.selector.matchLabels is supported (got "
            f"{sorted(selector) or 'no selector'}); select the Service by its labels"
        )
    namespaces = (spec.get("namespaceSelector") or {}).get("matchNames") or [meta.get("namespace")]
    if len(namespaces) != 1 or not namespaces[0]:
        raise MonitoringObjectError(
            f"ServiceMonitor {name}: spec.namespaceSelector.matchNames must name one namespace"
        )
    endpoints = []
    for endpoint in spec.get("endpoints") or []:
        if "port" not in endpoint:
            raise MonitoringObjectError(
                f"ServiceMonitor {name}: every endpoint needs `port` (the Service port's name)"
            )
        endpoints.append(
            Endpoint(
                monitor=name,
                namespace=str(namespaces[0]),
                service_labels=dict(selector["matchLabels"]),
                port=str(endpoint["port"]),
                path=str(endpoint.get("path", "/metrics")),
                interval=str(endpoint.get("interval", DEFAULT_INTERVAL)),
                timeout=str(endpoint.get("scrapeTimeout", "10s")),
            )
        )
    if not endpoints:
        raise MonitoringObjectError(f"ServiceMonitor {name}: spec.endpoints is empty")
    return endpoints


def bind(endpoint: Endpoint, services: Sequence[Mapping[str, Any]]) -> list[Target]:
    """The Services `endpoint` selects (labels and port name, as the Operator matches them);
    fails naming the ServiceMonitor when it selects none."""
    targets = []
    for service in services:
        meta, spec = service.get("metadata", {}), service.get("spec", {})
        labels = meta.get("labels") or {}
        if meta.get("namespace") != endpoint.namespace or not spec.get("selector"):
            continue
        if any(labels.get(k) != v for k, v in endpoint.service_labels.items()):
            continue
        for port in spec.get("ports") or []:
            if port.get("name") == endpoint.port:
                targets.append(
                    Target(
                        endpoint,
                        str(meta["name"]),
                        dict(spec["selector"]),
                        int(port["port"]),
                        port.get("targetPort", port["port"]),
                        bool(spec.get("publishNotReadyAddresses", False)),
                    )
                )
    if not targets:
        raise MonitoringObjectError(
            f"ServiceMonitor {endpoint.monitor}: no Service in {endpoint.namespace} has labels "
            f"{dict(endpoint.service_labels)} and a port named {endpoint.port!r}"
        )
    return targets


def discovery_services(
    targets: Sequence[Target], labels: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The headless Services listing the targets' pods (SRV: pod address, container port): one
    per selected Service, with a port for each endpoint that scrapes it, so two endpoints on one
    Service (an exporter and Patroni's REST API) share it instead of clashing on its name."""
    by_name: dict[tuple[str, str], dict[str, Any]] = {}
    for target in targets:
        key = (target.endpoint.namespace, target.discovery)
        service = by_name.setdefault(
            key,
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": target.discovery,
                    "namespace": target.endpoint.namespace,
                    "labels": dict(labels),
                },
                "spec": {
                    "clusterIP": "None",
                    "publishNotReadyAddresses": target.publish_not_ready,
                    "selector": dict(target.pod_selector),
                    "ports": [],
                },
            },
        )
        port = {
            "name": target.endpoint.port,
            "port": target.service_port,
            "targetPort": target.target_port,
            "protocol": "TCP",
        }
        if port not in service["spec"]["ports"]:
            service["spec"]["ports"].append(port)
    return list(by_name.values())


def scrape_job(target: Target, domain: str) -> dict[str, Any]:
    """One scrape job: the SRV records of the target's discovery Service, labelled as the
    Operator labels a ServiceMonitor's targets."""
    endpoint = target.endpoint
    record = f"_{endpoint.port}._tcp.{target.discovery}.{endpoint.namespace}.svc.{domain}"
    labels = {
        "job": target.service,
        "namespace": endpoint.namespace,
        "service": target.service,
        "endpoint": endpoint.port,
    }
    return {
        "job_name": f"{endpoint.monitor}/{target.service}/{endpoint.port}",
        "scrape_interval": endpoint.interval,
        "scrape_timeout": endpoint.timeout,
        "metrics_path": endpoint.path,
        "dns_sd_configs": [
            {"names": [record], "type": "SRV", "refresh_interval": REFRESH_INTERVAL}
        ],
        "relabel_configs": [
            {"target_label": label, "replacement": value} for label, value in labels.items()
        ],
    }


def static_job(name: str, namespace: str, address: str) -> dict[str, Any]:
    """A cluster add-on with one pod and no scrape object, through its Service's name; its own
    `namespace` labels (of the objects it describes) are kept."""
    return {
        "job_name": f"{namespace}/{name}",
        "honor_labels": True,
        "static_configs": [{"targets": [address], "labels": {"job": name}}],
    }


def rule_file_name(rule: Mapping[str, Any]) -> str:
    """`<namespace>-<name>.yaml`, the rule file of one PrometheusRule."""
    meta = rule.get("metadata", {})
    return f"{meta.get('namespace', 'default')}-{meta.get('name', 'rules')}.yaml"


def rule_files(rules: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each PrometheusRule's groups as a Prometheus rule file, keyed by file name."""
    files: dict[str, dict[str, Any]] = {}
    for rule in rules:
        groups = (rule.get("spec") or {}).get("groups")
        if not groups:
            meta = rule.get("metadata", {})
            raise MonitoringObjectError(
                f"PrometheusRule {meta.get('namespace')}/{meta.get('name')} has no spec.groups"
            )
        files[rule_file_name(rule)] = {"groups": groups}
    return files


def prometheus_config(
    jobs: Sequence[dict[str, Any]],
    alertmanager: str,
    rule_names: Sequence[str],
    rules_dir: str = RULES_DIR,
) -> dict[str, Any]:
    """prometheus.yml: the scrape jobs, the rule files by name, alerts to `alertmanager`."""
    return {
        "global": {
            "scrape_interval": DEFAULT_INTERVAL,
            "evaluation_interval": EVALUATION_INTERVAL,
        },
        "rule_files": [f"{rules_dir}/{name}" for name in sorted(rule_names)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": list(jobs),
    }


def alertmanager_config(receiver_url: str) -> dict[str, Any]:
    """alertmanager.yml: every alert to one webhook, resolutions included, grouped per alert
    so each incident is its own notification."""
    return {
        "route": {
            "receiver": "webhook",
            "group_by": ["alertname", "namespace", "job"],
            "group_wait": "10s",
            "group_interval": "30s",
            "repeat_interval": "4h",
        },
        "receivers": [
            {
                "name": "webhook",
                "webhook_configs": [{"url": receiver_url, "send_resolved": True}],
            }
        ],
    }
