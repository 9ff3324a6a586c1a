"""The local stand-in for the platform's monitoring: Prometheus and Alertmanager in `monitoring`.

On AKS the platform monitors the release: the managed Prometheus scrapes its ServiceMonitors,
Azure Monitor evaluates the same rules (iac/modules/monitoring) and action groups notify. The
local cluster has none of it, so `deploy --target local` makes the equivalent here, next to the
other stand-ins (local_platform), because what it needs is known only at deploy time: the
release's namespace, its scrape objects and its rendered rules.

- Before the install, the two Prometheus Operator APIs the charts write (ServiceMonitor and
  PrometheusRule, monitoring.coreos.com/v1) as CustomResourceDefinitions with the schema of the
  fields read here. No Operator runs: it would be another Go build and controller on a 2-core
  node for objects that change only when the release does.
- After the install, prometheus_config turns the release's ServiceMonitors and PrometheusRules
  into Prometheus' configuration, rule files and the headless Services its DNS discovery reads
  (Debian's build has no Kubernetes discovery), adds kube-state-metrics (a cluster add-on with
  no scrape object) and points alerts at Alertmanager, whose one receiver is the webhook the
  smoke suite runs on the node (RECEIVER_PORT); a changed configuration rolls Prometheus.
- Both run from images/prometheus (Debian's binaries) as restricted pods with limits and no
  API token. Their NetworkPolicies: Prometheus accepts no pod and may reach only DNS, the
  scraped pods on their metrics ports and Alertmanager; Alertmanager accepts only Prometheus
  and may reach only the receiver on the node. The release's own policies admit the scraper
  declared in helm-charts/inventory-platform/values-local.yaml (global.monitoring.scraper),
  whose namespace and pod labels are read from there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipelines.core.charts import CHARTS, UMBRELLA
from pipelines.core.stage import StageContext
from pipelines.targets import prometheus_config as config
from pipelines.targets.cluster import NAMESPACE, Cluster, kubectl_binary
from pipelines.targets.local_platform import local_image
from tools.containers.catalog import CATALOG, REPO_ROOT
from tools.kube.kubectl import Kubectl
from tools.kube.security import restricted_container, restricted_pod
from tools.localcluster import interface as harness

API_GROUP = "monitoring.coreos.com"
SERVED_APIS = (f"{API_GROUP}/v1",)
"""The API versions the local cluster serves once install_api has run (chart renders read it)."""
IMAGE = "prometheus"
PROMETHEUS_VERSION = "2.42.0"
PROMETHEUS_PORT = 9090
ALERTMANAGER = "alertmanager"
ALERTMANAGER_PORT = 9093
RECEIVER_PORT = 19093
"""Where the smoke suite's alert receiver listens on the node's address."""
RECEIVER_PATH = "/alerts"
USER = 10002
"""The uid and gid the image runs as (images/prometheus)."""
TIMEOUT = 300.0
MANIFEST_FILE = "local-monitoring.json"
LOCAL_VALUES = REPO_ROOT / CHARTS / UMBRELLA / "values-local.yaml"
CHECKSUM = "inventory.example.org/config-checksum"


@dataclass(frozen=True)
class Scraper:
    """The monitoring namespace and Prometheus' pod labels, as the release's policies admit."""

    namespace: str
    pod_labels: Mapping[str, str]


def _scraper_values(values: Path) -> dict[str, Any]:
    document = yaml.safe_load(values.read_text(encoding="utf-8")) or {}
    found: dict[str, Any] = ((document.get("global") or {}).get("monitoring") or {}).get(
        "scraper"
    ) or {}
    return found


def scraper(values: Path = LOCAL_VALUES) -> Scraper:
    """global.monitoring.scraper of the local values over the umbrella's defaults, merged as
    helm merges them (an empty label value drops the default's, as the charts do); a missing
    key says what to add."""
    base, own = _scraper_values(values.with_name("values.yaml")), _scraper_values(values)
    labels = {**(base.get("podLabels") or {}), **(own.get("podLabels") or {})}
    namespace = own.get("namespace") or base.get("namespace")
    pod_labels = {str(k): str(v) for k, v in labels.items() if v}
    if not namespace or not pod_labels:
        raise ValueError(
            f"{values.name}: global.monitoring.scraper needs `namespace` and `podLabels` "
            "(the local Prometheus runs there with those labels)"
        )
    return Scraper(str(namespace), pod_labels)


SCRAPER = scraper()
MONITORING_NAMESPACE = SCRAPER.namespace
LABELS = {
    "app.kubernetes.io/part-of": "inventory-platform",
    "app.kubernetes.io/managed-by": "inventory-pipeline",
    "app.kubernetes.io/version": PROMETHEUS_VERSION,
}
PROMETHEUS_SELECTOR = dict(SCRAPER.pod_labels)
ALERTMANAGER_SELECTOR = {"app.kubernetes.io/name": ALERTMANAGER}
ALERTMANAGER_ADDRESS = (
    f"{ALERTMANAGER}.{MONITORING_NAMESPACE}.svc.{harness.CLUSTER_DOMAIN}:{ALERTMANAGER_PORT}"
)
STATE_METRICS_ADDRESS = (
    f"{harness.STATE_METRICS_NAME}.{harness.STATE_METRICS_NAMESPACE}.svc.{harness.CLUSTER_DOMAIN}"
    f":{harness.STATE_METRICS_CONTAINER_PORT}"
)


def image_tag(context: Path = CATALOG[IMAGE].context) -> str:
    """`<prometheus version>-<digest of the Dockerfile>`: a changed recipe gets a new tag."""
    digest = hashlib.sha256((context / "Dockerfile").read_bytes()).hexdigest()[:12]
    return f"{PROMETHEUS_VERSION}-{digest}"


def _crd(kind: str, plural: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{API_GROUP}", "labels": LABELS},
        "spec": {
            "group": API_GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": spec}}},
                }
            ],
        },
    }


_OPEN: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_STRING = {"type": "string"}


def crds() -> list[dict[str, Any]]:
    """ServiceMonitor and PrometheusRule: the fields prometheus_config reads are typed and
    required; the rest of the Operator's API is kept but not interpreted."""
    endpoint = {
        **_OPEN,
        "required": ["port"],
        "properties": dict.fromkeys(("port", "path", "interval", "scrapeTimeout"), _STRING),
    }
    monitor = {
        **_OPEN,
        "required": ["selector", "endpoints"],
        "properties": {
            "selector": _OPEN,
            "namespaceSelector": {
                **_OPEN,
                "properties": {"matchNames": {"type": "array", "items": _STRING}},
            },
            "endpoints": {"type": "array", "minItems": 1, "items": endpoint},
        },
    }
    rule = {
        **_OPEN,
        "required": ["groups"],
        "properties": {
            "groups": {
                "type": "array",
                "items": {
                    **_OPEN,
                    "required": ["name", "rules"],
                    "properties": {
                        "name": _STRING,
                        "rules": {"type": "array", "items": _OPEN},
                    },
                },
            }
        },
    }
    return [
        _crd("ServiceMonitor", "servicemonitors", monitor),
        _crd("PrometheusRule", "prometheusrules", rule),
    ]


@dataclass(frozen=True)
class Peer:
    """Pods a NetworkPolicy names: namespace, pod labels and the container port."""

    namespace: str
    pod_labels: Mapping[str, str]
    port: int | str

    def egress(self) -> dict[str, Any]:
        """An egress rule to these pods on this port."""
        return {
            "to": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": self.namespace}
                    },
                    "podSelector": {"matchLabels": dict(self.pod_labels)},
                }
            ],
            "ports": [{"port": self.port, "protocol": "TCP"}],
        }


