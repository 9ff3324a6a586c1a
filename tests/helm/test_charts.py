"""Behaviour of the individual charts beyond the environment files: tuning, monitoring
switches, image references and the backup extension point."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.helm.rendering import (
    API,
    APP_ROUTING_API,
    DB,
    MANAGED_PROMETHEUS_API,
    MONITORING_API,
    UMBRELLA,
    DuplicateKey,
    Manifest,
    Rendered,
    Renderer,
    RenderError,
    containers,
    env_apis,
    load_rendered,
    pod_spec,
    restricted_context_problems,
)


def _conf(rendered: Rendered, key: str) -> dict[str, str]:
    text = rendered.one("ConfigMap", f"{DB}-config")["data"][key]
    pairs = (
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )
    return {k.strip(): v.strip() for k, v in pairs}


def _mb(value: str) -> int:
    match = re.fullmatch(r"(\d+)MB", value)
    assert match, value
    return int(match.group(1))


@pytest.mark.parametrize(
    ("memory", "cpu", "connections"),
    [("1Gi", "1", 50), ("2Gi", "2", 100), ("8Gi", "4", 100), ("16Gi", "8000m", 100)],
)
def test_tuning_scales_with_memory_and_cpu_limits(
    renderer: Renderer, memory: str, cpu: str, connections: int
) -> None:
    rendered = renderer.render(
        "postgresql",
        sets=[
            f"resources.limits.memory={memory}",
            f"resources.requests.memory={memory}",
            f"resources.limits.cpu={cpu}",
            f"tuning.maxConnections={connections}",
        ],
    )
    tuning = _conf(rendered, "10-tuning.conf")
    mem_mb = int(memory.removesuffix("Gi")) * 1024
    cores = int(cpu.removesuffix("m")) // 1000 if cpu.endswith("m") else int(cpu)
    assert _mb(tuning["shared_buffers"]) == mem_mb // 4
    assert _mb(tuning["effective_cache_size"]) == mem_mb * 3 // 4
    assert _mb(tuning["maintenance_work_mem"]) == min(2048, max(64, mem_mb // 16))
    assert _mb(tuning["autovacuum_work_mem"]) == min(1024, max(8, mem_mb // 32))
    assert _mb(tuning["wal_buffers"]) == min(16, mem_mb // 4 // 32)
    assert int(tuning["max_parallel_workers"]) == cores
    assert int(tuning["max_connections"]) == connections
    assert tuning["random_page_cost"] == "1.1"
    assert tuning["jit"] == "off"
    # The derived work_mem grows with the pod (its budget: tests/helm/test_memory_budget.py).
    assert _mb(tuning["work_mem"]) >= (8 if mem_mb >= 8192 else 1)


def test_tuning_grows_monotonically(renderer: Renderer) -> None:
    sizes = ["512Mi", "1Gi", "4Gi", "32Gi"]
    buffers = [
        _mb(
            _conf(
                renderer.render(
                    "postgresql", sets=[f"resources.limits.memory={m}", "tuning.maxConnections=30"]
                ),
                "10-tuning.conf",
            )["shared_buffers"]
        )
        for m in sizes
    ]
    assert buffers == sorted(buffers)
    assert len(set(buffers)) == len(buffers)


def test_hba_allows_only_scram_over_the_network(renderer: Renderer) -> None:
    hba = renderer.render("postgresql").one("ConfigMap", f"{DB}-config")["data"]["pg_hba.conf"]
    rules = [line.split() for line in hba.splitlines() if line and not line.startswith("#")]
    for rule in rules:
        if rule[0].startswith("host"):
            assert rule[-1] == "scram-sha-256", rule
        else:
            assert rule[3] in ("peer", "scram-sha-256"), rule
    assert not any("trust" in r or "md5" in r for r in rules)
    chart_conf = _conf(renderer.render("postgresql"), "20-chart.conf")
    assert chart_conf["shared_preload_libraries"] == "'pg_stat_statements'"


@pytest.mark.parametrize("chart", ["postgresql", "inventory-api"])
@pytest.mark.parametrize(
    ("settings", "crds", "expected"),
    [
        ([], True, False),  # not asked: nothing even though the operator is installed
        (["monitoring.enabled=true"], True, True),  # asked, CRDs present
        (["monitoring.enabled=true", "monitoring.forceCreate=true"], False, True),  # forced
    ],
)
def test_monitoring_objects_only_when_asked(
    renderer: Renderer, chart: str, settings: list[str], crds: bool, expected: bool
) -> None:
    kinds = renderer.render(chart, sets=settings, monitoring_crds=crds).kinds()
    assert ("ServiceMonitor" in kinds) is expected
    assert ("PrometheusRule" in kinds) is expected


@pytest.mark.parametrize("chart", ["postgresql", "inventory-api"])
@pytest.mark.parametrize(
    ("provider", "install"),
    [
        ("prometheus-operator", "install the Prometheus Operator CRDs"),
        ("azure-managed", "enable Azure Managed Prometheus on the AKS cluster (monitor_metrics)"),
    ],
)
def test_missing_monitoring_api_fails_with_what_to_install(
    renderer: Renderer, chart: str, provider: str, install: str
) -> None:
    """Asked for monitoring on a cluster without the provider's API: an error, not a silent
    skip. The other provider's API does not count."""
    other = provider == "azure-managed"
    with pytest.raises(RenderError) as refused:
        renderer.render(
            chart,
            sets=["monitoring.enabled=true", f"monitoring.provider={provider}"],
            monitoring_crds=other,
            managed_prometheus_crds=not other,
        )
    assert install in str(refused.value)


