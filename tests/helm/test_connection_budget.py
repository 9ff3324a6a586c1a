"""The connection budget holds in every environment, from the values each one deploys:
the API's most replicas x its pool fit what the pooler pods accept, and the pooler pods' server
connections plus the direct clients fit max_connections minus the reserved superuser slots.
Through the pooler the API's own session timeouts are not passed: the role's defaults must be
the API's."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest
import yaml
from inventory_api.config import Settings, load_settings

from tests.helm.rendering import (
    API,
    CHARTS_SRC,
    DB,
    ENVIRONMENTS,
    Rendered,
    Renderer,
    containers,
    env_apis,
    restricted_context_problems,
)

POOLER = f"{DB}-pooler"
RESERVED = 3  # superuser_reserved_connections, PostgreSQL's default, not overridden
SETTINGS_DEFAULTS = {f.name: f.default for f in fields(Settings) if isinstance(f.default, int)}
# Clients that bypass the pooler (migrations, backup, drill, heartbeat, exporter), as the chart
# declares them; no environment overrides it.
DIRECT = yaml.safe_load((CHARTS_SRC / "postgresql" / "values.yaml").read_text())["pooler"][
    "directConnections"
]


def ini(rendered: Rendered) -> dict[str, str]:
    text = rendered.one("ConfigMap", POOLER)["data"]["pgbouncer.ini"]
    pairs = (line.partition("=") for line in text.splitlines() if not line.startswith(("#", "[")))
    return {k.strip(): v.strip() for k, sep, v in pairs if sep}


def api_pool(rendered: Rendered) -> int:
    """Connections one API pod may open: DB_POOL_SIZE + DB_MAX_OVERFLOW or the code's defaults."""
    api = rendered.one("Deployment", API)
    env = {e["name"]: e.get("value") for c in containers(api) for e in c.get("env", [])}
    size = int(env.get("DB_POOL_SIZE") or SETTINGS_DEFAULTS["pool_size"])
    return size + int(env.get("DB_MAX_OVERFLOW") or SETTINGS_DEFAULTS["max_overflow"])


def max_connections(rendered: Rendered) -> int:
    tuning = rendered.one("ConfigMap", f"{DB}-config")["data"]["10-tuning.conf"]
    line = next(ln for ln in tuning.splitlines() if ln.startswith("max_connections"))
    return int(line.split("=")[1])


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def with_pooler(request: pytest.FixtureRequest, renderer: Renderer) -> Rendered:
    """The environment as it deploys: the pooler runs in every one."""
    env = str(request.param)
    return renderer.render("inventory-platform", env, **env_apis(env))


def budget_problems(rendered: Rendered) -> list[str]:
    """What breaks the budget in this render (empty when it holds)."""
    hpa = rendered.one("HorizontalPodAutoscaler", API)
    pooler = rendered.one("Deployment", POOLER)
    settings = ini(rendered)
    pods = int(pooler["spec"]["replicas"])
    clients = int(hpa["spec"]["maxReplicas"]) * api_pool(rendered)
    accepted = pods * int(settings["max_client_conn"])
    server = pods * int(settings["max_db_connections"]) + DIRECT
    limit = max_connections(rendered) - RESERVED
    problems = []
    if settings["pool_mode"] != "transaction":
        problems.append(f"pool_mode {settings['pool_mode']}")
    if pooler["spec"]["strategy"]["rollingUpdate"]["maxSurge"] != 0:
        problems.append("a rollout may run more pooler pods than counted")
    if clients > accepted:
        problems.append(f"API clients {clients} > pooler accepts {accepted}")
    if server > limit:
        problems.append(f"server connections {server} > max_connections - reserved {limit}")
    return problems


def test_the_connection_budget_holds(with_pooler: Rendered) -> None:
    assert budget_problems(with_pooler) == []