def target_peer(target: config.Target) -> Peer:
    """The pods behind a scrape target, on the container port its Service forwards to."""
    return Peer(target.endpoint.namespace, target.pod_selector, target.target_port)


STATE_METRICS_PEER = Peer(
    harness.STATE_METRICS_NAMESPACE, harness.STATE_METRICS_SELECTOR, harness.STATE_METRICS_PORT
)


def dns_egress() -> dict[str, Any]:
    """To the cluster DNS pods (Service port 53 and the port CoreDNS listens on), UDP and TCP."""
    rule = Peer("kube-system", harness.DNS_SELECTOR, harness.DNS_PORT).egress()
    rule["ports"] = [
        {"port": port, "protocol": protocol}
        for port in sorted({53, harness.DNS_PORT})
        for protocol in ("UDP", "TCP")
    ]
    return rule


def _ip_block(address: str, port: int) -> dict[str, Any]:
    return {
        "to": [{"ipBlock": {"cidr": f"{address}/32"}}],
        "ports": [{"port": port, "protocol": "TCP"}],
    }


def network_policies(scraped: Sequence[Peer], node_ip: str) -> list[dict[str, Any]]:
    """Prometheus: no ingress from pods; egress to DNS (discovery), the scraped pods and
    Alertmanager. Alertmanager: ingress from Prometheus only; egress to the receiver only."""
    alertmanager = Peer(MONITORING_NAMESPACE, ALERTMANAGER_SELECTOR, ALERTMANAGER_PORT)
    meta = {"namespace": MONITORING_NAMESPACE, "labels": LABELS}
    prometheus_egress = [dns_egress(), *(peer.egress() for peer in scraped), alertmanager.egress()]
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "prometheus", **meta},
            "spec": {
                "podSelector": {"matchLabels": PROMETHEUS_SELECTOR},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [],
                "egress": prometheus_egress,
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": ALERTMANAGER, **meta},
            "spec": {
                "podSelector": {"matchLabels": ALERTMANAGER_SELECTOR},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": PROMETHEUS_SELECTOR}}],
                        "ports": [{"port": ALERTMANAGER_PORT, "protocol": "TCP"}],
                    }
                ],
                "egress": [_ip_block(node_ip, RECEIVER_PORT)],
            },
        },
    ]