@pytest.mark.parametrize("chart", ["postgresql", "inventory-api"])
def test_managed_prometheus_reads_azmonitoring_service_monitors_and_no_rules(
    renderer: Renderer, chart: str
) -> None:
    """AKS's scraper reads only azmonitoring.coreos.com/v1 and evaluates no PrometheusRule
    (its rules are Azure rule groups made by Terraform from the same rule file)."""
    rendered = renderer.render(
        chart,
        sets=["monitoring.enabled=true", "monitoring.provider=azure-managed"],
        managed_prometheus_crds=True,
    )
    monitor = rendered.one("ServiceMonitor")
    assert monitor["apiVersion"] == MANAGED_PROMETHEUS_API
    assert monitor["spec"]["labelLimit"] == 63
    assert "PrometheusRule" not in rendered.kinds()
    operator = renderer.render(chart, sets=["monitoring.enabled=true"], monitoring_crds=True)
    assert operator.one("ServiceMonitor")["apiVersion"] == MONITORING_API
    assert "labelLimit" not in operator.one("ServiceMonitor")["spec"]


@pytest.mark.parametrize(("chart", "port"), [("postgresql", 9187), ("inventory-api", 8080)])
def test_network_policy_admits_only_the_scraper_of_the_target(
    renderer: Renderer, chart: str, port: int, tmp_path: Path
) -> None:
    """The metrics port opens to the scraper the values name (namespace and pod labels), and
    follows when they change; without monitoring it does not open to any scraper."""
    # Helm merges maps: a default label is dropped by setting it to null.
    labels = {"app.kubernetes.io/name": None, "app": "collector"}
    scraper = {"namespace": "observability", "podLabels": labels}
    values = tmp_path / "scraper.yaml"
    values.write_text(
        yaml.safe_dump({"monitoring": {"enabled": True, "scraper": scraper}}), encoding="utf-8"
    )
    policy = renderer.render(chart, values=[values], monitoring_crds=True).of_kind("NetworkPolicy")[
        0
    ]
    assert {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}},
        "podSelector": {"matchLabels": {"app": "collector"}},
    } in _peers_of_port(policy, port)
    quiet = renderer.render(chart).of_kind("NetworkPolicy")[0]
    assert all("podSelector" not in peer for peer in _peers_of_port(quiet, port))


