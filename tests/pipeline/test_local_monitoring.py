"""The local monitoring is configured from the release's own objects, and its policies fit.

Inputs are the umbrella rendered as `deploy --target local` installs it: the ServiceMonitors,
PrometheusRules and Services the deploy reads back from the cluster. Real promtool checks the
generated configuration and rule files; each relation has a broken input that must fail it.
"""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no types-jsonschema in the lock yet
import pytest
import yaml

from pipelines.targets import local_monitoring as lm
from pipelines.targets import prometheus_config as config
from pipelines.targets.cluster import NAMESPACE
from tests.pipeline.local_release import (
    NODE_IP,
    Manifest,
    build,
    of_kind,
    render_local,
    services,
)
from tests.support.tools import REPO_ROOT, require_tool
from tools.localcluster import interface as harness

RULE_SOURCES = sorted((REPO_ROOT / "helm-charts").glob("*/rules/*.yaml"))
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "monitoring"
_JOB_MATCHER = re.compile(r'\bjob="([^"]+)"')


# The rule-source keys the local release renders: it runs backups and the pooler, not Patroni
# (HA_GROUPS, checked against a release with ha.enabled) nor a second repository.
LOCAL_GROUPS = ("groups", "backup_groups", "pooler_groups")
HA_GROUPS = ("ha_groups", "ha_sync_groups")


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> list[Manifest]:
    return render_local(tmp_path_factory.mktemp("deploy"))


@pytest.fixture(scope="module")
def ha_release(tmp_path_factory: pytest.TempPathFactory) -> list[Manifest]:
    """The local release with the database under Patroni (values-local's members and mode)."""
    work = tmp_path_factory.mktemp("deploy-ha")
    values = work / "ha.yaml"
    values.write_text(yaml.safe_dump({"postgresql": {"ha": {"enabled": True}}}), encoding="utf-8")
    return render_local(work, extra=[values])


def alerts_in(documents: list[dict[str, Any]], keys: tuple[str, ...] = LOCAL_GROUPS) -> set[str]:
    """Alert names of rule files or rule sources (the group lists under `keys`)."""
    return {
        str(rule["alert"])
        for doc in documents
        for key in keys
        for group in doc.get(key) or []
        for rule in group["rules"]
        if "alert" in rule
    }


def unloaded_alerts(
    monitoring: lm.Monitoring, sources: list[Path], keys: tuple[str, ...] = LOCAL_GROUPS
) -> set[str]:
    """Alerts some rule source declares (under `keys`) that no rule file of the configuration
    loads."""
    declared = alerts_in([yaml.safe_load(p.read_text(encoding="utf-8")) for p in sources], keys)
    loaded = alerts_in([yaml.safe_load(text) for text in monitoring.rules.values()])
    return declared - loaded


def test_prometheus_loads_every_alert_of_the_charts_rule_sources(release: list[Manifest]) -> None:
    assert RULE_SOURCES, "no helm-charts/*/rules/*.yaml found"
    assert unloaded_alerts(build(release), RULE_SOURCES) == set()


def test_a_rule_source_the_configuration_does_not_load_is_reported(
    release: list[Manifest],
) -> None:
    extra = FIXTURES / "unloaded-rules.yaml"
    assert unloaded_alerts(build(release), [*RULE_SOURCES, extra]) == {"FixtureAlertNobodyLoads"}


def test_rule_files_are_the_rendered_prometheus_rules_unchanged(release: list[Manifest]) -> None:
    monitoring = build(release)
    rendered = {
        config.rule_file_name(r): r["spec"]["groups"] for r in of_kind(release, "PrometheusRule")
    }
    loaded = {name: yaml.safe_load(text)["groups"] for name, text in monitoring.rules.items()}
    assert loaded == rendered
    config_files = yaml.safe_load(monitoring.prometheus_yaml)["rule_files"]
    assert config_files == [f"{config.RULES_DIR}/{name}" for name in sorted(rendered)]