def _deployment(
    name: str,
    selector: Mapping[str, str],
    container: dict[str, Any],
    volumes: list[dict[str, Any]],
    checksum: str,
) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "automountServiceAccountToken": False,  # discovery is DNS: no API access at all
        "enableServiceLinks": False,
        "securityContext": restricted_pod(USER, fs_group=True),
        "containers": [{**container, "securityContext": restricted_container(USER)}],
        "volumes": volumes,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": MONITORING_NAMESPACE,
            "labels": {**LABELS, **selector},
        },
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": dict(selector)},
            "template": {
                "metadata": {"labels": {**LABELS, **selector}, "annotations": {CHECKSUM: checksum}},
                "spec": pod,
            },
        },
    }


def _service(name: str, selector: Mapping[str, str], port_name: str, port: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": MONITORING_NAMESPACE,
            "labels": {**LABELS, **selector},
        },
        "spec": {
            "type": "ClusterIP",
            "selector": dict(selector),
            "ports": [{"name": port_name, "port": port, "targetPort": port_name}],
        },
    }


def _config_map(name: str, data: Mapping[str, str]) -> dict[str, Any]:
    meta = {"name": name, "namespace": MONITORING_NAMESPACE, "labels": LABELS}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": dict(data)}


def _probe(path: str, port: str) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port}, "periodSeconds": 10}


def dump(document: Any) -> str:
    """YAML as Prometheus and Alertmanager read it (key order kept)."""
    return yaml.safe_dump(document, sort_keys=False)


@dataclass(frozen=True)
class Monitoring:
    """Everything the stand-in applies, from the release's objects."""

    prometheus_yaml: str
    rules: Mapping[str, str]
    alertmanager_yaml: str
    scraped: tuple[Peer, ...]
    discovery: tuple[dict[str, Any], ...]
    """Headless Services in the scraped namespaces whose SRV records list the pods."""


def build(
    monitors: Sequence[Mapping[str, Any]],
    prometheus_rules: Sequence[Mapping[str, Any]],
    services: Sequence[Mapping[str, Any]],
    node_ip: str,
    rules_dir: str = config.RULES_DIR,
) -> Monitoring:
    """The configuration, rule files, discovery Services and scrape peers for these objects."""
    targets = [
        target
        for monitor in monitors
        for endpoint in config.monitor_endpoints(monitor)
        for target in config.bind(endpoint, services)
    ]
    jobs = [config.scrape_job(t, harness.CLUSTER_DOMAIN) for t in targets]
    jobs.append(
        config.static_job(
            harness.STATE_METRICS_NAME, harness.STATE_METRICS_NAMESPACE, STATE_METRICS_ADDRESS
        )
    )
    rules = {name: dump(body) for name, body in config.rule_files(prometheus_rules).items()}
    prometheus = config.prometheus_config(jobs, ALERTMANAGER_ADDRESS, list(rules), rules_dir)
    receiver = f"http://{node_ip}:{RECEIVER_PORT}{RECEIVER_PATH}"
    return Monitoring(
        prometheus_yaml=dump(prometheus),
        rules=rules,
        alertmanager_yaml=dump(config.alertmanager_config(receiver)),
        scraped=(*(target_peer(t) for t in targets), STATE_METRICS_PEER),
        discovery=tuple(config.discovery_services(targets, LABELS)),
    )