def _peers_of_port(policy: Manifest, port: int) -> list[Manifest]:
    rules = policy["spec"]["ingress"]
    return [p for r in rules if {"port": port, "protocol": "TCP"} in r["ports"] for p in r["from"]]


def test_service_monitors_select_the_metrics_ports(renderer: Renderer) -> None:
    db = renderer.render("postgresql", sets=["monitoring.enabled=true"], monitoring_crds=True)
    monitor = db.one("ServiceMonitor")
    headless = db.one("Service", f"{DB}-headless")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= headless["metadata"]["labels"].items()
    )
    client = db.one("Service", DB)
    assert (
        not monitor["spec"]["selector"]["matchLabels"].items()
        <= client["metadata"]["labels"].items()
    )
    assert "metrics" in {p["name"] for p in headless["spec"]["ports"]}
    pooled = renderer.render(
        "postgresql", sets=["monitoring.enabled=true", "pooler.enabled=true"], monitoring_crds=True
    )
    pooler = pooled.one("Service", f"{DB}-pooler")
    scraping = [
        m["metadata"]["name"]
        for m in pooled.of_kind("ServiceMonitor")
        if m["spec"]["selector"]["matchLabels"].items() <= pooler["metadata"]["labels"].items()
    ]
    assert scraping == [f"{DB}-pooler"]
    api = renderer.render("inventory-api", sets=["monitoring.enabled=true"], monitoring_crds=True)
    assert api.one("ServiceMonitor")["spec"]["endpoints"][0] == {
        "port": "http",
        "path": "/metrics",
        "interval": "30s",
        "scrapeTimeout": "10s",
    }


@pytest.mark.parametrize(
    ("settings", "image"),
    [
        ([], "inventory-api:1.0.0"),
        (["image.registry=cr.example.io", "image.tag=2.3.4"], "cr.example.io/inventory-api:2.3.4"),
        (["image.digest=sha256:" + "a" * 64], "inventory-api:1.0.0@sha256:" + "a" * 64),
    ],
)
def test_image_reference(renderer: Renderer, settings: list[str], image: str) -> None:
    rendered = renderer.render("inventory-api", sets=settings)
    for kind, name in (("Deployment", API), ("Job", f"{API}-migrations")):
        assert {c["image"] for c in containers(rendered.one(kind, name))} == {image}


def test_ingress_class_hosts_and_tls(renderer: Renderer) -> None:
    rendered = renderer.render(
        "inventory-api",
        sets=[
            "ingress.enabled=true",
            "ingress.className=internal",
            "ingress.hosts[0].host=api.example.org",
            "ingress.hosts[0].paths[0]=/api/",
            "ingress.tls.enabled=true",
            "ingress.tls.secretName=api-tls",
        ],
    )
    ingress = rendered.one("Ingress", API)
    assert ingress["spec"]["ingressClassName"] == "internal"
    assert ingress["spec"]["tls"] == [{"secretName": "api-tls", "hosts": ["api.example.org"]}]
    assert ingress["spec"]["rules"][0]["host"] == "api.example.org"


INTERNAL_INGRESS = [
    "ingress.enabled=true",
    "ingress.className=inventory-internal",
    "ingress.internalLoadBalancer.address=10.30.7.250",
]


def test_an_internal_ingress_address_gets_its_own_controller_there(renderer: Renderer) -> None:
    """Behind a gateway in the VNet: an app-routing NGINX for the class, on an internal load
    balancer at the address the gateway forwards to; the Ingress keeps the nginx limits."""
    rendered = renderer.render("inventory-api", sets=INTERNAL_INGRESS, app_routing_crds=True)
    (controller,) = rendered.of_kind("NginxIngressController")
    assert controller["apiVersion"] == APP_ROUTING_API
    assert controller["spec"]["ingressClassName"] == "inventory-internal"
    assert controller["spec"]["loadBalancerAnnotations"] == {
        "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
        "service.beta.kubernetes.io/azure-load-balancer-ipv4": "10.30.7.250",
    }
    ingress = rendered.one("Ingress", API)
    assert ingress["spec"]["ingressClassName"] == "inventory-internal"
    assert "nginx.ingress.kubernetes.io/limit-rps" in ingress["metadata"]["annotations"]
    assert "NginxIngressController" not in renderer.render("inventory-api").kinds()


