"""Backups under Patroni, rendered for every environment (prod 3 members, staging and local 2,
dev 1), and without Patroni.

The backup jobs know every member (pgBackRest pg1..pgN through the headless Service, each
named in the TLS server's certificate) and may ask Patroni's REST API which one streams; the
jobs that write or read SQL (heartbeat, restore drill) go to the read-write Service. Member
count and REST port are read from the StatefulSet and the postgresql container, their one
source, never restated here.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.helm.rendering import (
    CHARTS_SRC,
    DB,
    UMBRELLA,
    Manifest,
    Rendered,
    Renderer,
    env_apis,
    pod_spec,
)

MEMBERS = {"prod": 3, "staging": 2, "local": 2, "dev": 1}  # what each promises (docs/adr/0001)
HA_ENVIRONMENTS = tuple(MEMBERS)
BACKUPS = (f"{DB}-backup-full", f"{DB}-backup-diff")


@pytest.fixture(scope="session", params=HA_ENVIRONMENTS)
def ha_env(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def ha(renderer: Renderer, ha_env: str) -> Rendered:
    return renderer.render(UMBRELLA, ha_env, **env_apis(ha_env))


def job_env(workload: Manifest) -> dict[str, Any]:
    return {e["name"]: e.get("value") for c in pod_spec(workload)["containers"] for e in c["env"]}


def member_hosts(rendered: Rendered) -> list[str]:
    """Every database pod by its headless name, from the StatefulSet itself."""
    sts = rendered.one("StatefulSet", DB)
    service = sts["spec"]["serviceName"]
    return [f"{DB}-{i}.{service}" for i in range(sts["spec"]["replicas"])]


def rest_api_port(rendered: Rendered) -> int:
    (postgres,) = [
        c for c in pod_spec(rendered.one("StatefulSet", DB))["containers"]
        if c["name"] == "postgresql"
    ]  # fmt: skip
    (port,) = [p["containerPort"] for p in postgres["ports"] if p["name"] == "patroni"]
    return int(port)


def components_allowed(policy: Manifest, port: int) -> set[str]:
    """Components of this release's pods the database NetworkPolicy admits on `port`."""
    allowed: set[str] = set()
    for rule in policy["spec"]["ingress"]:
        if not any(p["port"] == port for p in rule["ports"]):
            continue
        for peer in rule["from"]:
            selector = peer.get("podSelector", {})
            if label := selector.get("matchLabels", {}).get("app.kubernetes.io/component"):
                allowed.add(label)
            for expression in selector.get("matchExpressions", []):
                if expression["key"] == "app.kubernetes.io/component":
                    allowed.update(expression["values"])
    return allowed


def test_backup_jobs_know_every_member(ha: Rendered, ha_env: str) -> None:
    hosts = member_hosts(ha)
    assert len(hosts) == MEMBERS[ha_env]
    for name in BACKUPS:
        env = job_env(ha.one("CronJob", name))
        assert env["BACKUP_PG_HOST"].split(",") == hosts, name
        assert int(env["BACKUP_PATRONI_PORT"]) == rest_api_port(ha)


def test_the_tls_certificate_names_every_member(ha: Rendered) -> None:
    names = ha.one("Certificate", f"{DB}-pgbackrest-server")["spec"]["dnsNames"]
    assert set(member_hosts(ha)) <= set(names), "pgBackRest checks each server's name"


def test_heartbeat_and_drill_write_through_the_read_write_service(ha: Rendered) -> None:
    """Under HA `<fullname>` has no selector: Patroni points it at the leader only."""
    assert "selector" not in ha.one("Service", DB)["spec"]
    others = [c for c in ha.of_kind("CronJob") if c["metadata"]["name"] not in BACKUPS]
    assert {f"{DB}-heartbeat", f"{DB}-restore-drill"} <= {c["metadata"]["name"] for c in others}
    for cronjob in [*others, *(ha.one("CronJob", name) for name in BACKUPS)]:
        env = job_env(cronjob)
        assert env["PGHOST"] == DB, cronjob["metadata"]["name"]
    for cronjob in others:
        assert "BACKUP_PATRONI_PORT" not in job_env(cronjob), "only backups ask Patroni"


def test_only_backup_jobs_and_members_reach_patronis_rest_api(ha: Rendered) -> None:
    policy = ha.one("NetworkPolicy", DB)
    assert components_allowed(policy, rest_api_port(ha)) == {"backup", "database"}
    backup_rules = [
        rule for rule in policy["spec"]["ingress"]
        if any(p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")
               == "backup" for p in rule["from"])
    ]  # fmt: skip
    (rule,) = backup_rules
    assert rule["ports"] == [{"port": rest_api_port(ha), "protocol": "TCP"}], "nothing more"
    tls_port = int(job_env(ha.one("CronJob", BACKUPS[0]))["BACKUP_TLS_PORT"])
    assert "backup" in components_allowed(policy, tls_port), "every member's TLS server"


def test_without_ha_the_backup_talks_to_the_one_server(renderer: Renderer, ha_env: str) -> None:
    env_manifests = renderer.render(
        UMBRELLA, ha_env, sets=("postgresql.ha.enabled=false",), **env_apis(ha_env)
    )
    for name in BACKUPS:
        env = job_env(env_manifests.one("CronJob", name))
        assert env["BACKUP_PG_HOST"] == f"{DB}-0.{DB}-headless"
        assert "BACKUP_PATRONI_PORT" not in env
    policy = env_manifests.one("NetworkPolicy", DB)
    ports = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
    values = yaml.safe_load((CHARTS_SRC / "postgresql" / "values.yaml").read_text())
    assert values["ha"]["restApiPort"] not in ports