def manifests(image: str, monitoring: Monitoring, node_ip: str) -> list[dict[str, Any]]:
    """Namespace, RBAC, configuration, Deployments, Services and NetworkPolicies."""
    prometheus_sum = hashlib.sha256(
        json.dumps([monitoring.prometheus_yaml, dict(monitoring.rules)]).encode()
    ).hexdigest()
    alertmanager_sum = hashlib.sha256(monitoring.alertmanager_yaml.encode()).hexdigest()
    resources = {
        "requests": {"cpu": "50m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi"},
    }
    prometheus = {
        "name": "prometheus",
        "image": image,
        "imagePullPolicy": "Never",
        "command": ["/usr/bin/tini", "--", "/usr/bin/prometheus"],
        "args": [
            "--config.file=/etc/prometheus/config/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.retention.time=1d",
            f"--web.listen-address=:{PROMETHEUS_PORT}",
        ],
        "ports": [{"name": "web", "containerPort": PROMETHEUS_PORT, "protocol": "TCP"}],
        "readinessProbe": _probe("/-/ready", "web"),
        "livenessProbe": {**_probe("/-/healthy", "web"), "initialDelaySeconds": 30},
        "resources": resources,
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/prometheus/config", "readOnly": True},
            {"name": "rules", "mountPath": config.RULES_DIR, "readOnly": True},
            {"name": "data", "mountPath": "/prometheus"},
        ],
    }
    alertmanager = {
        "name": ALERTMANAGER,
        "image": image,
        "imagePullPolicy": "Never",
        "command": ["/usr/bin/tini", "--", "/usr/bin/prometheus-alertmanager"],
        "args": [
            "--config.file=/etc/alertmanager/alertmanager.yml",
            "--storage.path=/alertmanager",
            f"--web.listen-address=:{ALERTMANAGER_PORT}",
            "--cluster.listen-address=",  # one replica: no gossip port
        ],
        "ports": [{"name": "web", "containerPort": ALERTMANAGER_PORT, "protocol": "TCP"}],
        "readinessProbe": _probe("/-/ready", "web"),
        "livenessProbe": {**_probe("/-/healthy", "web"), "initialDelaySeconds": 10},
        "resources": {
            "requests": {"cpu": "10m", "memory": "32Mi"},
            "limits": {"cpu": "200m", "memory": "128Mi"},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/alertmanager", "readOnly": True},
            {"name": "data", "mountPath": "/alertmanager"},
        ],
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": MONITORING_NAMESPACE,
                "labels": {
                    "kubernetes.io/metadata.name": MONITORING_NAMESPACE,
                    "pod-security.kubernetes.io/enforce": "restricted",
                },
            },
        },
        *monitoring.discovery,
        _config_map("prometheus-config", {"prometheus.yml": monitoring.prometheus_yaml}),
        _config_map("prometheus-rules", monitoring.rules),
        _config_map("alertmanager-config", {"alertmanager.yml": monitoring.alertmanager_yaml}),
        *network_policies(monitoring.scraped, node_ip),
        _deployment(
            "prometheus",
            PROMETHEUS_SELECTOR,
            prometheus,
            [
                {"name": "config", "configMap": {"name": "prometheus-config"}},
                {"name": "rules", "configMap": {"name": "prometheus-rules"}},
                {"name": "data", "emptyDir": {"sizeLimit": "1Gi"}},
            ],
            prometheus_sum,
        ),
        _deployment(
            ALERTMANAGER,
            ALERTMANAGER_SELECTOR,
            alertmanager,
            [
                {"name": "config", "configMap": {"name": "alertmanager-config"}},
                {"name": "data", "emptyDir": {"sizeLimit": "64Mi"}},
            ],
            alertmanager_sum,
        ),
        _service("prometheus", PROMETHEUS_SELECTOR, "web", PROMETHEUS_PORT),
        _service(ALERTMANAGER, ALERTMANAGER_SELECTOR, "web", ALERTMANAGER_PORT),
    ]


