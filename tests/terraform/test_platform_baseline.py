"""The platform baseline per environment, read from each plan against its tfvars: egress, the
ingress path and the node NSG, Defender and Azure Policy, API-server exposure, workload pools
and cost controls. A broken combination of values is refused by the root's validations.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from policies.offline_plan import environment_subscription
from tests.terraform.conftest import ENVIRONMENTS, PLATFORM
from tests.terraform.harness import Workspace, planned_resources
from tests.terraform.test_plan import _one, _pool, _resources, _tfvars

pytestmark = pytest.mark.slow

OUTBOUND_TYPES = {
    "loadBalancer": "loadBalancer",
    "nat_gateway": "userAssignedNATGateway",
    "firewall": "userDefinedRouting",
}
FIREWALLED = [env for env in ENVIRONMENTS if _tfvars(env)["egress"]["mode"] == "firewall"]
GATEWAYED = [
    env for env in ENVIRONMENTS if _tfvars(env)["ingress"]["exposure"] == "application_gateway"
]
GATEWAY_MODULE = "module.ingress_gateway[0]."
# What Application Gateway v2's subnet must admit (its management plane, Azure's probes, the
# clients) and the explicit deny of everything else: (name, access, source, protocol, ports).
GATEWAY_NSG_RULES = {
    ("allow-gateway-manager", "Allow", "GatewayManager", "Tcp", ("65200-65535",)),
    ("allow-azure-load-balancer", "Allow", "AzureLoadBalancer", "*", ("*",)),
    ("allow-internet-http", "Allow", "Internet", "Tcp", ("443", "80")),
    ("deny-all-inbound", "Deny", "*", "*", ("*",)),
}
MANAGED_RULE_SET = ("Microsoft_DefaultRuleSet", "2.1")
NODE_ROUTE_ASSOCIATION = "module.egress[0].azurerm_subnet_route_table_association.nodes[0]"
HEALTH_PATH = "/healthz"
"""The API's liveness endpoint (application/src/inventory_api/handlers/ops.py)."""
RESTRICTED_POD_SECURITY = (
    "/providers/Microsoft.Authorization/policySetDefinitions/42b8ef37-b724-4e24-bbc8-7a7708edfe00"
)
ALLOWED_IMAGES = (
    "/providers/Microsoft.Authorization/policyDefinitions/febd0533-8e55-448f-b837-bd0e06f16469"
)
SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
DATABASE_LABEL = ("inventory.example.org/pool", "database")


def _output(plans: dict[str, dict[str, Any]], env: str, name: str) -> Any:
    return plans[env]["output_changes"][name]["after"]


def test_prod_egress_is_filtered() -> None:
    assert "prod" in FIREWALLED


def test_prod_ingress_goes_through_the_waf() -> None:
    assert "prod" in GATEWAYED


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_egress_follows_the_environment(plans: dict[str, dict[str, Any]], env: str) -> None:
    mode = _tfvars(env)["egress"]["mode"]
    cluster = _one(plans, env, "azurerm_kubernetes_cluster")
    assert cluster["network_profile"][0]["outbound_type"] == OUTBOUND_TYPES[mode]
    assert _output(plans, env, "egress")["outbound_type"] == OUTBOUND_TYPES[mode]
    present = {r.type for r in _resources(plans, env)}
    assert ("azurerm_firewall" in present) == (mode == "firewall")
    assert ("azurerm_subnet_route_table_association" in present) == (mode == "firewall")
    assert ("azurerm_subnet_nat_gateway_association" in present) == (mode == "nat_gateway")


