"""The database under Patroni (`postgresql.ha.enabled`), rendered for every environment.

Names the chart and the image share are read from their one source: the scope label from
dbops.patroni_config, the Role's rules from the chart file tests/ha runs its members with.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from dbops import patroni_config, switchover
from dbops.patroni_config import SCOPE_LABEL

from tests.helm.rendering import (
    CHARTS_SRC,
    CONTRACT,
    UMBRELLA,
    Manifest,
    Rendered,
    Renderer,
    env_apis,
    is_token_volume,
    pod_spec,
    restricted_context_problems,
    token_holders,
    workloads,
)
from tests.helm.schemas import validate_all
from tests.support.tools import REPO_ROOT

DB = CONTRACT.fullnames["postgresql"]  # the release's database name, from the one source
ROLE_RULES = CHARTS_SRC / "postgresql" / "files" / "patroni-role-rules.yaml"
DBOPS = REPO_ROOT / "images" / "postgresql"
# What the environments promise (docs/adr/0001): members and synchronous replication.
MEMBERS = {"prod": 3, "staging": 2, "dev": 1, "local": 2}
SYNCHRONOUS = {"prod": "strict", "staging": "on", "dev": "off", "local": "on"}


@pytest.fixture(scope="session")
def ha(renderer: Renderer, env: str) -> Rendered:
    return renderer.render(UMBRELLA, env, sets=("postgresql.ha.enabled=true",), **env_apis(env))


@pytest.fixture(scope="session")
def single(renderer: Renderer, env: str) -> Rendered:
    """The environment with Patroni switched off: the one plain server the chart still offers."""
    return renderer.render(UMBRELLA, env, sets=("postgresql.ha.enabled=false",), **env_apis(env))


def _postgres(ha: Rendered) -> Manifest:
    return next(c for c in pod_spec(ha.one("StatefulSet", DB))["containers"]
                if c["name"] == "postgresql")  # fmt: skip


def _env(ha: Rendered) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in _postgres(ha)["env"]}


def _selector_labels(ha: Rendered) -> dict[str, str]:
    labels: dict[str, str] = ha.one("StatefulSet", DB)["spec"]["selector"]["matchLabels"]
    return labels


def test_members_and_synchronous_mode_per_environment(ha: Rendered, env: str) -> None:
    assert ha.one("StatefulSet", DB)["spec"]["replicas"] == MEMBERS[env]
    assert _env(ha)["HA_SYNCHRONOUS_MODE"] == SYNCHRONOUS[env]
    assert _postgres(ha)["args"] == ["patroni"]


def test_read_write_service_is_the_leader_endpoints_and_read_only_selects_replicas(
    ha: Rendered,
) -> None:
    rw = ha.one("Service", DB)
    assert "selector" not in rw["spec"], "Patroni owns the read-write Service's Endpoints"
    assert _env(ha)["HA_SCOPE"] == rw["metadata"]["name"]
    ro = ha.one("Service", f"{DB}-replicas")
    assert ro["spec"]["selector"] == {**_selector_labels(ha), "role": "replica"}


def test_members_are_found_by_the_labels_patroni_is_given(ha: Rendered) -> None:
    pod_labels = ha.one("StatefulSet", DB)["spec"]["template"]["metadata"]["labels"]
    assert json.loads(_env(ha)["HA_LABELS"]) == _selector_labels(ha)
    assert pod_labels[SCOPE_LABEL] == _env(ha)["HA_SCOPE"]
    assert "helm.sh/chart" not in pod_labels, "a chart version bump would restart every member"


def test_role_holds_only_patronis_rules_and_binds_the_database_pods(ha: Rendered) -> None:
    role = ha.one("Role", f"{DB}-patroni")
    assert role["rules"] == yaml.safe_load(ROLE_RULES.read_text())
    assert all(rule["apiGroups"] == [""] for rule in role["rules"])
    assert "secrets" not in {r for rule in role["rules"] for r in rule["resources"]}
    binding = ha.one("RoleBinding", f"{DB}-patroni")
    sts_pod = pod_spec(ha.one("StatefulSet", DB))
    assert binding["subjects"][0]["name"] == sts_pod["serviceAccountName"]


def test_only_the_patroni_container_holds_an_api_token(ha: Rendered) -> None:
    """Nothing auto-mounts a token; the one projected token goes to the container that runs
    Patroni, at the path its in-cluster client reads, and not to the members' sidecars."""
    for workload in workloads(ha):
        assert pod_spec(workload)["automountServiceAccountToken"] is False, workload["metadata"]
    sts = ha.one("StatefulSet", DB)
    patroni = [c["name"] for c in pod_spec(sts)["containers"] if c.get("args") == ["patroni"]]
    assert token_holders(ha) == {f"StatefulSet/{DB}/{name}" for name in patroni}
    assert len(pod_spec(sts)["containers"]) > len(patroni), "the sidecars are checked too"
    (token,) = [v for v in pod_spec(sts)["volumes"] if is_token_volume(v)]
    (mount,) = [m for m in _postgres(ha)["volumeMounts"] if m["name"] == token["name"]]
    assert mount["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount"
    assert mount["readOnly"] is True
    (source,) = [s["serviceAccountToken"] for s in token["projected"]["sources"]
                 if "serviceAccountToken" in s]  # fmt: skip
    assert "audience" not in source, "the API server's own audience"
    assert source["expirationSeconds"] <= 3607, "bound and rotated like the kubelet's own"


def test_disruption_budget_and_priority_above_the_api(ha: Rendered) -> None:
    pdb = ha.one("PodDisruptionBudget", DB)
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == _selector_labels(ha)
    (priority,) = ha.of_kind("PriorityClass")
    assert pod_spec(ha.one("StatefulSet", DB))["priorityClassName"] == priority["metadata"]["name"]
    others = [pod_spec(w).get("priorityClassName") for w in workloads(ha)
              if w["metadata"]["name"] != DB]  # fmt: skip
    assert priority["value"] > 0
    assert not any(others), "another workload shares or outranks the database's priority"


def test_probes_use_patronis_rest_api_and_liveness_ignores_postgres(ha: Rendered) -> None:
    postgres = _postgres(ha)
    api_port = {p["name"]: p["containerPort"] for p in postgres["ports"]}["patroni"]
    assert str(api_port) == _env(ha)["HA_API_PORT"]
    assert postgres["livenessProbe"]["httpGet"]["path"] == "/liveness"
    assert postgres["startupProbe"]["httpGet"]["path"] == "/liveness"
    assert postgres["readinessProbe"]["httpGet"]["path"] == "/readiness"


def test_a_stopping_primary_switches_over_within_the_grace_period(ha: Rendered) -> None:
    """preStop runs the image's dbops.switchover (not pg_ctl: Patroni stops PostgreSQL), with
    the variables it reads, and leaves Patroni's shutdown half of the grace period."""
    sts = ha.one("StatefulSet", DB)
    command = _postgres(ha)["lifecycle"]["preStop"]["exec"]["command"]
    assert command == ["/usr/bin/python3", "-m", "dbops.switchover"]
    assert (DBOPS / (command[-1].replace(".", "/") + ".py")).is_file()
    env = _env(ha)
    assert set(switchover.SETTINGS) <= set(env)
    grace = pod_spec(sts)["terminationGracePeriodSeconds"]
    assert 0 < int(env[switchover.TIMEOUT]) <= grace // 2
    # Rolling, highest ordinal first: the hook relies on replaced members having higher ordinals.
    assert sts["spec"]["updateStrategy"] == {"type": "RollingUpdate"}
    assert "partition" not in sts["spec"]["updateStrategy"]


@pytest.mark.parametrize("ha_enabled", [False, True])
def test_a_chart_version_bump_leaves_the_pod_template_unchanged(
    renderer: Renderer, tmp_path: Path, ha_enabled: bool
) -> None:
    """The StatefulSet's own labels carry helm.sh/chart; its pod template must not, or every
    chart release would restart every member (under Patroni, a switchover each time)."""
    templates = []
    for version in ("0.1.0", "0.2.0+build.7"):
        chart = tmp_path / version / "postgresql"
        shutil.copytree(renderer.chart_dir("postgresql"), chart)
        meta = yaml.safe_load((chart / "Chart.yaml").read_text())
        meta["version"] = version
        (chart / "Chart.yaml").write_text(yaml.safe_dump(meta))
        out = renderer.run("template", "db", str(chart), "--set", f"ha.enabled={ha_enabled}")
        (sts,) = [d for d in yaml.safe_load_all(out) if d and d["kind"] == "StatefulSet"]
        assert sts["metadata"]["labels"]["helm.sh/chart"] == f"postgresql-{version}".replace(
            "+", "_"
        )
        templates.append(sts["spec"]["template"])
    assert templates[0] == templates[1]


def test_members_spread_over_zones_and_nodes(ha: Rendered, env: str) -> None:
    pod = pod_spec(ha.one("StatefulSet", DB))
    (zone,) = pod["topologySpreadConstraints"]
    assert zone["topologyKey"] == "topology.kubernetes.io/zone"
    anti = pod["affinity"]["podAntiAffinity"]
    if env in ("prod", "staging"):
        assert zone["whenUnsatisfiable"] == "DoNotSchedule"
        (term,) = anti["requiredDuringSchedulingIgnoredDuringExecution"]
    else:
        (preferred,) = anti["preferredDuringSchedulingIgnoredDuringExecution"]
        term = preferred["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"] == _selector_labels(ha)


def test_replication_and_rest_api_open_only_to_members_and_backups(ha: Rendered) -> None:
    policy = ha.one("NetworkPolicy", DB)["spec"]
    api_port = int(_env(ha)["HA_API_PORT"])
    members = [{"podSelector": {"matchLabels": _selector_labels(ha)}}]
    # The scraper's rule (from its namespace) is checked in the monitoring tests.
    peer_rules = [
        r
        for r in policy["ingress"]
        if any(p["port"] == api_port for p in r["ports"])
        and not any("namespaceSelector" in peer for peer in r["from"])
    ]
    (replication,) = [r for r in peer_rules if r["from"] == members]
    assert {p["port"] for p in replication["ports"]} == {5432, api_port}
    # Besides the members only the backup jobs, on the REST API alone (test_backup_ha.py).
    others = [r for r in peer_rules if r["from"] != members]
    assert [r["ports"] for r in others] == [[{"port": api_port, "protocol": "TCP"}]]
    egress_peers = [r for r in policy["egress"] if r["to"] == members]
    assert {p["port"] for p in egress_peers[0]["ports"]} == {5432, api_port}
    api_rules = [r for r in policy["egress"] if {p["port"] for p in r["ports"]} == {443, 6443}]
    assert api_rules, "no egress to the Kubernetes API server"


def _scraper_rules(policy: Manifest) -> list[Manifest]:
    """Ingress rules admitting pods of another namespace: the monitoring target's scraper."""
    return [
        r for r in policy["spec"]["ingress"] if any("namespaceSelector" in p for p in r["from"])
    ]


def test_every_member_is_scraped_on_patronis_rest_api(ha: Rendered) -> None:
    """Patroni's /metrics: the headless Service's `patroni` port is an endpoint of the database's
    ServiceMonitor, and the scraper (and only it, besides the members) may reach that port."""
    api_port = int(_env(ha)["HA_API_PORT"])
    headless = ha.one("Service", f"{DB}-headless")
    ports = {p["name"]: p["port"] for p in headless["spec"]["ports"]}
    assert ports["patroni"] == api_port
    monitor = ha.one("ServiceMonitor", DB)
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= headless["metadata"]["labels"].items()
    endpoints = {e["port"]: e for e in monitor["spec"]["endpoints"]}
    assert set(endpoints) == {"metrics", "patroni"}
    assert endpoints["patroni"]["path"] == "/metrics"
    (scraper,) = _scraper_rules(ha.one("NetworkPolicy", DB))
    assert {p["port"] for p in scraper["ports"]} == {ports["metrics"], api_port}


def test_without_ha_no_patroni_endpoint_is_scraped(single: Rendered) -> None:
    env_manifests = single
    monitor = env_manifests.one("ServiceMonitor", DB)
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics"]
    headless = env_manifests.one("Service", f"{DB}-headless")
    assert "patroni" not in {p["name"] for p in headless["spec"]["ports"]}
    (metrics,) = [p["port"] for p in headless["spec"]["ports"] if p["name"] == "metrics"]
    (scraper,) = _scraper_rules(env_manifests.one("NetworkPolicy", DB))
    assert [p["port"] for p in scraper["ports"]] == [metrics]


def test_without_ha_the_single_server_is_unchanged(single: Rendered) -> None:
    env_manifests = single
    assert env_manifests.one("StatefulSet", DB)["spec"]["replicas"] == 1
    assert "selector" in env_manifests.one("Service", DB)["spec"]
    assert not env_manifests.of_kind("Role")
    assert pod_spec(env_manifests.one("StatefulSet", DB))["automountServiceAccountToken"] is False
    assert token_holders(env_manifests) == set(), "no API token without Patroni"
    # The plain server stops itself: a fast shutdown (rolls back, clean checkpoint) in the grace.
    pod = pod_spec(env_manifests.one("StatefulSet", DB))
    (postgres,) = [c for c in pod["containers"] if c["name"] == "postgresql"]
    pre_stop = postgres["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[:2] == ["/usr/lib/postgresql/15/bin/pg_ctl", "stop"]
    assert pre_stop[pre_stop.index("-m") + 1] == "fast"
    assert int(pre_stop[pre_stop.index("-t") + 1]) < pod["terminationGracePeriodSeconds"]
    assert not env_manifests.of_kind("Secret"), "no member passwords without Patroni"
    assert restricted_context_problems(env_manifests) == []


def test_manifests_validate_against_the_kubernetes_schemas(ha: Rendered) -> None:
    """Strict schema validation (unknown fields fail) of every non-custom object rendered."""
    assert validate_all(ha, "1.33") == []


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("ha.synchronousMode=always", "synchronousMode"),
        ("ha.ttl=10", "ttl"),
        ("ha.zoneSpread=Sometimes", "zoneSpread"),
        ("ha.members=0", "members"),
    ],
)
def test_schema_refuses_unsafe_ha_settings(renderer: Renderer, setting: str, message: str) -> None:
    error = renderer.render_error("postgresql", sets=("ha.enabled=true", setting))
    assert message in error