def test_an_internal_ingress_address_without_the_routing_add_on_is_refused(
    renderer: Renderer,
) -> None:
    message = renderer.render_error("inventory-api", sets=INTERNAL_INGRESS)
    assert "the cluster serves no approuting.kubernetes.azure.com/v1alpha1 API" in message


def test_an_internal_ingress_address_must_be_an_ipv4_address(renderer: Renderer) -> None:
    sets = [*INTERNAL_INGRESS[:2], "ingress.internalLoadBalancer.address=10.30.7"]
    message = renderer.render_error("inventory-api", sets=sets)
    assert "at '/ingress/internalLoadBalancer/address'" in message


def test_without_hpa_the_deployment_sets_replicas(renderer: Renderer) -> None:
    rendered = renderer.render(
        "inventory-api", sets=["autoscaling.enabled=false", "replicaCount=4"]
    )
    assert "HorizontalPodAutoscaler" not in rendered.kinds()
    assert rendered.one("Deployment", API)["spec"]["replicas"] == 4


def test_with_hpa_the_deployment_leaves_replicas_to_it(renderer: Renderer) -> None:
    rendered = renderer.render("inventory-api")
    assert "replicas" not in rendered.one("Deployment", API)["spec"]
    assert rendered.one("HorizontalPodAutoscaler", API)["spec"]["minReplicas"] >= 2


HPA_OWNS_REPLICAS = "replicaCount (3) is set while autoscaling.enabled is true"


def test_replica_count_with_the_hpa_on_fails_the_render(renderer: Renderer) -> None:
    assert HPA_OWNS_REPLICAS in renderer.render_error("inventory-api", sets=["replicaCount=3"])


def test_replica_count_with_the_hpa_on_fails_through_the_umbrella(renderer: Renderer) -> None:
    local = renderer.chart_dir(UMBRELLA) / "values-local.yaml"
    message = renderer.render_error(
        UMBRELLA, values=[local], sets=["inventory-api.replicaCount=3"], **env_apis("local")
    )
    assert HPA_OWNS_REPLICAS in message


def test_without_hpa_replica_count_is_required(renderer: Renderer) -> None:
    message = renderer.render_error("inventory-api", sets=["autoscaling.enabled=false"])
    assert "autoscaling.enabled is false, so replicaCount is required" in message


