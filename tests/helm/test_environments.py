"""Behaviour of the umbrella as rendered for every environment (dev, staging, prod, local)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from pipelines.targets.local_monitoring import MONITORING_NAMESPACE
from tests.helm.rendering import (
    API,
    CHARTS_SRC,
    CONTRACT,
    DB,
    FIXTURES,
    MANAGED_PROMETHEUS_API,
    MONITORING_API,
    RELEASE,
    UMBRELLA,
    Manifest,
    Rendered,
    Renderer,
    containers,
    env_apis,
    pod_spec,
    restricted_context_problems,
    token_holders,
    workloads,
)

BACKUP_SA = CONTRACT.service_accounts["backup"]
DATABASE_SERVICE, POOLER_SERVICE = CONTRACT.services["database"], CONTRACT.services["pooler"]
# What each Azure environment promises (prod: docs/disaster-recovery.md): schedules of the full and
# differential backups, heartbeat and restore drill, and the full/differential backups kept.
BACKUP_PLAN = {
    "dev": ({"full": "15 2 * * 0", "diff": "15 2 * * 1-6", "heartbeat": "* * * * *",
             "restore-drill": "45 4 * * *"}, ("2", "6")),
    "staging": ({"full": "45 1 * * 0", "diff": "45 1 * * 1-6", "heartbeat": "* * * * *",
                 "restore-drill": "15 4 * * *"}, ("3", "12")),
    "prod": ({"full": "15 1 * * 0", "diff": "15 1 * * 1-6", "heartbeat": "* * * * *",
              "restore-drill": "45 3 * * *"}, ("4", "18")),
}  # fmt: skip
PIPELINE_OUTPUTS = yaml.safe_load((FIXTURES / "pipeline-outputs.yaml").read_text())
"""What the pipeline generates for an Azure environment (Terraform outputs, image digests)."""
PINNED_IMAGE = re.compile(r"^[a-z0-9.:/-]+:[A-Za-z0-9_][A-Za-z0-9_.-]*(@sha256:[a-f0-9]{64})?$")


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels + matchExpressions In/NotIn/Exists)."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        key, op = expr["key"], expr["operator"]
        present = key in labels
        if op == "In" and (not present or labels[key] not in expr["values"]):
            return False
        if op == "NotIn" and present and labels[key] in expr["values"]:
            return False
        if op == "Exists" and not present:
            return False
    return True


def _pod_labels(workload: Manifest) -> dict[str, str]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["metadata"]["labels"])


def _patroni_containers(rendered: Rendered) -> list[Manifest]:
    """The database containers Patroni runs in (the image's `patroni` command)."""
    pod = pod_spec(rendered.one("StatefulSet", DB))
    return [c for c in pod["containers"] if c.get("args") == ["patroni"]]


def test_every_environment_runs_the_database_under_patroni(env_manifests: Rendered) -> None:
    """The premise of the HA assertions below: no environment runs the plain server."""
    (patroni,) = _patroni_containers(env_manifests)
    assert patroni["name"] == "postgresql"
    assert env_manifests.of_kind("Role"), "Patroni's Role"


def test_database_service_is_cluster_ip_only(env_manifests: Rendered) -> None:
    db_services = [
        s
        for s in env_manifests.of_kind("Service")
        if s["metadata"]["labels"].get("app.kubernetes.io/name") == "postgresql"
    ]
    # The client, headless and pooler Services of the contract, Patroni's read-only Service
    # (no one outside the chart names it, so it is not in the contract), and no other way in.
    names = {s["metadata"]["name"] for s in db_services}
    assert set(CONTRACT.services.values()) <= names
    members = env_manifests.one("StatefulSet", DB)["spec"]["selector"]["matchLabels"]
    (read_only,) = [
        s for s in db_services if s["metadata"]["name"] not in CONTRACT.services.values()
    ]
    assert read_only["spec"]["selector"] == {**members, "role": "replica"}
    for svc in db_services:
        assert svc["spec"]["type"] == "ClusterIP"
        assert "externalIPs" not in svc["spec"]
        assert "loadBalancerIP" not in svc["spec"]
    assert not env_manifests.of_kind("Ingress") or all(
        rule["http"]["paths"][0]["backend"]["service"]["name"] == API
        for ing in env_manifests.of_kind("Ingress")
        for rule in ing["spec"]["rules"]
    )


def test_replicas_hpa_and_pdb_are_consistent(env_manifests: Rendered) -> None:
    deploy = env_manifests.one("Deployment", API)
    hpa = env_manifests.one("HorizontalPodAutoscaler", API)
    pdb = env_manifests.one("PodDisruptionBudget", API)
    assert "replicas" not in deploy["spec"], "the HPA owns the replica count"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": API,
    }
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["maxReplicas"] >= hpa["spec"]["minReplicas"]
    assert hpa["spec"]["minReplicas"] > pdb["spec"]["minAvailable"]
    assert _matches(pdb["spec"]["selector"], _pod_labels(deploy))
    assert deploy["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_every_container_has_resources_probes_and_restricted_context(
    env_manifests: Rendered,
) -> None:
    assert restricted_context_problems(env_manifests) == []
    # The one API token: Patroni's, in its own container (test_patroni_chart checks the mount).
    patroni = {f"StatefulSet/{DB}/{c['name']}" for c in _patroni_containers(env_manifests)}
    assert token_holders(env_manifests) == patroni