def test_members_are_guaranteed_qos(ha: Rendered) -> None:
    for container in pod_spec(ha.one("StatefulSet", DB))["containers"]:
        resources = container["resources"]
        assert resources["requests"] == resources["limits"], container["name"]
        assert {"cpu", "memory"} <= set(resources["limits"]), container["name"]


def test_members_run_restricted_with_all_probes(ha: Rendered) -> None:
    """Restricted everywhere, token auto-mounting included (Patroni's is projected)."""
    assert restricted_context_problems(ha) == []


def test_a_new_cluster_starts_with_the_charts_connection_budget(
    ha: Rendered, env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ConfigMap laid out as the pod mounts it, read by the image's Patroni renderer: the
    dynamic configuration a new cluster is seeded with carries the chart's max_connections and
    max_worker_processes (Patroni's command line would otherwise impose 100 and 8)."""
    data = ha.one("ConfigMap", f"{DB}-config")["data"]
    volume = next(
        v for v in pod_spec(ha.one("StatefulSet", DB))["volumes"] if v["name"] == "config"
    )
    mount = next(m for m in _postgres(ha)["volumeMounts"] if m["name"] == "config")
    for item in volume["configMap"]["items"]:
        (tmp_path / item["path"]).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / item["path"]).write_text(data[item["key"]])
    for name in ("superuser", "replication", "rewind"):
        (tmp_path / name).write_text(f"{name}-password-long-enough\n")
        monkeypatch.setenv(f"HA_{name.upper()}_PASSWORD_FILE", str(tmp_path / name))
    for key, value in _env(ha).items():
        if isinstance(value, str) and key.startswith("HA_") and "PASSWORD" not in key:
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("HA_MEMBER_NAME", f"{DB}-0")
    monkeypatch.setenv("HA_NAMESPACE", "inventory")
    monkeypatch.setenv("HA_POD_IP", "10.0.0.4")
    monkeypatch.setenv("PGDATA", "/var/lib/postgresql/data/pgdata")
    monkeypatch.delenv("RESTORE_FROM_BACKUP", raising=False)
    monkeypatch.delenv("BACKUP_AZURE_ACCOUNT", raising=False)
    main = mount["mountPath"] + "/postgresql.conf"
    monkeypatch.setenv("HA_BASE_CONF", str(tmp_path / "postgresql.conf"))
    parameters = patroni_config.render()["bootstrap"]["dcs"]["postgresql"]["parameters"]
    tuning = dict(
        line.split(" = ", 1) for line in data["10-tuning.conf"].splitlines() if " = " in line
    )
    assert parameters["max_connections"] == tuning["max_connections"]
    assert parameters["max_worker_processes"] == tuning["max_worker_processes"]
    assert main == patroni_config.DEFAULT_BASE_CONF  # where the image looks without HA_BASE_CONF
