"""Prometheus and Alertmanager configuration from the release's own monitoring objects.

The charts render ServiceMonitors and PrometheusRules (monitoring.coreos.com/v1) for a Prometheus
Operator. The local target runs Prometheus without the Operator, so this module does the part
of the Operator's work the release needs, at deploy time: each ServiceMonitor endpoint becomes a
scrape job over Kubernetes service discovery (EndpointSlices) with the Operator's target labels
(`job` = the Service's name, `namespace`, `service`, `pod`, `container`, `endpoint`), and each
PrometheusRule's groups become one rule file, unchanged. The alert rules are therefore exactly
what the charts render from their rules/ sources; no copy of them exists here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RULES_DIR = "/etc/prometheus/rules"
"""Where Prometheus finds the rule files (a ConfigMap volume)."""
EVALUATION_INTERVAL = "15s"
DEFAULT_INTERVAL = "30s"
_META_UNSAFE = re.compile(r"[^a-zA-Z0-9_]")


class MonitoringObjectError(ValueError):
    """A ServiceMonitor or PrometheusRule this translation cannot honour; says which and why."""


@dataclass(frozen=True)
class Target:
    """Pods behind one Service port, scraped as one job (a ServiceMonitor endpoint, or a
    cluster add-on with no scrape object)."""

    job: str
    namespace: str
    service_labels: Mapping[str, str]
    port: str
    path: str = "/metrics"
    interval: str = DEFAULT_INTERVAL
    timeout: str = "10s"


def meta_label(kind: str, key: str) -> str:
    """The service-discovery label carrying a Kubernetes label (`app.kubernetes.io/name` ->
    `__meta_kubernetes_service_label_app_kubernetes_io_name`)."""
    return f"__meta_kubernetes_{kind}_label_{_META_UNSAFE.sub('_', key)}"


def monitor_targets(monitor: Mapping[str, Any]) -> list[Target]:
    """The targets of one ServiceMonitor; refuses the selector forms it does not translate."""
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
    targets = []
    for endpoint in spec.get("endpoints") or []:
        if "port" not in endpoint:
            raise MonitoringObjectError(
                f"ServiceMonitor {name}: every endpoint needs `port` (the Service port's name)"
            )
        targets.append(
            Target(
                job=f"{name}/{endpoint['port']}",
                namespace=str(namespaces[0]),
                service_labels=dict(selector["matchLabels"]),
                port=str(endpoint["port"]),
                path=str(endpoint.get("path", "/metrics")),
                interval=str(endpoint.get("interval", DEFAULT_INTERVAL)),
                timeout=str(endpoint.get("scrapeTimeout", "10s")),
            )
        )
    if not targets:
        raise MonitoringObjectError(f"ServiceMonitor {name}: spec.endpoints is empty")
    return targets


def scrape_job(target: Target) -> dict[str, Any]:
    """One scrape job: EndpointSlices of the target's namespace, kept when the Service carries
    every selector label and the port has the endpoint's name; labelled as the Operator does."""
    keep = [
        {
            "source_labels": [meta_label("service", key)],
            "regex": re.escape(value),
            "action": "keep",
        }
        for key, value in sorted(target.service_labels.items())
    ]
    keep.append(
        {
            "source_labels": ["__meta_kubernetes_endpointslice_port_name"],
            "regex": re.escape(target.port),
            "action": "keep",
        }
    )
    labels = {
        "namespace": "__meta_kubernetes_namespace",
        "service": "__meta_kubernetes_service_name",
        "pod": "__meta_kubernetes_pod_name",
        "container": "__meta_kubernetes_pod_container_name",
        "job": "__meta_kubernetes_service_name",
    }
    relabel = [
        *keep,
        *({"source_labels": [source], "target_label": label} for label, source in labels.items()),
        {"target_label": "endpoint", "replacement": target.port},
    ]
    return {
        "job_name": target.job,
        "scrape_interval": target.interval,
        "scrape_timeout": target.timeout,
        "metrics_path": target.path,
        "kubernetes_sd_configs": [
            {"role": "endpointslice", "namespaces": {"names": [target.namespace]}}
        ],
        "relabel_configs": relabel,
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
    targets: Sequence[Target], alertmanager: Target, rule_names: Sequence[str]
) -> dict[str, Any]:
    """prometheus.yml: one job per target, the rule files by name, alerts to `alertmanager`
    (found by service discovery too, so no DNS lookup is needed)."""
    alerting_job = scrape_job(alertmanager)
    return {
        "global": {
            "scrape_interval": DEFAULT_INTERVAL,
            "evaluation_interval": EVALUATION_INTERVAL,
        },
        "rule_files": [f"{RULES_DIR}/{name}" for name in sorted(rule_names)],
        "alerting": {
            "alertmanagers": [
                {
                    "kubernetes_sd_configs": alerting_job["kubernetes_sd_configs"],
                    "relabel_configs": [
                        r for r in alerting_job["relabel_configs"] if r.get("action") == "keep"
                    ],
                }
            ]
        },
        "scrape_configs": [scrape_job(target) for target in targets],
    }


def alertmanager_config(receiver_url: str) -> dict[str, Any]:
    """alertmanager.yml: every alert to one webhook, resolutions included, grouped per alert
    and pod so each incident is its own notification."""
    return {
        "route": {
            "receiver": "webhook",
            "group_by": ["alertname", "namespace", "pod"],
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
