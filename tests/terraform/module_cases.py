"""Per module: valid inputs (HCL) and bad inputs with the message each must be rejected with.

The test generates .tftest.hcl files from this table: a `valid` run that must plan (with
azurerm mocked) and one run per bad input that must fail with its validation message.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.core import contract

SUBNET_ID = (
    "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/rg/providers/"
    "Microsoft.Network/virtualNetworks/vnet/subnets/snet"
)
ARM = "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/rg/providers"
GUID = "11111111-2222-4333-8444-555555555555"
ACR_ZONE = "privatelink.azurecr.io"
ISSUER = "https://westeurope.oic.prod-aks.azure.com/11111111/22222222/"


def database_alerts(**changes: object) -> str:
    """The monitoring module's database_alerts (a three-member strict Patroni cluster behind the
    pooler) as HCL, with `changes` to single attributes."""
    values: dict[str, object] = {
        "ha_enabled": True,
        "members": 3,
        "synchronous_mode": "strict",
        "synchronous_node_count": 1,
        "lag_bytes": 16777216,
        "pooler_enabled": True,
        "pool_size": 20,
        **changes,
    }
    hcl = {
        k: str(v).lower() if isinstance(v, bool) else f'"{v}"' if isinstance(v, str) else str(v)
        for k, v in values.items()
    }
    return "{ " + ", ".join(f"{k} = {v}" for k, v in hcl.items()) + " }"


DATABASE_ALERTS = database_alerts()


@dataclass(frozen=True)
class BadInput:
    """One variable override (HCL) and the error text Terraform must report."""

    name: str
    variables: str
    message: str


VALID_INPUTS: dict[str, str] = {
    "conventions": f"""
    subscription_id = "{GUID}"
    workload        = "inventory"
    environment     = "dev"
    location        = "westeurope"
    owner           = "platform-team@example.org"
    cost_center     = "CC-1001"
""",
    "resource-group": """
    name     = "rg-inventory-dev-weu"
    location = "westeurope"
    tags     = { environment = "dev" }
""",
    "network": f"""
    resource_group_name          = "rg"
    location                     = "westeurope"
    address_space                = "10.10.0.0/16"
    node_subnet_cidr             = "10.10.0.0/22"
    private_endpoint_subnet_cidr = "10.10.8.0/24"
    private_dns_zones            = ["privatelink.vaultcore.azure.net"]
    hub_virtual_network_ids      = {{ ci-hub = "{ARM}/Microsoft.Network/virtualNetworks/vnet-ci" }}
    tags                         = {{}}
    names = {{
      virtual_network         = "vnet-x"
      node_subnet             = "snet-nodes-x"
      private_endpoint_subnet = "snet-pe-x"
      node_nsg                = "nsg-nodes-x"
      private_endpoint_nsg    = "nsg-pe-x"
    }}
""",
    "aks": f"""
    resource_group_name             = "rg"
    location                        = "westeurope"
    tenant_id                       = "{GUID}"
    admin_group_object_ids          = ["{GUID}"]
    kubernetes_version              = "1.33"
    zones                           = ["1", "2", "3"]
    node_subnet_id                  = "{SUBNET_ID}"
    api_server_authorized_ip_ranges = ["203.0.113.0/28"]
    log_analytics_workspace_id      = "{ARM}/Microsoft.OperationalInsights/workspaces/log"
    monitor_workspace_id            = "{ARM}/Microsoft.Monitor/accounts/amw"
    tags                            = {{}}
    system_pool = {{ vm_size = "Standard_D4s_v5", min_count = 1, max_count = 3 }}
    user_pools  = {{
      user = {{ vm_size = "Standard_D4s_v5", min_count = 1, max_count = 3 }}
      db1  = {{
        vm_size = "Standard_E4s_v5", min_count = 1, max_count = 2, zones = ["1"]
        labels  = {{ "inventory.example.org/pool" = "database" }}
        taints  = ["inventory.example.org/pool=database:NoSchedule"]
      }}
      spot = {{ vm_size = "Standard_D2s_v5", min_count = 0, max_count = 3, spot = true }}
    }}
    maintenance_window = {{ day_of_week = "Sunday", start_time = "02:00" }}
    names = {{
      aks                      = "aks-x"
      aks_dns_prefix           = "aks-x"
      aks_node_resource_group  = "rg-aks-nodes-x"
      aks_control_plane_id     = "id-aks-x"
      aks_kubelet_id           = "id-kubelet-x"
      data_collection_endpoint = "dce-x"
      data_collection_rule     = "dcr-x"
    }}