def test_promtool_accepts_the_configuration_and_its_rule_files(
    release: list[Manifest], tmp_path: Path
) -> None:
    promtool = require_tool("promtool", "apt-get install -y prometheus")
    monitoring = build(release, rules_dir=str(tmp_path))
    for name, text in monitoring.rules.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    path = tmp_path / "prometheus.yml"
    path.write_text(monitoring.prometheus_yaml, encoding="utf-8")
    result = subprocess.run(
        [promtool, "check", "config", str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(monitoring.rules)} files found" in result.stdout or "SUCCESS" in result.stdout


def scraped_jobs(monitoring: lm.Monitoring) -> dict[str, list[tuple[Manifest, Manifest]]]:
    """The `job` label of each scrape job, with the discovery Service and port its SRV record
    names (one per endpoint: a Service scraped on two ports is one job on two records)."""
    by_record = {
        f"_{port['name']}._tcp.{d['metadata']['name']}."
        f"{d['metadata']['namespace']}.svc.{harness.CLUSTER_DOMAIN}": (d, port)
        for d in monitoring.discovery
        for port in d["spec"]["ports"]
    }
    jobs: dict[str, list[tuple[Manifest, Manifest]]] = {}
    for job in yaml.safe_load(monitoring.prometheus_yaml)["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            labels = {r["target_label"]: r["replacement"] for r in job["relabel_configs"]}
            (record,) = sd["names"]
            jobs.setdefault(labels["job"], []).append(by_record[record])
    return jobs


def rule_jobs(monitoring: lm.Monitoring) -> set[str]:
    """Every `job="..."` an alert or recording rule selects."""
    return {
        job
        for text in monitoring.rules.values()
        for group in yaml.safe_load(text)["groups"]
        for rule in group["rules"]
        for job in _JOB_MATCHER.findall(str(rule["expr"]))
    }


def test_every_job_the_rules_select_is_a_scraped_service(release: list[Manifest]) -> None:
    """Each `job` a rule selects is scraped through a discovery Service that lists the same
    pods and port as the release's Service of that name."""
    monitoring = build(release)
    jobs = scraped_jobs(monitoring)
    assert rule_jobs(monitoring) <= set(jobs)
    named = {s["metadata"]["name"]: s for s in services(release)}
    for job, records in jobs.items():
        for discovery, port in records:
            assert discovery["spec"]["clusterIP"] == "None"
            assert discovery["spec"]["selector"] == named[job]["spec"]["selector"]
            assert port in [{**p, "protocol": "TCP"} for p in named[job]["spec"]["ports"]]
            published = named[job]["spec"].get("publishNotReadyAddresses", False)
            assert discovery["spec"]["publishNotReadyAddresses"] is published


def test_patroni_members_are_scraped_beside_the_exporter(ha_release: list[Manifest]) -> None:
    """Under Patroni the headless Service is scraped on two ports: one discovery Service carries
    both (two of one name could not both be applied), and every HA alert is loaded."""
    monitoring = build(ha_release)
    names = [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in monitoring.discovery]
    assert len(names) == len(set(names)), names
    headless = next(
        s for s in services(ha_release) if s["metadata"]["name"].endswith("-postgresql-headless")
    )
    records = scraped_jobs(monitoring)[headless["metadata"]["name"]]
    assert {port["name"] for _, port in records} == {"metrics", "patroni"}
    (discovery,) = {id(d): d for d, _ in records}.values()
    assert discovery["spec"]["publishNotReadyAddresses"] is True
    assert rule_jobs(monitoring) <= set(scraped_jobs(monitoring))
    assert unloaded_alerts(monitoring, RULE_SOURCES, HA_GROUPS) == set()


def test_the_ha_releases_policies_admit_prometheus_to_patronis_port(
    ha_release: list[Manifest],
) -> None:
    policies = of_kind(ha_release, "NetworkPolicy")
    headless = next(
        s for s in services(ha_release) if s["metadata"]["name"].endswith("-postgresql-headless")
    )
    members = lm.Peer(NAMESPACE, headless["spec"]["selector"], "patroni")
    peers = release_peers(ha_release)
    assert (dict(members.pod_labels), container_port(ha_release, members)) in peers
    for labels, port in peers:
        assert admitted(policies, labels, port, lm.MONITORING_NAMESPACE, lm.PROMETHEUS_SELECTOR), (
            labels,
            port,
        )


def test_two_endpoints_of_one_service_share_its_discovery_service() -> None:
    """The translation, without the charts: a Service scraped on two ports gets one discovery
    Service with both, and publishes unready pods exactly when the Service does."""
    service: dict[str, Any] = {
        "metadata": {"name": "db", "namespace": "inventory", "labels": {"app": "db"}},
        "spec": {
            "selector": {"app": "db"},
            "publishNotReadyAddresses": True,
            "ports": [
                {"name": "metrics", "port": 9187, "targetPort": "metrics"},
                {"name": "patroni", "port": 8008, "targetPort": "patroni"},
            ],
        },
    }
    monitor = {
        "metadata": {"name": "db", "namespace": "inventory"},
        "spec": {
            "selector": {"matchLabels": {"app": "db"}},
            "endpoints": [{"port": "metrics"}, {"port": "patroni"}],
        },
    }
    targets = [
        target
        for endpoint in config.monitor_endpoints(monitor)
        for target in config.bind(endpoint, [service])
    ]
    (discovery,) = config.discovery_services(targets, {"team": "x"})
    assert discovery["metadata"]["name"] == "db-scrape"
    assert [p["name"] for p in discovery["spec"]["ports"]] == ["metrics", "patroni"]
    assert discovery["spec"]["publishNotReadyAddresses"] is True
    del service["spec"]["publishNotReadyAddresses"]
    ready_only = [t for e in config.monitor_endpoints(monitor) for t in config.bind(e, [service])]
    (discovery,) = config.discovery_services(ready_only, {})
    assert discovery["spec"]["publishNotReadyAddresses"] is False


def test_rules_reading_a_job_without_its_service_monitor_are_caught(
    release: list[Manifest],
) -> None:
    """The database's rules stay; its ServiceMonitor is gone: its job is read, never scraped."""
    database = next(
        d
        for d in release
        if d["kind"] == "ServiceMonitor" and "postgresql" in d["metadata"]["name"]
    )
    monitoring = build([d for d in release if d is not database])
    missing = rule_jobs(monitoring) - set(scraped_jobs(monitoring))
    assert missing == {f"{database['metadata']['name']}-headless"}


def test_kube_state_metrics_and_alertmanager_are_reached_by_their_service_names(
    release: list[Manifest],
) -> None:
    document = yaml.safe_load(build(release).prometheus_yaml)
    static = {job["job_name"]: job for job in document["scrape_configs"] if "static_configs" in job}
    (state_metrics,) = static.values()
    assert state_metrics["static_configs"][0]["targets"] == [lm.STATE_METRICS_ADDRESS]
    assert state_metrics["honor_labels"] is True  # its `namespace` is the described object's
    assert document["alerting"]["alertmanagers"] == [
        {"static_configs": [{"targets": [lm.ALERTMANAGER_ADDRESS]}]}
    ]


def test_a_service_monitor_selecting_no_service_is_refused_by_name(
    release: list[Manifest],
) -> None:
    broken = copy.deepcopy(release)
    monitor = next(d for d in broken if d["kind"] == "ServiceMonitor")
    monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = "renamed"
    with pytest.raises(config.MonitoringObjectError, match="no Service in inventory has labels"):
        build(broken)


def test_a_selector_the_translation_cannot_honour_is_refused_by_name() -> None:
    monitor = {
        "metadata": {"name": "api", "namespace": "inventory"},
        "spec": {"selector": {"matchExpressions": []}, "endpoints": [{"port": "http"}]},
    }
    with pytest.raises(
        config.MonitoringObjectError, match=r"inventory/api: only spec\.selector\.matchLabels"
    ):
        config.monitor_endpoints(monitor)


def test_the_crds_accept_the_releases_objects_and_refuse_a_monitor_without_port(
    release: list[Manifest],
) -> None:
    schemas = {
        crd["spec"]["names"]["kind"]: crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        for crd in lm.crds()
    }
    objects = [d for d in release if d["kind"] in schemas]
    assert {d["kind"] for d in objects} == set(schemas)
    for document in objects:
        jsonschema.validate(document, schemas[document["kind"]])
    monitor = copy.deepcopy(next(d for d in objects if d["kind"] == "ServiceMonitor"))
    del monitor["spec"]["endpoints"][0]["port"]
    with pytest.raises(jsonschema.ValidationError, match="'port' is a required property"):
        jsonschema.validate(monitor, schemas["ServiceMonitor"])


def policy(documents: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(
        d for d in documents if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == name
    )


def test_prometheus_may_reach_only_dns_targets_and_alertmanager(release: list[Manifest]) -> None:
    monitoring = build(release)
    spec = policy(lm.manifests("img", monitoring, NODE_IP), "prometheus")["spec"]
    assert spec["ingress"] == []
    assert all("ipBlock" not in peer for rule in spec["egress"] for peer in rule["to"])
    dns, *rest = spec["egress"]
    assert dns["to"][0]["podSelector"]["matchLabels"] == harness.DNS_SELECTOR
    assert {p["protocol"] for p in dns["ports"]} == {"UDP", "TCP"}
    reached = {
        (
            rule["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            rule["ports"][0]["port"],
        )
        for rule in rest
    }
    assert reached == {
        *((peer.namespace, peer.port) for peer in monitoring.scraped),
        (lm.MONITORING_NAMESPACE, lm.ALERTMANAGER_PORT),
    }
    assert (harness.STATE_METRICS_NAMESPACE, harness.STATE_METRICS_PORT) in reached


def admitted(policies: list[Manifest], pod_labels: dict[str, str], port: int | str,
             source_namespace: str, source_labels: dict[str, str]) -> bool:  # fmt: skip
    """True when some policy selecting `pod_labels` admits the source pods on `port`."""
    for item in policies:
        selector = item["spec"]["podSelector"].get("matchLabels", {})
        if any(pod_labels.get(k) != v for k, v in selector.items()):
            continue
        for rule in item["spec"].get("ingress", []):
            ports = {p["port"] for p in rule.get("ports", [])}
            for peer in rule.get("from", []):
                ns = peer.get("namespaceSelector", {}).get("matchLabels", {})
                labels = peer.get("podSelector", {}).get("matchLabels", {})
                if (
                    ns.get("kubernetes.io/metadata.name") == source_namespace
                    and all(source_labels.get(k) == v for k, v in labels.items())
                    and port in ports
                ):
                    return True
    return False


def container_port(release: list[Manifest], peer: lm.Peer) -> int | str:
    """The number of a named target port, looked up in the pods the peer selects."""
    if isinstance(peer.port, int):
        return peer.port
    for doc in release:
        template = doc.get("spec", {}).get("template", {})
        labels = template.get("metadata", {}).get("labels", {})
        if all(labels.get(k) == v for k, v in peer.pod_labels.items()):
            for container in template["spec"]["containers"]:
                for port in container.get("ports", []):
                    if port.get("name") == peer.port:
                        return int(port["containerPort"])
    raise AssertionError(f"no pod of {dict(peer.pod_labels)} has a port named {peer.port}")


def release_peers(release: list[Manifest]) -> list[tuple[dict[str, str], int | str]]:
    return [
        (dict(peer.pod_labels), container_port(release, peer))
        for peer in build(release).scraped
        if peer.namespace == NAMESPACE
    ]


def test_the_releases_policies_admit_the_local_prometheus_to_every_scraped_port(
    release: list[Manifest],
) -> None:
    policies = of_kind(release, "NetworkPolicy")
    peers = release_peers(release)
    assert len(peers) >= 2  # the API and the database exporter at least
    for labels, port in peers:
        assert admitted(policies, labels, port, lm.MONITORING_NAMESPACE, lm.PROMETHEUS_SELECTOR), (
            labels,
            port,
        )


def test_a_prometheus_without_the_declared_scraper_labels_is_not_admitted(
    release: list[Manifest],
) -> None:
    policies = of_kind(release, "NetworkPolicy")
    labels, port = release_peers(release)[0]
    assert not admitted(
        policies, labels, port, lm.MONITORING_NAMESPACE, {"app.kubernetes.io/name": "other"}
    )


def test_alertmanager_admits_only_prometheus_and_reaches_only_the_receiver(
    release: list[Manifest],
) -> None:
    documents = lm.manifests("img", build(release), NODE_IP)
    spec = policy(documents, lm.ALERTMANAGER)["spec"]
    assert spec["ingress"] == [
        {
            "from": [{"podSelector": {"matchLabels": lm.PROMETHEUS_SELECTOR}}],
            "ports": [{"port": lm.ALERTMANAGER_PORT, "protocol": "TCP"}],
        }
    ]
    assert spec["egress"] == [
        {
            "to": [{"ipBlock": {"cidr": f"{NODE_IP}/32"}}],
            "ports": [{"port": lm.RECEIVER_PORT, "protocol": "TCP"}],
        }
    ]
    receiver = yaml.safe_load(build(release).alertmanager_yaml)["receivers"][0]["webhook_configs"][
        0
    ]
    assert receiver == {
        "url": f"http://{NODE_IP}:{lm.RECEIVER_PORT}{lm.RECEIVER_PATH}",
        "send_resolved": True,
    }


def test_pods_are_restricted_with_limits_and_roll_on_a_config_change(
    release: list[Manifest],
) -> None:
    documents = lm.manifests("img", build(release), NODE_IP)
    deployments = [d for d in documents if d["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == {"prometheus", lm.ALERTMANAGER}
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    changed = copy.deepcopy(release)
    rule = next(d for d in changed if d["kind"] == "PrometheusRule")
    rule["spec"]["groups"][0]["name"] += "-changed"
    again = lm.manifests("img", build(changed), NODE_IP)

    def checksum(docs: list[dict[str, Any]]) -> str:
        deployment = next(
            d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "prometheus"
        )
        return str(deployment["spec"]["template"]["metadata"]["annotations"][lm.CHECKSUM])

    assert checksum(documents) != checksum(again)


def test_no_pod_gets_an_api_token_and_nothing_cluster_wide_is_made(
    release: list[Manifest],
) -> None:
    documents = lm.manifests("img", build(release), NODE_IP)
    assert not {"ClusterRole", "ClusterRoleBinding", "Role", "ServiceAccount"} & {
        d["kind"] for d in documents
    }
    for deployment in (d for d in documents if d["kind"] == "Deployment"):
        assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


def test_the_scraper_comes_from_the_local_values_merged_as_helm_does(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text(
        "global: {monitoring: {scraper: {namespace: kube-system, podLabels: {rsName: ama}}}}\n",
        encoding="utf-8",
    )
    local = tmp_path / "values-local.yaml"
    local.write_text(
        "global: {monitoring: {scraper: {namespace: mon, podLabels: {app: p, rsName: ''}}}}\n",
        encoding="utf-8",
    )
    assert lm.scraper(local) == lm.Scraper("mon", {"app": "p"})
    local.write_text(
        "global: {monitoring: {scraper: {podLabels: {rsName: ''}}}}\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="needs `namespace` and `podLabels`"):
        lm.scraper(local)