def test_too_many_api_clients_break_the_budget(renderer: Renderer) -> None:
    sets = ["postgresql.pooler.maxClientConnections=5"]
    rendered = renderer.render("inventory-platform", "prod", sets=sets, **env_apis("prod"))
    assert budget_problems(rendered) == ["API clients 48 > pooler accepts 10"]


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_staging_and_prod_run_two_pooler_pods_behind_a_pdb(renderer: Renderer, env: str) -> None:
    rendered = renderer.render("inventory-platform", env, **env_apis(env))
    assert rendered.one("Deployment", POOLER)["spec"]["replicas"] >= 2
    assert rendered.one("PodDisruptionBudget", POOLER)["spec"]["minAvailable"] == 1


def api_settings(rendered: Rendered) -> Settings:
    """The serving pods' settings, read by the API's own loader from their rendered env."""
    env = {e["name"]: e["value"] for e in api_env(rendered) if "value" in e}
    return load_settings({**env, "DATABASE_PASSWORD_FILE": ""})


def api_env(rendered: Rendered) -> list[dict[str, str]]:
    api = rendered.one("Deployment", API)
    return [e for c in containers(api) for e in c.get("env", [])]


def role_defaults(rendered: Rendered) -> dict[str, str]:
    roles = json.loads(rendered.one("ConfigMap", f"{DB}-config")["data"]["roles.json"])
    return dict(roles["roles"][api_settings(rendered).database_url.username])


def session_problems(rendered: Rendered) -> list[str]:
    """Where the API's session through the pooler is not what the API asks for (empty when it
    is): PgBouncer drops its per-connection timeouts, the role's defaults apply instead."""
    settings = api_settings(rendered)
    if not settings.transaction_pooler:
        return ["the serving pods do not run in transaction-pooler mode"]
    wanted = {"statement_timeout": settings.statement_timeout_ms,
              "lock_timeout": settings.statement_timeout_ms}  # fmt: skip
    roles = role_defaults(rendered)
    problems = [
        f"role {name} {roles[name]} ms, the API asks for {value} ms"
        for name, value in wanted.items()
        if int(roles[name]) != value
    ]
    # The API's own idle-in-transaction limit is twice its statement timeout (inventory_api.db).
    idle_ms = int(ini(rendered)["idle_transaction_timeout"]) * 1000
    if not 0 < idle_ms <= 2 * settings.statement_timeout_ms:
        problems.append(f"pooler idle_transaction_timeout {idle_ms} ms")
    return problems


def test_through_the_pooler_the_api_keeps_its_timeouts(with_pooler: Rendered) -> None:
    assert session_problems(with_pooler) == []


def test_looser_role_timeouts_are_reported(renderer: Renderer) -> None:
    sets = ["postgresql.roles.application.statementTimeoutMs=30000"]
    rendered = renderer.render("inventory-platform", "local", sets=sets, **env_apis("local"))
    asked = SETTINGS_DEFAULTS["statement_timeout_ms"]
    assert session_problems(rendered) == [
        f"role statement_timeout 30000 ms, the API asks for {asked} ms"
    ]


def test_the_database_admits_the_pooler(renderer: Renderer) -> None:
    policy = renderer.render("postgresql", sets=["pooler.enabled=true"]).one("NetworkPolicy", DB)
    components = policy["spec"]["ingress"][0]["from"][1]["podSelector"]["matchExpressions"][0]
    assert "pooler" in components["values"]


def test_too_many_server_connections_are_refused(renderer: Renderer) -> None:
    message = renderer.render_error(
        "postgresql", sets=["pooler.enabled=true", "pooler.replicas=5", "pooler.poolSize=20"]
    )
    assert "connection budget: 5 pooler pods x pooler.poolSize 20" in message
    assert "exceeds tuning.maxConnections 100 minus 3 reserved (97)" in message


def test_the_pooler_runs_with_the_restricted_context(renderer: Renderer) -> None:
    rendered = renderer.render("postgresql", sets=["pooler.enabled=true"])
    pooler = Rendered(tuple(d for d in rendered.docs if d["metadata"]["name"] == POOLER))
    assert pooler.one("Deployment", POOLER)
    assert restricted_context_problems(pooler) == []