""",
    "egress": f"""
    mode                 = "firewall"
    resource_group_name  = "rg"
    location             = "westeurope"
    virtual_network_name = "vnet-x"
    node_subnet_id       = "{SUBNET_ID}"
    node_subnet_cidr     = "10.30.0.0/21"
    zones                = ["1", "2", "3"]
    tags                 = {{}}
    firewall = {{ subnet_cidr = "10.30.9.0/26" }}
    workload_fqdns = {{ updates = ["updates.example.org"] }}
    names = {{
      public_ip       = "pip-x"
      firewall        = "afw-x"
      firewall_policy = "afwp-x"
      firewall_rules  = "rcg-x"
      route_table     = "rt-x"
      nat_gateway     = "ng-x"
    }}
""",
    "ingress-gateway": f"""
    resource_group_name  = "rg"
    location             = "westeurope"
    virtual_network_name = "vnet-x"
    address_space        = "10.30.0.0/16"
    subnet_cidr          = "10.30.10.0/24"
    zones                = ["1", "2", "3"]
    host_name            = "inventory.example.org"
    backend_ip_address   = "10.30.7.250"
    tags                 = {{}}
    other_subnet_cidrs = {{
      nodes             = "10.30.0.0/21"
      private_endpoints = "10.30.8.0/24"
      firewall          = "10.30.9.0/26"
    }}
    autoscale = {{ min_capacity = 3, max_capacity = 10 }}
    tls_certificate = {{
      name         = "ingress-tls"
      secret_scope = "{ARM}/Microsoft.KeyVault/vaults/kv-x/secrets/ingress-tls"
      secret_uri   = "https://kv-x.vault.azure.net/secrets/ingress-tls"
    }}
    names = {{
      gateway    = "agw-x"
      subnet     = "snet-agw-x"
      nsg        = "nsg-agw-x"
      public_ip  = "pip-agw-x"
      waf_policy = "waf-x"
      identity   = "id-agw-x"
    }}
""",
    "gitops": f"""
    cluster_id    = "{ARM}/Microsoft.ContainerService/managedClusters/aks"
    name          = "{contract.load().release}"
    path          = "gitops/prod"
    substitutions = {{ namespace = "{contract.load().namespace}", tenant_id = "{GUID}" }}
    repository = {{
      url    = "https://github.com/example-org/inventory-platform"
      branch = "main"
    }}
    source_identity = {{
      name_prefix         = "id-inventory-prod-weu"
      resource_group_name = "rg"
      location            = "westeurope"
      oidc_issuer_url     = "https://westeurope.oic.prod-aks.azure.com/{GUID}/{GUID}/"
      registry_id         = "{ARM}/Microsoft.ContainerRegistry/registries/crinventoryprodweu"
    }}
""",
    "cluster-policy": f"""
    cluster_id         = "{ARM}/Microsoft.ContainerService/managedClusters/aks"
    name_prefix        = "pa-inventory-prod-weu"
    effect             = "Deny"
    allowed_registries = ["crinventoryprodweu.azurecr.io", "mcr.microsoft.com"]
""",
    "budget": f"""
    name_prefix    = "budget-inventory-dev-weu"
    start_month    = "2027-01"
    contact_emails = ["platform@example.org"]
    budgets = {{
      platform = {{ resource_group_id = "{ARM.removesuffix("/providers")}", monthly_amount = 100 }}
    }}