def test_api_probes_hit_health_endpoints(env_manifests: Rendered) -> None:
    (api,) = containers(env_manifests.one("Deployment", API))
    assert api["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    env = {e["name"]: e.get("value") for e in api["env"]}
    assert env["PORT"] == "8080"
    assert env["DATABASE_PASSWORD_FILE"] == "/run/secrets/database/password"


def _service_port(rendered: Rendered, name: str, port_name: str) -> int:
    ports = rendered.one("Service", name)["spec"]["ports"]
    return int(next(p["port"] for p in ports if p["name"] == port_name))


def _env(workload: Manifest) -> dict[str, str | None]:
    return {e["name"]: e.get("value") for c in containers(workload) for e in c.get("env", [])}


def test_the_api_connects_through_the_pooler_and_migrates_directly(env_manifests: Rendered) -> None:
    """The serving pods reach the pooler's Service on its port, in transaction-pooler mode; the
    migrations Job keeps a session of its own on the database's Service."""
    pooler_port = _service_port(env_manifests, POOLER_SERVICE, "pgbouncer")
    database_port = _service_port(env_manifests, DATABASE_SERVICE, "postgresql")
    serving = _env(env_manifests.one("Deployment", API))
    migrations = _env(env_manifests.one("Job", f"{API}-migrations"))
    url = "postgresql+pg8000://inventory@{}:{}/inventory"
    assert serving["DATABASE_URL"] == url.format(POOLER_SERVICE, pooler_port)
    assert serving["DB_TRANSACTION_POOLER"] == "true"
    assert migrations["DATABASE_URL"] == url.format(DATABASE_SERVICE, database_port)
    assert "DB_TRANSACTION_POOLER" not in migrations


def test_images_are_pinned(env_manifests: Rendered) -> None:
    for workload in workloads(env_manifests):
        for c in containers(workload):
            image = c["image"]
            assert PINNED_IMAGE.match(image), image
            assert not image.split("@")[0].endswith(":latest"), image


def test_every_environment_pulls_its_images_from_a_registry(env_manifests: Rendered) -> None:
    """Every target has a registry (the ACR, or the local cluster's): no image is left to an
    import on the node, and none carries a pull secret (the node's identity pulls)."""
    policies = {c["imagePullPolicy"] for w in workloads(env_manifests) for c in containers(w)}
    assert policies == {"IfNotPresent"}, policies
    secrets = [
        w["metadata"]["name"]
        for w in workloads(env_manifests)
        if pod_spec(w).get("imagePullSecrets")
    ]
    assert not secrets, secrets


def _generated_secrets(rendered: Rendered) -> list[Manifest]:
    """The Secrets the chart renders: only the members' internal passwords, generated in the
    cluster on first install and kept (never from values), and only the files Patroni reads."""
    (patroni,) = _patroni_containers(rendered)
    (volume,) = [v for v in pod_spec(rendered.one("StatefulSet", DB))["volumes"]
                 if v.get("secret", {}).get("secretName", "").endswith("-patroni")]  # fmt: skip
    (mount,) = [m for m in patroni["volumeMounts"] if m["name"] == volume["name"]]
    files = {
        e["value"].removeprefix(mount["mountPath"] + "/")
        for e in patroni["env"]
        if e["name"].endswith("_PASSWORD_FILE") and e["value"].startswith(mount["mountPath"])
    }
    secrets = rendered.of_kind("Secret")
    assert [s["metadata"]["name"] for s in secrets] == [volume["secret"]["secretName"]]
    (secret,) = secrets
    assert set(secret["data"]) == files, "a Secret key no member reads"
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    return secrets


def test_no_inline_secrets(env_manifests: Rendered) -> None:
    # Passwords come from existing Secrets or Key Vault; the members' own ones from the cluster.
    assert _generated_secrets(env_manifests)
    for workload in workloads(env_manifests):
        for c in containers(workload):
            for e in c.get("env", []):
                assert "PASSWORD" not in e["name"] or e["name"].endswith("_FILE"), e


def test_without_the_pooler_the_serving_pods_connect_directly(renderer: Renderer) -> None:
    """global.pooler.enabled=false, the one switch: no pooler objects, the serving pods back on
    the database's Service in plain mode, and the database's policy admitting them."""
    sets = ["global.pooler.enabled=false"]
    rendered = renderer.render(UMBRELLA, "local", sets=sets, **env_apis("local"))
    assert not [d for d in rendered.docs if d["metadata"]["name"] == POOLER_SERVICE]
    serving = rendered.one("Deployment", API)
    database_port = _service_port(rendered, DATABASE_SERVICE, "postgresql")
    env = _env(serving)
    assert env["DATABASE_URL"] == (
        f"postgresql+pg8000://inventory@{DATABASE_SERVICE}:{database_port}/inventory"
    )
    assert "DB_TRANSACTION_POOLER" not in env
    peers = [p for r in rendered.one("NetworkPolicy", DB)["spec"]["ingress"] for p in r["from"]]
    assert any(_matches(p["podSelector"], _pod_labels(serving)) for p in peers)
    egress = rendered.one("NetworkPolicy", API)["spec"]["egress"][0]
    assert _matches(egress["to"][0]["podSelector"], _pod_labels(rendered.one("StatefulSet", DB)))


def test_database_network_policy_admits_only_migrations_pooler_and_backup_pods(
    env_manifests: Rendered,
) -> None:
    policy = env_manifests.one("NetworkPolicy", DB)
    sts = env_manifests.one("StatefulSet", DB)
    assert _matches(policy["spec"]["podSelector"], _pod_labels(sts))
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    rules_5432 = [
        r for r in policy["spec"]["ingress"] if {"port": 5432, "protocol": "TCP"} in r["ports"]
    ]
    member_pods = _pod_labels(sts)
    # Replication between the members (Patroni), apart from the clients' rule.
    (replication,) = [r for r in rules_5432 if r["from"] == [{"podSelector": {"matchLabels":
                      sts["spec"]["selector"]["matchLabels"]}}]]  # fmt: skip
    (clients,) = [r for r in rules_5432 if r is not replication]
    peers = clients["from"]
    assert all(
        "namespaceSelector" not in p and "ipBlock" not in p for r in rules_5432 for p in r["from"]
    )
    assert not any(_matches(p["podSelector"], member_pods) for p in peers)
    api_pods = _pod_labels(env_manifests.one("Deployment", API))
    migration_pods = _pod_labels(env_manifests.one("Job", f"{API}-migrations"))
    pooler_pods = _pod_labels(env_manifests.one("Deployment", POOLER_SERVICE))
    backup_pod = {
        "app.kubernetes.io/name": "postgresql",
        "app.kubernetes.io/instance": RELEASE,
        "app.kubernetes.io/component": "backup",
    }
    stranger = {"app.kubernetes.io/name": "debug", "app.kubernetes.io/instance": RELEASE}
    for labels in (migration_pods, pooler_pods, backup_pod):
        assert any(_matches(p["podSelector"], labels) for p in peers), labels
    for labels in (api_pods, stranger):
        admitted = [p for r in rules_5432 for p in r["from"] if _matches(p["podSelector"], labels)]
        assert not admitted, labels


def test_pooler_network_policy_admits_only_the_serving_pods(env_manifests: Rendered) -> None:
    policy = env_manifests.one("NetworkPolicy", POOLER_SERVICE)
    assert _matches(
        policy["spec"]["podSelector"], _pod_labels(env_manifests.one("Deployment", POOLER_SERVICE))
    )
    port = {"port": _service_port(env_manifests, POOLER_SERVICE, "pgbouncer"), "protocol": "TCP"}
    peers = [p for r in policy["spec"]["ingress"] if port in r["ports"] for p in r["from"]]
    assert all("namespaceSelector" not in p and "ipBlock" not in p for p in peers)
    api_pods = _pod_labels(env_manifests.one("Deployment", API))
    migration_pods = _pod_labels(env_manifests.one("Job", f"{API}-migrations"))
    assert any(_matches(p["podSelector"], api_pods) for p in peers)
    assert not any(_matches(p["podSelector"], migration_pods) for p in peers)


def test_migrations_network_policy_admits_nothing_and_reaches_only_the_database(
    env_manifests: Rendered,
) -> None:
    policy = env_manifests.one("NetworkPolicy", f"{API}-migrations")
    job = env_manifests.one("Job", f"{API}-migrations")
    serving = env_manifests.one("Deployment", API)
    assert _matches(policy["spec"]["podSelector"], _pod_labels(job))
    assert not _matches(policy["spec"]["podSelector"], _pod_labels(serving))
    assert policy["spec"]["ingress"] == []
    db_rule = policy["spec"]["egress"][0]
    database = env_manifests.one("StatefulSet", DB)
    assert _matches(db_rule["to"][0]["podSelector"], _pod_labels(database))
    port = _service_port(env_manifests, DATABASE_SERVICE, "postgresql")
    assert db_rule["ports"] == [{"port": port, "protocol": "TCP"}]


def test_api_network_policy_ingress_from_controller_egress_to_pooler_and_dns(
    env_manifests: Rendered, env: str
) -> None:
    policy = env_manifests.one("NetworkPolicy", API)
    deploy = env_manifests.one("Deployment", API)
    assert _matches(policy["spec"]["podSelector"], _pod_labels(deploy))
    ingress_ns = {
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for r in policy["spec"]["ingress"]
        for p in r["from"]
    }
    # Ingress controllers, and the scrapers: AKS's managed one (kube-system), the local one.
    scrapers = {"kube-system", MONITORING_NAMESPACE}
    assert ingress_ns <= {"ingress-nginx", "app-routing-system", "traefik", *scrapers}
    assert all(r["ports"] == [{"port": 8080, "protocol": "TCP"}] for r in policy["spec"]["ingress"])
    # Every environment checks tokens: a third rule admits the issuer's keys (test_auth_chart).
    egress = policy["spec"]["egress"]
    assert len(egress) == 3
    pooler_rule, dns_rule = egress[:2]
    pooler = env_manifests.one("Deployment", POOLER_SERVICE)
    assert _matches(pooler_rule["to"][0]["podSelector"], _pod_labels(pooler))
    assert not _matches(
        pooler_rule["to"][0]["podSelector"], _pod_labels(env_manifests.one("StatefulSet", DB))
    )
    port = _service_port(env_manifests, POOLER_SERVICE, "pgbouncer")
    assert pooler_rule["ports"] == [{"port": port, "protocol": "TCP"}]
    # The local CoreDNS listens on 1053 (unprivileged) behind the kube-dns Service's 53.
    assert {p["port"] for p in dns_rule["ports"]} == ({53, 1053} if env == "local" else {53})


def test_database_statefulset_storage_and_shutdown(env_manifests: Rendered, env: str) -> None:
    sts = env_manifests.one("StatefulSet", DB)
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    expected_class = "local-path" if env == "local" else "managed-csi-premium"
    assert claim["spec"]["storageClassName"] == expected_class
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    pod = pod_spec(sts)
    postgres = next(c for c in pod["containers"] if c["name"] == "postgresql")
    # Patroni stops PostgreSQL; the hook switches a primary over first (test_patroni_chart).
    pre_stop = postgres["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[:2] == ["/usr/bin/python3", "-m"]
    mounts = {m["mountPath"]: m for m in postgres["volumeMounts"]}
    assert mounts["/var/lib/postgresql/data"]["name"] == "data"
    assert mounts["/etc/postgresql"]["readOnly"] is True
    assert mounts["/run/secrets/postgres"]["readOnly"] is True


def test_topology_spread(env_manifests: Rendered, env: str) -> None:
    pod = pod_spec(env_manifests.one("Deployment", API))
    keys = {c["topologyKey"]: c for c in pod["topologySpreadConstraints"]}
    assert "kubernetes.io/hostname" in keys
    if env == "local":
        assert "topology.kubernetes.io/zone" not in keys
    else:
        assert keys["topology.kubernetes.io/zone"]["maxSkew"] == 1
    if env in ("staging", "prod"):
        assert keys["topology.kubernetes.io/zone"]["whenUnsatisfiable"] == "DoNotSchedule"


def test_azure_identities_only_outside_local(env_manifests: Rendered, env: str) -> None:
    annotated = [
        sa
        for sa in env_manifests.of_kind("ServiceAccount")
        if "azure.workload.identity/client-id" in sa["metadata"].get("annotations", {})
    ]
    spcs = env_manifests.of_kind("SecretProviderClass")
    if env == "local":
        assert not annotated
        assert not spcs
    else:
        assert annotated
        assert {s["spec"]["parameters"]["keyvaultName"] for s in spcs} == {
            PIPELINE_OUTPUTS["inventory-api"]["database"]["keyVault"]["name"],
            PIPELINE_OUTPUTS["postgresql"]["auth"]["keyVault"]["name"],
        }


def test_monitoring_objects_for_each_targets_prometheus(env_manifests: Rendered, env: str) -> None:
    """Azure: scrape objects for the managed Prometheus (its rules are Terraform's). Local: the
    Operator's scrape objects and rules, which the local monitoring turns into its config."""
    monitoring = {"ServiceMonitor", "PrometheusRule"} & env_manifests.kinds()
    local = env == "local"
    assert monitoring == ({"ServiceMonitor", "PrometheusRule"} if local else {"ServiceMonitor"})
    for monitor in env_manifests.of_kind("ServiceMonitor"):
        assert monitor["apiVersion"] == (MONITORING_API if local else MANAGED_PROMETHEUS_API)


def test_metrics_ports_admit_the_scraper_the_umbrella_declares(
    env_manifests: Rendered, env: str
) -> None:
    """Both charts' NetworkPolicies admit exactly the target's scraper (global.monitoring,
    declared once in the umbrella values) to their metrics ports."""
    base, own = (
        yaml.safe_load((CHARTS_SRC / UMBRELLA / name).read_text(encoding="utf-8"))
        for name in ("values.yaml", f"values-{env}.yaml")
    )
    scraper = {**base["global"]["monitoring"]["scraper"]}
    own_scraper = own.get("global", {}).get("monitoring", {}).get("scraper", {})
    labels = {**scraper["podLabels"], **own_scraper.get("podLabels", {})}
    # helm merges the environment's labels into the defaults; an empty value drops a default's.
    expected = {
        "namespaceSelector": {
            "matchLabels": {
                "kubernetes.io/metadata.name": own_scraper.get("namespace", scraper["namespace"])
            }
        },
        "podSelector": {"matchLabels": {k: v for k, v in labels.items() if v}},
    }
    pooler_metrics = _service_port(env_manifests, POOLER_SERVICE, "metrics")
    for name, port in ((DB, 9187), (API, 8080), (POOLER_SERVICE, pooler_metrics)):
        policy = env_manifests.one("NetworkPolicy", name)
        peers = [
            peer
            for rule in policy["spec"]["ingress"]
            if {"port": port, "protocol": "TCP"} in rule["ports"]
            for peer in rule["from"]
        ]
        assert expected in peers, name


def test_the_pooler_is_scraped(env_manifests: Rendered) -> None:
    """A ServiceMonitor selects the pooler's Service and scrapes a port that Service exposes."""
    service = env_manifests.one("Service", POOLER_SERVICE)
    monitors = [
        m
        for m in env_manifests.of_kind("ServiceMonitor")
        if m["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    ]
    assert len(monitors) == 1
    for monitor in monitors:
        ports = {p["name"] for p in service["spec"]["ports"]}
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= ports


def test_migrations_hook_runs_after_install_and_before_upgrade(env_manifests: Rendered) -> None:
    job = env_manifests.one("Job", f"{API}-migrations")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
    (migrate,) = containers(job)
    command, flag, wait = migrate["args"]
    assert (command, flag) == ("migrate", "--wait-seconds")
    # The wait for a database still bootstrapping leaves the migration time before the deadline.
    assert 0 < float(wait) <= job["spec"]["activeDeadlineSeconds"] / 2
    sa = env_manifests.one("ServiceAccount", f"{API}-migrations")
    assert sa["metadata"]["annotations"]["helm.sh/hook-weight"] == "-10"
    assert pod_spec(job)["serviceAccountName"] == sa["metadata"]["name"]


def test_every_object_has_standard_labels(env_manifests: Rendered) -> None:
    for doc in env_manifests.docs:
        labels = doc["metadata"]["labels"]
        for key in (
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/version",
            "app.kubernetes.io/managed-by",
            "helm.sh/chart",
        ):
            assert key in labels, f"{doc['kind']}/{doc['metadata']['name']} lacks {key}"


def _cronjob_name(job: str) -> str:
    return f"{DB}-{job}" if job in ("heartbeat", "restore-drill") else f"{DB}-backup-{job}"


def _gib(quantity: str) -> int:
    assert quantity.endswith("Gi"), quantity
    return int(quantity[:-2])


def test_backups_and_restore_drill_run_in_every_azure_environment(
    env_manifests: Rendered, env: str
) -> None:
    cronjobs = {c["metadata"]["name"]: c for c in env_manifests.of_kind("CronJob")}
    if env == "local":
        # Against the in-cluster Azurite; the wiring is tests/pipeline/test_local_platform.py.
        assert set(cronjobs) == {
            _cronjob_name(job) for job in ("full", "diff", "heartbeat", "restore-drill")
        }
        return
    schedules, (keep_full, keep_diff) = BACKUP_PLAN[env]
    assert {n: c["spec"]["schedule"] for n, c in cronjobs.items()} == {
        _cronjob_name(job): cron for job, cron in schedules.items()
    }
    backup = PIPELINE_OUTPUTS["postgresql"]["backup"]
    client_id = backup["serviceAccount"]["clientId"]
    sa = env_manifests.one("ServiceAccount", BACKUP_SA)
    annotations = sa["metadata"].get("annotations", {})
    assert annotations.get("azure.workload.identity/client-id") == client_id, "no backup identity"
    sts = env_manifests.one("StatefulSet", DB)
    for workload in [sts, *cronjobs.values()]:
        assert pod_spec(workload)["serviceAccountName"] == BACKUP_SA, workload["metadata"]["name"]
        assert _pod_labels(workload)["azure.workload.identity/use"] == "true"
        for c in containers(workload):
            env_vars = {e["name"]: e for e in c.get("env", [])}
            assert "PGBACKREST_REPO1_AZURE_KEY" not in env_vars, "no storage key outside local"
            assert all("secretKeyRef" not in e.get("valueFrom", {}) for e in env_vars.values())
            if "BACKUP_AZURE_ACCOUNT" in env_vars:
                assert env_vars["BACKUP_AZURE_ACCOUNT"]["value"] == backup["azure"]["account"]
                assert env_vars["BACKUP_AZURE_KEY_TYPE"]["value"] == "sas"
                assert env_vars["BACKUP_RETENTION_FULL"]["value"] == keep_full
                assert env_vars["BACKUP_RETENTION_DIFF"]["value"] == keep_diff
    assert _generated_secrets(env_manifests), "no storage-key Secret"
    drill = pod_spec(cronjobs[f"{DB}-restore-drill"])
    (restore,) = [v for v in drill["volumes"] if v["name"] == "restore"]
    drill_size = restore["ephemeral"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]
    data_size = sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]
    assert _gib(drill_size["storage"]) >= _gib(data_size["storage"]), "drill volume holds the data"