def test_backup_extension_point(renderer: Renderer, fixtures_dir: Path) -> None:
    off = renderer.render("postgresql")
    assert "30-archive.conf" not in off.one("ConfigMap", f"{DB}-config")["data"]
    on = renderer.render(
        "postgresql",
        values=[fixtures_dir / "backup-enabled.yaml"],
        sets=["monitoring.enabled=true"],
        monitoring_crds=True,
    )
    archive = _conf(on, "30-archive.conf")
    assert archive["archive_mode"] == "on"
    assert archive["archive_command"] == (
        "'pgbackrest --config=/tmp/pgbackrest/pgbackrest.conf --stanza=inventory archive-push %p'"
    )
    assert archive["archive_timeout"] == "60"
    postgres = next(c for c in containers(on.one("StatefulSet", DB)) if c["name"] == "postgresql")
    env = {e["name"]: e.get("value") for e in postgres["env"]}
    assert env["BACKUP_AZURE_ACCOUNT"] == "stinventorybackup"
    assert env["BACKUP_AZURE_KEY_TYPE"] == "sas"  # workload identity, no storage key
    assert env["PGBACKREST_CONFIG"] == env["BACKUP_CONFIG"] == "/tmp/pgbackrest/pgbackrest.conf"
    assert "PGBACKREST_REPO1_AZURE_KEY" not in env
    sa = on.one("ServiceAccount", f"{DB}-backup")
    assert sa["metadata"]["annotations"]["azure.workload.identity/client-id"] == (
        "12345678-1234-1234-1234-123456789abc"
    )
    sts = on.one("StatefulSet", DB)
    pod = pod_spec(sts)
    assert pod["serviceAccountName"] == f"{DB}-backup"
    assert sts["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    server = next(c for c in pod["containers"] if c["name"] == "pgbackrest-server")
    assert "command" not in server
    assert server["args"] == ["pgbackrest-server"]
    assert server["ports"][0]["containerPort"] == 8432
    policy = on.one("NetworkPolicy", DB)
    assert any({"port": 8432, "protocol": "TCP"} in r["ports"] for r in policy["spec"]["ingress"])
    assert any({"port": 443, "protocol": "TCP"} in r["ports"] for r in policy["spec"]["egress"])
    alerts = {
        r.get("alert") for g in on.one("PrometheusRule")["spec"]["groups"] for r in g["rules"]
    }
    assert {"PostgresFullBackupTooOld", "PostgresDiffBackupTooOld"} <= alerts


def test_local_backup_reads_the_storage_key_and_ca_from_secret_files(
    renderer: Renderer, fixtures_dir: Path
) -> None:
    rendered = renderer.render(
        "postgresql",
        values=[fixtures_dir / "backup-enabled.yaml"],
        sets=[
            "backup.local.storageKeySecret=azurite-key",
            "backup.local.storageCASecret=azurite-ca",
            "backup.azure.storagePort=10000",
        ],
    )
    sts = rendered.one("StatefulSet", DB)
    workloads = [sts, *rendered.of_kind("CronJob")]
    for workload in workloads:
        (volume,) = [v for v in pod_spec(workload)["volumes"] if v["name"] == "storage-local"]
        sources = {
            s["secret"]["name"]: s["secret"]["items"] for s in volume["projected"]["sources"]
        }
        assert sources == {
            "azurite-key": [{"key": "key", "path": "key"}],
            "azurite-ca": [{"key": "ca.crt", "path": "ca.crt"}],
        }
    for container in [c for w in workloads for c in containers(w)]:
        if container["name"] == "exporter":
            continue
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert "PGBACKREST_REPO1_AZURE_KEY" not in env, "a key in the environment leaks"
        assert env["BACKUP_AZURE_KEY_TYPE"] == "shared"
        assert env["BACKUP_AZURE_KEY_FILE"] == "/etc/pgbackrest/storage/key"
        assert env["BACKUP_STORAGE_CA_FILE"] == "/etc/pgbackrest/storage/ca.crt"
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert mounts["storage-local"] == "/etc/pgbackrest/storage", container["name"]
    egress = rendered.one("NetworkPolicy", DB)["spec"]["egress"]
    assert any({"port": 10000, "protocol": "TCP"} in r["ports"] for r in egress)


def test_backup_jobs_are_restricted_too(renderer: Renderer, fixtures_dir: Path) -> None:
    """The optional backup/restore-drill workloads meet the same bar as the environments."""
    rendered = renderer.render("postgresql", values=[fixtures_dir / "backup-enabled.yaml"])
    assert {"CronJob", "StatefulSet"} <= rendered.kinds()
    assert restricted_context_problems(rendered) == []


def test_every_rendered_mapping_key_is_unique(env_manifests: Rendered) -> None:
    """helm applies a manifest that names a key twice, but Flux's post-renderer refuses it: the
    renderer loads every document strictly, so rendering at all proves it."""
    assert env_manifests.docs


def test_a_key_given_twice_is_refused() -> None:
    text = "kind: ConfigMap\nmetadata:\n  labels:\n    a: x\n    a: x\n"
    with pytest.raises(DuplicateKey, match="'a' given twice"):
        load_rendered(text)