""",
    "acr": f"""
    resource_group_name = "rg"
    location            = "westeurope"
    name                = "crinventorydevweu0a1b"
    kubelet_object_id   = "{GUID}"
    tags                = {{}}
""",
    "keyvault": f"""
    resource_group_name = "rg"
    location            = "westeurope"
    name                = "kv-inventorydevweu0a1b"
    tenant_id           = "{GUID}"
    deployer_object_id  = "{GUID}"
    node_subnet_id      = "{SUBNET_ID}"
    ingress_certificate = {{ name = "ingress-tls" }}
    tags                = {{}}
""",
    "monitoring": f"""
    resource_group_name   = "rg"
    location              = "westeurope"
    log_retention_days    = 30
    alert_email_addresses = ["oncall@example.org"]
    aks_cluster_id        = "{ARM}/Microsoft.ContainerService/managedClusters/aks"
    backup_job_prefix     = "{contract.load().backup_job_prefix}"
    aks_cluster_name      = "aks"
    tags                  = {{}}
    workload_names = {{
      namespace = "{contract.load().namespace}"
      database  = "{contract.load().fullnames["postgresql"]}"
      api       = "{contract.load().fullnames["inventory-api"]}"
    }}
    database_alerts = {DATABASE_ALERTS}
    names = {{
      log_analytics      = "log-x"
      monitor_workspace  = "amw-x"
      action_group       = "ag-x"
      action_group_short = "agx"
      alert_suffix       = "inventory-dev-weu"
    }}
""",
    "backup-storage": f"""
    resource_group_name = "rg"
    location            = "westeurope"
    environment         = "prod"
    replication_type    = "RAGRS"
    soft_delete_days    = 30
    node_subnet_id      = "{SUBNET_ID}"
    oidc_issuer_url     = "{ISSUER}"
    tags                = {{}}
    names = {{
      storage_account  = "stinventoryprdweu0a1bbak"
      identity         = "id-backup-x"
      private_endpoint = "pe-x"
    }}
    immutability    = {{ period_days = 14, locked = true }}
    lifecycle_rules = {{ cool_after_days = 30, delete_versions_after_days = 60 }}
    service_account = {{ namespace = "inventory", name = "inventory-postgresql-backup" }}
""",
    "workload-identity": f"""
    resource_group_name = "rg"
    location            = "westeurope"
    name_prefix         = "id-wl-inventory-dev-weu"
    oidc_issuer_url     = "{ISSUER}"
    tags                = {{}}
    workloads = {{
      api = {{
        namespace        = "inventory"
        service_accounts = {{ api = "inventory-api", migrations = "inventory-api-migrations" }}
      }}
    }}