@pytest.mark.parametrize("env", FIREWALLED)
def test_firewall_admits_only_aks_its_add_ons_and_the_listed_fqdns(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    tfvars = _tfvars(env)
    nodes = tfvars["network"]["node_subnet_cidr"]
    (route,) = _one(plans, env, "azurerm_route_table")["route"]
    assert (route["address_prefix"], route["next_hop_type"]) == ("0.0.0.0/0", "VirtualAppliance")
    assert _one(plans, env, "azurerm_firewall_policy")["threat_intelligence_mode"] == "Deny"

    group = _one(plans, env, "azurerm_firewall_policy_rule_collection_group")
    app_rules = [rule for c in group["application_rule_collection"] for rule in c["rule"]]
    assert {c["action"] for c in group["application_rule_collection"]} == {"Allow"}
    assert all(rule["source_addresses"] == [nodes] for rule in app_rules)
    tags = {tag for rule in app_rules for tag in rule.get("destination_fqdn_tags") or []}
    assert tags == {"AzureKubernetesService"}
    fqdns = {fqdn for rule in app_rules for fqdn in rule.get("destination_fqdns") or []}
    for purpose, wanted in tfvars["egress"].get("workload_fqdns", {}).items():
        assert set(wanted) <= fqdns, purpose
    if tfvars["delivery"]["mode"] == "flux":  # the extension's data plane and the repository
        host = urlsplit(tfvars["delivery"]["repository_url"]).hostname
        assert {f"{tfvars['location']}.dp.kubernetesconfiguration.azure.com", host} <= fqdns
    assert "*" not in fqdns
    assert not [rule for rule in app_rules if rule.get("destination_addresses")]
    assert not group.get("nat_rule_collection")  # no inbound path through the firewall

    network_rules = [rule for c in group["network_rule_collection"] for rule in c["rule"]]
    assert all(rule["source_addresses"] == [nodes] for rule in network_rules)
    ports = {port for rule in network_rules for port in rule["destination_ports"]}
    assert ports == {"123", "1194", "9000"}  # NTP and the API-server tunnel, nothing else
    assert [r["protocols"] for r in network_rules if "*" in r["destination_addresses"]] == [["UDP"]]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_node_nsg_admits_exactly_the_ingress_path(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    tfvars = _tfvars(env)
    ingress = tfvars["ingress"]
    (nsg,) = [
        r.values
        for r in _resources(plans, env, "azurerm_network_security_group")
        if r.values["name"].startswith("nsg-nodes-")
    ]
    rules = nsg["security_rule"]
    allowed = [r for r in rules if r["access"] == "Allow" and r["direction"] == "Inbound"]
    assert len(allowed) == 1, allowed
    (allow,) = allowed
    assert sorted(allow["destination_port_ranges"]) == ["443", "80"]
    assert allow["protocol"] == "Tcp"
    denies = sorted(
        (r["priority"], r["source_address_prefix"], r["destination_address_prefix"])
        for r in rules
        if r["access"] == "Deny"
    )
    if ingress["exposure"] == "public_load_balancer":
        assert allow["source_address_prefix"] == "Internet"
        assert denies == [(4096, "Internet", "*")]
    else:
        address = ingress["private_ip"]
        assert allow["source_address_prefix"] == ingress["gateway"]["subnet_cidr"]
        assert allow["destination_address_prefix"] == address
        # the rest of the network, peered networks included, cannot go around the WAF
        (around,) = [r for r in rules if r["access"] == "Deny" and r["priority"] < 4096]
        assert sorted(around["destination_port_ranges"]) == ["443", "80"]
        assert around["priority"] > allow["priority"]
        assert denies == [(around["priority"], "VirtualNetwork", address), (4096, "Internet", "*")]
    assert allow["priority"] < 4096


def _gateway(plans: dict[str, dict[str, Any]], env: str) -> dict[str, Any]:
    return _one(plans, env, "azurerm_application_gateway")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_gateway_exists_exactly_where_the_environment_asks(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    ingress = _output(plans, env, "ingress")
    gateway = env in GATEWAYED
    assert ingress["exposure"] == _tfvars(env)["ingress"]["exposure"]
    assert bool(_resources(plans, env, "azurerm_application_gateway")) is gateway
    assert bool(_resources(plans, env, "azurerm_web_application_firewall_policy")) is gateway
    if not gateway:
        assert (ingress["waf_mode"], ingress["backend_ip_addresses"]) == (None, None)


@pytest.mark.parametrize("env", GATEWAYED)
def test_the_waf_blocks_with_the_managed_rule_set(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    wanted = _tfvars(env)["ingress"]["gateway"].get("waf_mode", "Prevention")
    policy = _one(plans, env, "azurerm_web_application_firewall_policy")
    (settings,) = policy["policy_settings"]
    assert (settings["enabled"], settings["mode"]) == (True, wanted)
    assert settings["request_body_check"] is True
    (managed,) = policy["managed_rules"]
    (rule_set,) = managed["managed_rule_set"]
    assert (rule_set["type"], rule_set["version"]) == MANAGED_RULE_SET
    assert not rule_set.get("rule_group_override")  # no managed rule turned off
    assert not policy.get("custom_rules")  # no allow rule ahead of the managed set
    ingress = _output(plans, env, "ingress")
    assert ingress["waf_mode"] == wanted
    assert ingress["managed_rule_sets"] == ["/".join(MANAGED_RULE_SET)]
    (gateway_sku,) = _gateway(plans, env)["sku"]
    assert (gateway_sku["name"], gateway_sku["tier"]) == ("WAF_v2", "WAF_v2")


def test_prod_waf_is_in_prevention_mode(plans: dict[str, dict[str, Any]]) -> None:
    assert _output(plans, "prod", "ingress")["waf_mode"] == "Prevention"


@pytest.mark.parametrize("env", GATEWAYED)
def test_the_gateway_forwards_only_to_the_internal_ingress_address(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    ingress = _tfvars(env)["ingress"]
    gateway = _gateway(plans, env)
    (pool,) = gateway["backend_address_pool"]
    assert pool["ip_addresses"] == [ingress["private_ip"]]
    assert not pool.get("fqdns")
    assert _output(plans, env, "ingress")["backend_ip_addresses"] == [ingress["private_ip"]]
    assert _output(plans, env, "ingress")["private_ip"] == ingress["private_ip"]
    rules = gateway["request_routing_rule"]
    assert {rule["backend_address_pool_name"] for rule in rules} == {pool["name"]}
    assert not [rule for rule in rules if rule.get("redirect_configuration_name")]


@pytest.mark.parametrize("env", GATEWAYED)
def test_the_gateway_listens_for_the_host_and_probes_the_api_health(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    settings = _tfvars(env)["ingress"]["gateway"]
    host = settings["host_name"]
    gateway = _gateway(plans, env)
    ports = {port["name"]: port["port"] for port in gateway["frontend_port"]}
    listeners = {
        (listener["protocol"], ports[listener["frontend_port_name"]]): listener
        for listener in gateway["http_listener"]
    }
    assert set(listeners) == {("Https", 443), ("Http", 80)}
    assert all(listener["host_names"] == [host] for listener in listeners.values())
    (certificate,) = gateway["ssl_certificate"]
    assert certificate["name"] == _output(plans, env, "ingress_certificate_name")
    assert listeners[("Https", 443)]["ssl_certificate_name"] == certificate["name"]
    assert not certificate.get("data")  # the certificate lives in Key Vault only
    (policy,) = gateway["ssl_policy"]
    assert (policy["policy_type"], policy["policy_name"]) == (
        "Predefined",
        "AppGwSslPolicy20220101S",
    )
    probes = {probe["name"]: probe for probe in gateway["probe"]}
    for backend in gateway["backend_http_settings"]:
        probe = probes[backend["probe_name"]]
        assert (probe["protocol"], probe["host"], probe["path"]) == (
            backend["protocol"],
            host,
            HEALTH_PATH,
        )
        assert backend["host_name"] == host
    assert {(b["protocol"], b["port"]) for b in gateway["backend_http_settings"]} == {
        ("Https", 443),
        ("Http", 80),
    }


@pytest.mark.parametrize("env", GATEWAYED)
def test_the_gateway_spans_the_zones_and_autoscales_within_its_bounds(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    tfvars = _tfvars(env)
    zones = sorted(tfvars["aks"]["zones"])
    gateway = _gateway(plans, env)
    assert sorted(gateway["zones"]) == zones
    (autoscale,) = gateway["autoscale_configuration"]
    settings = tfvars["ingress"]["gateway"]
    assert (autoscale["min_capacity"], autoscale["max_capacity"]) == (
        settings["min_capacity"],
        settings["max_capacity"],
    )
    assert autoscale["min_capacity"] >= len(zones)
    (address,) = [
        r.values
        for r in _resources(plans, env, "azurerm_public_ip")
        if r.address.startswith(GATEWAY_MODULE)
    ]
    assert (address["sku"], address["allocation_method"]) == ("Standard", "Static")
    assert sorted(address["zones"]) == zones


@pytest.mark.parametrize("env", GATEWAYED)
def test_the_gateway_subnet_admits_exactly_what_the_gateway_needs(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    (subnet,) = [
        r.values
        for r in _resources(plans, env, "azurerm_subnet")
        if r.address.startswith(GATEWAY_MODULE)
    ]
    assert subnet["address_prefixes"] == [_tfvars(env)["ingress"]["gateway"]["subnet_cidr"]]
    (nsg,) = [
        r.values
        for r in _resources(plans, env, "azurerm_network_security_group")
        if r.address.startswith(GATEWAY_MODULE)
    ]
    rules = {
        (
            rule["name"],
            rule["access"],
            rule["source_address_prefix"],
            rule["protocol"],
            tuple(sorted(rule["destination_port_ranges"] or [rule["destination_port_range"]])),
        )
        for rule in nsg["security_rule"]
        if rule["direction"] == "Inbound"
    }
    assert rules == GATEWAY_NSG_RULES
    deny = [rule for rule in nsg["security_rule"] if rule["access"] == "Deny"]
    assert [rule["priority"] for rule in deny] == [4096]
    assert all(
        rule["priority"] < 4096 for rule in nsg["security_rule"] if rule["access"] == "Allow"
    )


def gateway_route_problems(plan: dict[str, Any]) -> list[str]:
    """Routes that would reach the gateway's subnet: a route table or an association in the
    gateway's module, or any association other than the node subnet's firewall route."""
    problems = [
        f"{r.address} routes the gateway's subnet"
        for r in planned_resources(plan)
        if r.type in ("azurerm_route_table", "azurerm_subnet_route_table_association")
        and r.address.startswith(GATEWAY_MODULE)
    ]
    problems += [
        f"{r.address} is a route association other than the node subnet's"
        for r in planned_resources(plan)
        if r.type == "azurerm_subnet_route_table_association"
        and r.address != NODE_ROUTE_ASSOCIATION
        and not r.address.startswith(GATEWAY_MODULE)
    ]
    return problems


@pytest.mark.parametrize("env", GATEWAYED)
def test_the_gateway_subnet_gets_no_default_route(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    """The firewall's 0.0.0.0/0 route on the gateway's subnet would send the replies to Internet
    clients through the firewall (asymmetric, dropped) and cut off the gateway's management."""
    assert gateway_route_problems(plans[env]) == []


def test_a_route_on_the_gateway_subnet_is_reported(plans: dict[str, dict[str, Any]]) -> None:
    plan = copy.deepcopy(plans["prod"])
    (node_route,) = [c for c in plan["resource_changes"] if c["address"] == NODE_ROUTE_ASSOCIATION]
    routed = copy.deepcopy(node_route)
    routed.update(address=f"{GATEWAY_MODULE}azurerm_subnet_route_table_association.gateway")
    plan["resource_changes"].append(routed)
    assert gateway_route_problems(plan) == [f"{routed['address']} routes the gateway's subnet"]


@pytest.mark.parametrize(
    ("ingress", "message"),
    [
        (
            '{ exposure = "application_gateway", private_ip = "10.30.7.250" }',
            "ingress.exposure application_gateway needs private_ip",
        ),
        (
            '{ exposure = "application_gateway", private_ip = "10.30.9.10", gateway = { '
            'subnet_cidr = "10.30.10.0/24", host_name = "inventory.example.org", '
            "min_capacity = 3, max_capacity = 10 } }",
            "ingress.private_ip must be an address in network.node_subnet_cidr",
        ),
        (
            '{ exposure = "application_gateway", private_ip = "10.30.7.250", gateway = { '
            'subnet_cidr = "10.30.9.0/24", host_name = "inventory.example.org", '
            "min_capacity = 3, max_capacity = 10 } }",
            "overlaps another subnet of the network",
        ),
        (
            '{ exposure = "firewall_dnat", private_ip = "10.30.7.250" }',
            "must be public_load_balancer or application_gateway",
        ),
    ],
    ids=["gateway-without-settings", "address-outside-nodes", "subnet-on-the-firewall", "dnat"],
)
def test_a_broken_gateway_setting_is_refused(
    workspace: Workspace, plans: dict[str, dict[str, Any]], ingress: str, message: str
) -> None:
    """prod's values with one broken ingress setting: the root (or the gateway module it
    passes the values to) refuses the plan and says what to fix."""
    run = workspace.plan_runs(PLATFORM, "prod", extra=(f"-var=ingress={ingress}",))["plan"]
    assert run.status in ("fail", "error")
    assert any(message in d for d in run.diagnostics), run.diagnostics


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_defender_sensor_and_policy_add_on_run(plans: dict[str, dict[str, Any]], env: str) -> None:
    cluster = _one(plans, env, "azurerm_kubernetes_cluster")
    assert len(cluster["microsoft_defender"]) == 1
    assert cluster["azure_policy_enabled"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cluster_policy_effect_and_registries_follow_the_environment(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    policy = _tfvars(env)["cluster_policy"]
    registry = _one(plans, env, "azurerm_container_registry")["name"]
    assignments = {
        r.values["policy_definition_id"]: json.loads(r.values["parameters"])
        for r in _resources(plans, env, "azurerm_resource_policy_assignment")
    }
    assert set(assignments) == {RESTRICTED_POD_SECURITY, ALLOWED_IMAGES}
    assert {p["effect"]["value"] for p in assignments.values()} == {policy["effect"]}
    assert all("kube-system" in p["excludedNamespaces"]["value"] for p in assignments.values())
    allowed = re.compile(assignments[ALLOWED_IMAGES]["allowedContainerImagesRegex"]["value"])
    assert allowed.match(f"{registry}.azurecr.io/inventory-api@sha256:0123")
    assert not allowed.match("docker.io/library/postgres:16")
    assert not allowed.match(f"{registry}.azurecr.io.example.org/inventory-api:1")
    extra = policy.get("extra_allowed_registries", ["mcr.microsoft.com"])
    assert bool(allowed.match("mcr.microsoft.com/oss/kubernetes/pause:3.9")) == (
        "mcr.microsoft.com" in extra
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_api_server_exposure_is_stated(plans: dict[str, dict[str, Any]], env: str) -> None:
    tfvars = _tfvars(env)
    exposure = _output(plans, env, "api_server_exposure")
    cluster = _one(plans, env, "azurerm_kubernetes_cluster")
    private = tfvars["aks"]["private_cluster_enabled"]
    assert exposure["private"] is private is cluster["private_cluster_enabled"]
    if private:
        assert exposure["authorized_ranges"] == []
        assert not cluster.get("api_server_access_profile")
    else:
        ranges = cluster["api_server_access_profile"][0]["authorized_ip_ranges"]
        assert sorted(exposure["authorized_ranges"]) == sorted(ranges)
        assert sorted(ranges) == sorted(tfvars["ci_ip_ranges"])
    assert cluster["local_account_disabled"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_workload_pools_follow_the_environment(plans: dict[str, dict[str, Any]], env: str) -> None:
    aks = _tfvars(env)["aks"]
    planned_names = {
        p.values["name"] for p in _resources(plans, env, "azurerm_kubernetes_cluster_node_pool")
    }
    assert planned_names == set(aks["user_pools"])
    for name, pool in aks["user_pools"].items():
        planned = _pool(plans, env, name)
        spot = pool.get("spot", False)
        assert (planned.get("node_labels") or {}) == pool.get("labels", {}), name
        expected_taints = pool.get("taints", []) + ([SPOT_TAINT] if spot else [])
        assert (planned.get("node_taints") or []) == expected_taints, name
        assert planned["priority"] == ("Spot" if spot else "Regular"), name
        assert (planned["min_count"], planned["max_count"]) == (
            pool["min_count"],
            pool["max_count"],
        ), name


@pytest.mark.parametrize("env", [env for env in ENVIRONMENTS if _tfvars(env)["aks"]["zones"]])
def test_zonal_environments_have_a_tainted_database_pool_in_every_zone(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    key, value = DATABASE_LABEL
    database_pools = [
        p.values
        for p in _resources(plans, env, "azurerm_kubernetes_cluster_node_pool")
        if (p.values.get("node_labels") or {}).get(key) == value
    ]
    zones = sorted(zone for pool in database_pools for zone in pool["zones"])
    assert zones == sorted(_tfvars(env)["aks"]["zones"])
    assert all(f"{key}={value}:NoSchedule" in pool["node_taints"] for pool in database_pools)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cost_controls_follow_the_environment(plans: dict[str, dict[str, Any]], env: str) -> None:
    tfvars = _tfvars(env)
    cluster = _one(plans, env, "azurerm_kubernetes_cluster")
    assert cluster["cost_analysis_enabled"] is (tfvars["aks"]["sku_tier"] != "Free")

    (insights,) = [
        r.values
        for r in _resources(plans, env, "azurerm_monitor_data_collection_rule")
        if r.values["name"].endswith("-insights")
    ]
    extension = insights["data_sources"][0]["extension"][0]
    settings = json.loads(extension["extension_json"])["dataCollectionSettings"]
    wanted = tfvars["aks"]["container_insights"]
    assert settings["interval"] == wanted["interval"]
    assert settings["namespaceFilteringMode"] == wanted["namespace_filtering_mode"]
    assert settings["namespaces"] == wanted.get("namespaces", [])

    budgets = sorted(
        r.values["amount"]
        for r in _resources(plans, env, "azurerm_consumption_budget_resource_group")
    )
    assert budgets == sorted(
        [tfvars["budget"]["platform_monthly"], tfvars["budget"]["nodes_monthly"]]
    )
    for budget in _resources(plans, env, "azurerm_consumption_budget_resource_group"):
        kinds = {n["threshold_type"] for n in budget.values["notification"]}
        assert kinds == {"Actual", "Forecasted"}, budget.address
        recipients = {tuple(n["contact_emails"]) for n in budget.values["notification"]}
        assert recipients == {tuple(tfvars["monitoring"]["alert_email_addresses"])}


def test_dev_scales_out_on_spot_capacity(plans: dict[str, dict[str, Any]]) -> None:
    spot = [
        p.values
        for p in _resources(plans, "dev", "azurerm_kubernetes_cluster_node_pool")
        if p.values["priority"] == "Spot"
    ]
    assert spot
    assert all(p["min_count"] == 0 and p["eviction_policy"] == "Delete" for p in spot)


def test_public_ingress_behind_a_firewall_route_is_refused(
    workspace: Workspace, plans: dict[str, dict[str, Any]]
) -> None:
    """prod with its firewall egress but a public ingress load balancer: replies would leave
    through the firewall, so the root refuses the combination before any plan."""
    runs = workspace.plan_runs(
        PLATFORM, "prod", extra=('-var=ingress={exposure = "public_load_balancer"}',)
    )
    run = runs["plan"]
    assert run.status in ("fail", "error")
    assert any("answers asymmetrically" in d for d in run.diagnostics), run.diagnostics


def test_prod_refuses_credentials_for_another_subscription(
    workspace: Workspace, plans: dict[str, dict[str, Any]]
) -> None:
    """Credentials of the dev subscription planning prod: the postcondition on the client
    configuration stops the plan and names both subscriptions."""
    dev = environment_subscription(workspace.root, "dev")
    prod = environment_subscription(workspace.root, "prod")
    assert dev != prod
    run = workspace.plan_runs(PLATFORM, "prod", subscription_id=dev)["plan"]
    assert run.status in ("fail", "error")
    assert any(f"subscription {dev}" in d and prod in d for d in run.diagnostics), run.diagnostics


def test_every_environment_pins_its_own_subscription() -> None:
    subscriptions = [_tfvars(env)["subscription_id"] for env in ENVIRONMENTS]
    assert len(set(subscriptions)) == len(ENVIRONMENTS)


HUB_LINKS = "module.network.azurerm_private_dns_zone_virtual_network_link.hub"
HUB_KEY = re.compile(r'^\["(?P<zone>[^"/]+)/(?P<network>[^"]+)"\]$')


def ci_networks(env: str) -> dict[str, str]:
    """The CI agents' networks an environment declares, by short name."""
    return dict(_tfvars(env).get("ci_virtual_network_ids", {}))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_private_dns_zone_is_linked_to_every_ci_network(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    """Where Key Vault and the registry hide behind private endpoints, the CI agents that write
    the database secret and push images resolve their names too: each zone, each CI network."""
    zones = {z.values["name"] for z in _resources(plans, env, "azurerm_private_dns_zone")}
    links: dict[tuple[str, str], dict[str, Any]] = {}
    for resource in _resources(plans, env, "azurerm_private_dns_zone_virtual_network_link"):
        key = HUB_KEY.match(resource.address.removeprefix(HUB_LINKS))
        if resource.address.startswith(HUB_LINKS) and key:
            links[(key["zone"], key["network"])] = resource.values
    networks = ci_networks(env)
    if not _tfvars(env)["private_endpoints_enabled"]:
        assert networks == {}
        assert zones == set()
        assert links == {}
        return
    assert zones
    assert networks
    assert set(links) == {(zone, name) for zone in zones for name in networks}
    for (_, name), link in links.items():
        assert link["virtual_network_id"] == networks[name]
        assert link["registration_enabled"] is False


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_environment_network_peers_with_every_ci_network_and_nothing_more(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    """The agents need a route to the private addresses: this network's half of a peering to
    each CI network, carrying only traffic between the two (no forwarding, no gateways)."""
    peerings = [p.values for p in _resources(plans, env, "azurerm_virtual_network_peering")]
    assert sorted(p["remote_virtual_network_id"] for p in peerings) == sorted(
        ci_networks(env).values()
    )
    network = _one(plans, env, "azurerm_virtual_network")["name"]
    for peering in peerings:
        assert peering["virtual_network_name"] == network
        assert peering["allow_virtual_network_access"] is True
        assert peering["allow_forwarded_traffic"] is False
        assert peering["allow_gateway_transit"] is False
        assert peering["use_remote_gateways"] is False


def test_private_endpoints_without_a_ci_network_are_refused(
    workspace: Workspace, plans: dict[str, dict[str, Any]]
) -> None:
    """staging without the CI network: Key Vault and the registry would refuse public access
    and no agent could write the secret or push an image, so the root refuses the plan."""
    run = workspace.plan_runs(PLATFORM, "staging", extra=("-var=ci_virtual_network_ids={}",))[
        "plan"
    ]
    assert run.status in ("fail", "error")
    assert any(
        "set ci_virtual_network_ids to the VNet(s) the agents run in" in d for d in run.diagnostics
    ), run.diagnostics


def test_a_ci_network_without_private_endpoints_is_refused(
    workspace: Workspace, plans: dict[str, dict[str, Any]]
) -> None:
    """staging turned public while it still names a CI network: a contradiction the root
    refuses, so a peering never outlives the endpoints it was made for."""
    run = workspace.plan_runs(PLATFORM, "staging", extra=("-var=private_endpoints_enabled=false",))[
        "plan"
    ]
    assert run.status in ("fail", "error")
    assert any("ci_virtual_network_ids is only for private endpoints" in d for d in run.diagnostics)


def test_a_ci_network_that_is_not_a_network_id_is_refused(
    workspace: Workspace, plans: dict[str, dict[str, Any]]
) -> None:
    run = workspace.plan_runs(
        PLATFORM, "prod", extra=('-var=ci_virtual_network_ids={ ci-hub = "vnet-ci-hub-weu" }',)
    )["plan"]
    assert run.status in ("fail", "error")
    assert any("to virtual network resource IDs" in d for d in run.diagnostics), run.diagnostics