def _kubectl(ctx: StageContext, cluster: Cluster) -> tuple[Kubectl, dict[str, str]]:
    env = ctx.tool_env(cluster.env())
    return Kubectl(kubectl_binary(ctx, env), env=env), env


def _apply(ctx: StageContext, kubectl: Kubectl, env: dict[str, str], name: str,
           documents: list[dict[str, Any]]) -> None:  # fmt: skip
    path = ctx.write_json(name, {"apiVersion": "v1", "kind": "List", "items": documents})
    argv = kubectl.argv(
        "apply", "--server-side", "--field-manager=inventory-pipeline", "-f", str(path)
    )
    ctx.run(f"apply {name}", argv, timeout=TIMEOUT, env=env)


def install_api(ctx: StageContext, cluster: Cluster) -> None:
    """The ServiceMonitor and PrometheusRule APIs, established before the charts render."""
    kubectl, env = _kubectl(ctx, cluster)
    _apply(ctx, kubectl, env, "monitoring-crds.json", crds())
    names = [f"crd/{crd['metadata']['name']}" for crd in crds()]
    wait = kubectl.argv("wait", "--for=condition=Established", f"--timeout={int(TIMEOUT)}s", *names)
    ctx.run("wait for the monitoring APIs", wait, timeout=TIMEOUT, env=env)


def _items(kubectl: Kubectl, kind: str, namespace: str) -> list[dict[str, Any]]:
    result = kubectl.run("get", kind, "--namespace", namespace, "-o", "json", timeout=120)
    items: list[dict[str, Any]] = json.loads(result.stdout).get("items", [])
    return items


def deploy(ctx: StageContext, cluster: Cluster) -> None:
    """Prometheus and Alertmanager for the installed release; waits until both are ready."""
    kubectl, env = _kubectl(ctx, cluster)
    monitors = _items(kubectl, f"servicemonitors.{API_GROUP}", NAMESPACE)
    rules = _items(kubectl, f"prometheusrules.{API_GROUP}", NAMESPACE)
    if not monitors or not rules:
        ctx.fail(
            f"the release in {NAMESPACE} has {len(monitors)} ServiceMonitor(s) and {len(rules)} "
            "PrometheusRule(s): turn monitoring on in values-local.yaml (monitoring.enabled)"
        )
    services = _items(kubectl, "services", NAMESPACE)
    node_ip = harness.detect_node_ip()
    try:
        monitoring = build(monitors, rules, services, node_ip)
    except config.MonitoringObjectError as error:
        ctx.fail(f"cannot configure the local Prometheus: {error}")
    _apply(
        ctx,
        kubectl,
        env,
        MANIFEST_FILE,
        manifests(local_image(ctx, IMAGE, image_tag()), monitoring, node_ip),
    )
    for name in ("prometheus", ALERTMANAGER):
        _rollout_status(ctx, kubectl, env, name)
    ctx.note(
        f"monitoring: {len(monitoring.scraped)} scrape jobs, rule files "
        f"{', '.join(sorted(monitoring.rules))}; alerts to {RECEIVER_PORT} on {node_ip}"
    )


def _rollout_status(ctx: StageContext, kubectl: Kubectl, env: dict[str, str], name: str) -> None:
    rollout = kubectl.argv(
        "--namespace", MONITORING_NAMESPACE,
        "rollout", "status", f"deployment/{name}", f"--timeout={int(TIMEOUT)}s",
    )  # fmt: skip
    ctx.run(f"rollout {name}", rollout, timeout=TIMEOUT, env=env)


def forget_notifications(ctx: StageContext, cluster: Cluster) -> None:
    """Restart Alertmanager, so the suite's incidents page anew: its notification log is in an
    emptyDir. The suite's webhook listens only while the suite runs, so the resolved
    notification after the last run's incident never arrived; Alertmanager's log then still
    holds that alert as notified firing, takes the next run's identical alert for one it has
    paged already, and stays silent until repeat_interval (4h)."""
    kubectl, env = _kubectl(ctx, cluster)
    restart = kubectl.argv(
        "--namespace", MONITORING_NAMESPACE, "rollout", "restart", f"deployment/{ALERTMANAGER}"
    )
    ctx.run(f"restart {ALERTMANAGER}", restart, timeout=TIMEOUT, env=env)
    _rollout_status(ctx, kubectl, env, ALERTMANAGER)