""",
}

BAD_INPUTS: dict[str, list[BadInput]] = {
    "conventions": [
        BadInput("workload_uppercase", 'workload = "Inventory"', "workload must be 3-9 lowercase"),
        BadInput("workload_too_long", 'workload = "inventorys"', "workload must be 3-9 lowercase"),
        BadInput(
            "subscription_uppercase",
            'subscription_id = "1D0A5B2E-6C3F-4E8A-9B1D-2F7C8E9A0D01"',
            "subscription_id must be a lowercase GUID",
        ),
        BadInput(
            "unknown_environment",
            'environment = "qa"',
            "environment must be one of dev, staging, prod.",
        ),
        BadInput("unknown_region", 'location = "eastus"', "location must be one of westeurope"),
        BadInput(
            "cost_center_format", 'cost_center = "1234"', "cost_center must look like CC-1234."
        ),
    ],
    "resource-group": [
        BadInput("name_without_prefix", 'name = "inventory-dev"', "name must start with rg-"),
    ],
    "network": [
        BadInput(
            "hub_network_not_an_id",
            'hub_virtual_network_ids = { ci-hub = "vnet-ci-hub" }',
            "must map lowercase names to virtual network resource IDs",
        ),
        BadInput(
            "ingress_from_anywhere",
            'node_ingress = { web = { priority = 200, source = "*", destination = "*", '
            'ports = ["443"] } }',
            "never * or 0.0.0.0/0",
        ),
        BadInput(
            "ingress_port_range",
            'node_ingress = { web = { priority = 200, source = "Internet", destination = "*", '
            'ports = ["1-65535"] } }',
            "at least one single destination port",
        ),
        BadInput(
            "ingress_rule_neither_allow_nor_deny",
            'node_ingress = { web = { priority = 200, source = "Internet", destination = "*", '
            'ports = ["443"], access = "Log" } }',
            "node_ingress access must be Allow or Deny.",
        ),
        BadInput("address_space_too_small", 'address_space = "10.10.0.0/25"', "/24 or larger"),
        BadInput("node_subnet_too_small", 'node_subnet_cidr = "10.10.0.0/27"', "/26 or larger"),
        BadInput(
            "not_a_cidr",
            'private_endpoint_subnet_cidr = "10.10.8.0"',
            "private_endpoint_subnet_cidr must be an IPv4 CIDR",
        ),
        BadInput(
            "public_dns_zone",
            'private_dns_zones = ["vaultcore.azure.net"]',
            "must be privatelink.* zones",
        ),
    ],
    "aks": [
        BadInput("tenant_not_guid", 'tenant_id = "contoso"', "tenant_id must be a lowercase GUID."),
        BadInput("no_admin_group", "admin_group_object_ids = []", "local accounts are disabled"),
        BadInput(
            "version_with_suffix",
            'kubernetes_version = "1.33-preview"',
            "kubernetes_version must be MAJOR.MINOR or MAJOR.MINOR.PATCH",
        ),
        BadInput(
            "patch_channel_with_pinned_patch",
            'kubernetes_version = "1.33.2"',
            "automatic_upgrade_channel patch conflicts with kubernetes_version 1.33.2",
        ),
        BadInput(
            "stable_channel_with_pinned_minor",
            'automatic_upgrade_channel = "stable"',
            "automatic_upgrade_channel stable conflicts with kubernetes_version 1.33",
        ),
        BadInput(
            "pool_name_too_long",
            'user_pools = { workloads01 = { vm_size = "Standard_D4s_v5", min_count = 1, '
            "max_count = 3 } }",
            "named with 1-9 lowercase letters",
        ),
        BadInput("no_user_pools", "user_pools = {}", "user_pools needs at least one pool"),
        BadInput(
            "taint_without_effect",
            'user_pools = { db = { vm_size = "Standard_E4s_v5", min_count = 1, max_count = 2, '
            'taints = ["workload=database"] } }',
            "taints must look like KEY=VALUE:NoSchedule",
        ),
        BadInput(
            "pool_zone_four",
            'user_pools = { db = { vm_size = "Standard_E4s_v5", min_count = 1, max_count = 2, '
            'zones = ["4"] } }',
            "user_pools zones must be values from",
        ),
        BadInput(
            "insights_filter_without_namespaces",
            'container_insights = { namespace_filtering_mode = "Include" }',
            "Include/Exclude (with at least one)",
        ),
        BadInput(
            "insights_interval_hourly",
            'container_insights = { interval = "60m" }',
            "container_insights.interval must be 1m to 30m.",
        ),
        BadInput(
            "outbound_managed_nat",
            'outbound_type = "managedNATGateway"',
            "outbound_type must be loadBalancer, userDefinedRouting or userAssignedNATGateway.",
        ),
        BadInput("zone_four", 'zones = ["1", "4"]', "zones must be distinct values"),
        BadInput(
            "system_pool_empty",
            'system_pool = { vm_size = "Standard_D4s_v5", min_count = 0, max_count = 3 }',
            "system_pool needs 1 <= min_count",
        ),
        BadInput(
            "max_pods_low",
            'user_pools = { user = { vm_size = "Standard_D4s_v5", min_count = 1, max_count = 3, '
            "max_pods = 30 } }",
            "Every user pool's max_pods must be between 50 and 250.",
        ),
        BadInput(
            "public_without_ranges",
            "api_server_authorized_ip_ranges = []",
            "A public API server needs at least one authorized IP range",
        ),
        BadInput(
            "private_with_ranges", "private_cluster_enabled = true", "a private cluster takes none"
        ),
        BadInput(
            "open_to_internet",
            'api_server_authorized_ip_ranges = ["0.0.0.0/0"]',
            "must not contain 0.0.0.0/0",
        ),
        BadInput(
            "short_window",
            'maintenance_window = { day_of_week = "Sunday", start_time = "02:00", duration = 2 }',
            "duration 4-24 hours",
        ),
        BadInput(
            "bad_weekday",
            'maintenance_window = { day_of_week = "Sun", start_time = "02:00" }',
            "must be a weekday name",
        ),
        BadInput(
            "routing_unknown_controller",
            'web_app_routing = { default_nginx_controller = "Public" }',
            "must be AnnotationControlled, External, Internal or None.",
        ),
        BadInput(
            "routing_zone_not_an_id",
            'web_app_routing = { dns_zone_ids = ["example.org"] }',
            "must be resource IDs of Azure DNS or private DNS zones.",
        ),
    ],
    "egress": [
        BadInput("unknown_mode", 'mode = "proxy"', "mode must be firewall or nat_gateway."),
        BadInput(
            "firewall_subnet_too_small",
            'firewall = { subnet_cidr = "10.30.9.0/27" }',
            "/26 or larger (Azure Firewall's minimum)",
        ),
        BadInput(
            "basic_tier",
            'firewall = { subnet_cidr = "10.30.9.0/26", sku_tier = "Basic" }',
            "firewall.sku_tier must be Standard or Premium.",
        ),
        BadInput(
            "fqdn_wildcard_everything",
            'workload_fqdns = { anything = ["*"] }',
            "never * alone",
        ),
    ],
    "ingress-gateway": [
        BadInput(
            "subnet_outside_network",
            'subnet_cidr = "10.31.10.0/24"',
            "must lie inside the virtual network's address_space 10.30.0.0/16",
        ),
        BadInput(
            "subnet_overlaps_nodes",
            'subnet_cidr = "10.30.4.0/24"',
            "overlaps another subnet of the network",
        ),
        BadInput(
            "subnet_contains_firewall",
            'subnet_cidr = "10.30.8.0/22"',
            "overlaps another subnet of the network",
        ),
        BadInput("subnet_too_small", 'subnet_cidr = "10.30.10.0/27"', "/26 or larger"),
        BadInput(
            "capacity_beyond_subnet",
            'subnet_cidr = "10.30.10.0/26"\n'
            "    autoscale = { min_capacity = 3, max_capacity = 60 }",
            "does not fit subnet 10.30.10.0/26",
        ),
        BadInput(
            "min_above_max",
            "autoscale = { min_capacity = 5, max_capacity = 4 }",
            "1 <= min_capacity <= max_capacity",
        ),
        BadInput(
            "fewer_instances_than_zones",
            "autoscale = { min_capacity = 2, max_capacity = 10 }",
            "is below the 3 zones",
        ),
        BadInput("waf_off", 'waf = { mode = "Off" }', "waf.mode must be Prevention or Detection."),
        BadInput(
            "retired_rule_set",
            'waf = { rule_set_type = "OWASP", rule_set_version = "2.2.9" }',
            "is not offered: use Microsoft_DefaultRuleSet 2.1 or OWASP 3.2",
        ),
        BadInput(
            "host_with_scheme",
            'host_name = "https://inventory.example.org"',
            "host_name must be a lowercase DNS name",
        ),
        BadInput(
            "backend_not_an_address",
            'backend_ip_address = "ingress"',
            "backend_ip_address must be an IPv4 address",
        ),
        BadInput(
            "vault_instead_of_secret",
            f'tls_certificate = {{ name = "ingress-tls", secret_scope = '
            f'"{ARM}/Microsoft.KeyVault/vaults/kv-x", '
            'secret_uri = "https://kv-x.vault.azure.net/secrets/ingress-tls" }',
            "the certificate secret's resource ID",
        ),
        BadInput("zone_twice", 'zones = ["1", "1"]', "zones must be distinct values"),
    ],
    "gitops": [
        BadInput(
            "extension_version_and_train",
            'extension = { release_train = "Stable", version = "1.15.1" }',
            "extension needs exactly one of release_train and version",
        ),
        BadInput(
            "extension_unpinned_version",
            'extension = { version = "1.15" }',
            "extension.version must pin one release as MAJOR.MINOR.PATCH",
        ),
        BadInput(
            "extension_unknown_train",
            'extension = { release_train = "Nightly" }',
            "extension.release_train must be Stable or Preview",
        ),
        BadInput(
            "repository_with_credentials",
            'repository = { url = "https://user:token@github.com/example-org/x", branch = "main" }',
            "repository.url must be a public https:// URL without credentials",
        ),
        BadInput(
            "repository_over_ssh",
            'repository = { url = "ssh://git@github.com/example-org/x", branch = "main" }',
            "repository.url must be a public https:// URL without credentials",
        ),
        BadInput(
            "sync_too_often",
            'repository = { url = "https://github.com/x/y", branch = "main", '
            "sync_interval_seconds = 5 }",
            "repository.sync_interval_seconds must be between 60 and 3600",
        ),
        BadInput("path_upwards", 'path = "gitops/../iac"', "path must be a relative folder"),
        BadInput(
            "substitution_name_with_hyphen",
            'substitutions = { "key-vault" = "kv" }',
            "substitutions keys must be valid Flux variable names",
        ),
        BadInput(
            "substitution_of_the_source",
            'substitutions = { flux_source_namespace = "other" }',
            "substitutions must not set flux_source_namespace",
        ),
        BadInput("name_uppercase", 'name = "Inventory"', "name must be 1-30 lowercase"),
        BadInput(
            "source_identity_pulling_from_a_storage_account",
            'source_identity = { name_prefix = "id", resource_group_name = "rg", '
            'location = "westeurope", oidc_issuer_url = "https://issuer/", '
            f'registry_id = "{ARM}/Microsoft.Storage/storageAccounts/st" }}',
            "source_identity.registry_id must be the resource ID of a container registry",
        ),
        BadInput(
            "source_identity_issuer_over_http",
            'source_identity = { name_prefix = "id", resource_group_name = "rg", '
            'location = "westeurope", oidc_issuer_url = "http://issuer/", '
            f'registry_id = "{ARM}/Microsoft.ContainerRegistry/registries/cr" }}',
            "source_identity.oidc_issuer_url must be the cluster's https:// OIDC issuer URL",
        ),
    ],
    "cluster-policy": [
        BadInput("effect_disabled", 'effect = "Disabled"', "effect must be Deny or Audit."),
        BadInput("no_registries", "allowed_registries = []", "at least one registry host"),
        BadInput(
            "registry_with_scheme",
            'allowed_registries = ["https://crinventoryprodweu.azurecr.io"]',
            "at least one registry host",
        ),
    ],
    "budget": [
        BadInput(
            "zero_amount",
            f'budgets = {{ platform = {{ resource_group_id = "{ARM.removesuffix("/providers")}", '
            "monthly_amount = 0 } }",
            "each with a positive monthly_amount",
        ),
        BadInput("start_day", 'start_month = "2027-01-15"', "start_month must be YYYY-MM"),
        BadInput("no_recipients", "contact_emails = []", "at least one e-mail address"),
        BadInput("threshold_zero", "actual_thresholds = [0]", "percentage in (0, 1000]"),
    ],
    "acr": [
        BadInput("name_with_hyphen", 'name = "cr-inventory"', "5-50 lowercase letters and digits"),
        BadInput("basic_sku", 'sku = "Basic"', "sku must be Standard or Premium"),
        BadInput("retention_zero", "untagged_retention_days = 0", "between 1 and 365"),
        BadInput(
            "private_endpoint_needs_premium",
            f'sku = "Standard"\n    private_endpoint = {{ name = "pe", subnet_id = "{SUBNET_ID}", '
            f'private_dns_zone_id = "{ARM}/Microsoft.Network/privateDnsZones/{ACR_ZONE}" }}',
            "need the Premium SKU",
        ),
    ],
    "keyvault": [
        BadInput(
            "name_too_long", 'name = "kv-inventory-staging-westeu"', "name must be 3-24 lowercase"
        ),
        BadInput(
            "name_consecutive_hyphens", 'name = "kv-inventory--dev"', "no two hyphens in a row"
        ),
        BadInput("name_trailing_hyphen", 'name = "kv-inventory-"', "name must be 3-24 lowercase"),
        BadInput("soft_delete_too_long", "soft_delete_retention_days = 120", "between 7 and 90"),
        BadInput(
            "open_firewall", 'allowed_ip_ranges = ["0.0.0.0/0"]', "must not contain 0.0.0.0/0"
        ),
        BadInput("password_version_zero", "database_password_version = 0", "positive whole number"),
        BadInput(
            "certificate_name_with_dot",
            'ingress_certificate = { name = "ingress.tls" }',
            "ingress_certificate.name must be a Key Vault object name",
        ),
        BadInput(
            "self_signed_for_no_host",
            'ingress_certificate = { name = "ingress-tls", self_signed = { dns_names = [] } }',
            "must list at least one lowercase DNS name",
        ),
        BadInput(
            "self_signed_for_years",
            'ingress_certificate = { name = "ingress-tls", self_signed = '
            '{ dns_names = ["inventory.dev.example.org"], validity_months = 36 } }',
            "validity_months must be a whole number from 1 to 24",
        ),
    ],
    "monitoring": [
        BadInput("retention_too_short", "log_retention_days = 7", "between 30 and 730"),
        BadInput(
            "no_alert_recipients", "alert_email_addresses = []", "at least one e-mail address"
        ),
        BadInput("bad_email", 'alert_email_addresses = ["oncall"]', "at least one e-mail address"),
        BadInput("severity_five", "alert_severity = 5", "integer from 0 to 4"),
        BadInput(
            "warning_address_invalid",
            'warning_email_addresses = ["oncall"]',
            "must hold e-mail addresses",
        ),
        BadInput(
            "workload_name_uppercase",
            'workload_names = { namespace = "Inventory", database = "db", api = "api" }',
            "must be Kubernetes names",
        ),
        BadInput(
            "threshold_over_100",
            "node_pressure_thresholds = "
            "{ cpu_percent = 120, memory_percent = 85, disk_percent = 80 }",
            "percentages in (0, 100]",
        ),
        BadInput(
            "backup_job_prefix_without_hyphen",
            'backup_job_prefix = "db-backup"',
            "backup_job_prefix must be a Kubernetes name prefix ending in '-'",
        ),
        BadInput(
            "no_database_members",
            f"database_alerts = {database_alerts(members=0)}",
            "database_alerts.members must be a whole number from 1 to 9",
        ),
        BadInput(
            "synchronous_mode_unknown",
            f"database_alerts = {database_alerts(synchronous_mode='remote_apply')}",
            "database_alerts.synchronous_mode must be off, on or strict",
        ),
        BadInput(
            "no_synchronous_standbys",
            f"database_alerts = {database_alerts(synchronous_node_count=0)}",
            "database_alerts.synchronous_node_count must be a whole number from 1 to 8",
        ),
        BadInput(
            "fractional_lag",
            f"database_alerts = {database_alerts(lag_bytes=0.5)}",
            "database_alerts.lag_bytes must be a whole number of bytes",
        ),
        BadInput(
            "empty_pool",
            f"database_alerts = {database_alerts(pool_size=0)}",
            "database_alerts.pool_size must be a whole number from 1 to 1000",
        ),
        BadInput(
            "diagnostics_without_logs",
            f'diagnostic_targets = {{ aks = {{ resource_id = "{ARM}/x" }} }}',
            "at least one log category",
        ),
    ],
    "backup-storage": [
        BadInput(
            "prod_locally_redundant",
            'replication_type = "LRS"',
            "prod backups must be geo-redundant",
        ),
        BadInput(
            "unknown_replication", 'replication_type = "GRS2"', "replication_type must be one of"
        ),
        BadInput(
            "versions_deleted_while_immutable",
            "lifecycle_rules = { cool_after_days = 30, delete_versions_after_days = 14 }",
            "must exceed immutability.period_days",
        ),
        BadInput(
            "container_uppercase",
            'container_name = "PgBackRest"',
            "container_name must be 3-63 lowercase",
        ),
        BadInput(
            "bad_service_account",
            'service_account = { namespace = "Inventory", name = "backup" }',
            "valid Kubernetes names",
        ),
        BadInput(
            "account_name_hyphen",
            'names = { storage_account = "st-inventory", identity = "id", '
            'private_endpoint = "pe" }',
            "3-24 lowercase letters and digits",
        ),
    ],
    "workload-identity": [
        BadInput(
            "key_uppercase",
            'workloads = { API = { namespace = "inventory", '
            'service_accounts = { api = "inventory-api" } } }',
            "workloads keys must be 1-24 lowercase",
        ),
        BadInput(
            "namespace_invalid",
            'workloads = { api = { namespace = "in_ventory", '
            'service_accounts = { api = "inventory-api" } } }',
            "valid Kubernetes names",
        ),
        BadInput(
            "service_account_invalid",
            'workloads = { api = { namespace = "inventory", '
            'service_accounts = { api = "Inventory_API" } } }',
            "valid Kubernetes names",
        ),
        BadInput(
            "service_account_role_invalid",
            'workloads = { api = { namespace = "inventory", '
            'service_accounts = { API_ROLE = "inventory-api" } } }',
            "valid Kubernetes names",
        ),
        BadInput(
            "no_service_accounts",
            'workloads = { api = { namespace = "inventory", service_accounts = {} } }',
            "at least one ServiceAccount, each once",
        ),
        BadInput(
            "duplicate_service_account",
            'workloads = { api = { namespace = "inventory", '
            'service_accounts = { api = "inventory-api", migrations = "inventory-api" } } }',
            "at least one ServiceAccount, each once",
        ),
    ],
}


def module_test_files(module: str) -> dict[str, str]:
    """Generated .tftest.hcl files for one module: `valid` plus one file per bad input.

    One file per case because an invalid variable value errors its file and Terraform then
    skips the file's remaining runs; separate files run independently.
    """
    header = (
        "# Generated by tests/terraform/test_module_validations.py from module_cases.py.\n"
        "# azurerm is mocked (no credentials); random runs for real (it needs none).\n"
        'mock_provider "azurerm" {}\n\n'
        f"variables {{{VALID_INPUTS[module]}}}\n\n"
    )
    files = {"valid.tftest.hcl": header + 'run "valid" {\n  command = plan\n}\n'}
    for bad in BAD_INPUTS[module]:
        files[f"{bad.name}.tftest.hcl"] = header + (
            f'run "{bad.name}" {{\n  command = plan\n\n'
            f"  variables {{\n    {bad.variables}\n  }}\n}}\n"
        )
    return files
