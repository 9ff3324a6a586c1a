# staging: production's network shape (private endpoints, three zones) at a smaller size,
# with a public API server restricted to the CI agents so tests can reach it.
environment = "staging"
location    = "westeurope"
owner       = "platform-team@example.org"
cost_center = "CC-1001"

# The environment's own subscription; the plan stops if the credentials point elsewhere.
subscription_id = "5a7e2c1b-3d4f-4a6b-8c9d-0e1f2a3b4c02"

resource_group_delete_lock = false

network = {
  address_space                = "10.20.0.0/16"
  node_subnet_cidr             = "10.20.0.0/22"
  private_endpoint_subnet_cidr = "10.20.8.0/24"
}

private_endpoints_enabled = true

# The CI agents run in the hub network: Terraform writes the database secret and the publish
# stage pushes images through the private endpoints from there, so the environment's network
# peers with it and every private DNS zone is linked to it (placeholder ID; the hub creates its
# own half of the peering to the virtual_network_id output).
ci_virtual_network_ids = {
  ci-hub = "/subscriptions/0f0e0d0c-0b0a-4908-8706-050403020100/resourceGroups/rg-ci-hub-weu/providers/Microsoft.Network/virtualNetworks/vnet-ci-hub-weu"
}

ci_ip_ranges = ["203.0.113.0/28", "198.51.100.0/28"]

aks = {
  kubernetes_version = "1.33"
  # Standard: the uptime SLA and cost analysis, like prod.
  sku_tier                = "Standard"
  zones                   = ["1", "2", "3"]
  private_cluster_enabled = false
  admin_group_object_ids  = ["6b1f2a3c-4d5e-4f60-8a71-92b3c4d5e6f1"]
  system_pool = {
    vm_size   = "Standard_D4s_v5"
    min_count = 2
    max_count = 3
  }
  # One database pool per zone, so the autoscaler can add a node in the zone where a database
  # disk lives; min 0 because staging's database may wait a few minutes for its node.
  user_pools = {
    user = {
      vm_size   = "Standard_D4s_v5"
      min_count = 2
      max_count = 6
    }
    db1 = {
      vm_size   = "Standard_D4s_v5"
      min_count = 0
      max_count = 1
      zones     = ["1"]
      labels    = { "inventory.example.org/pool" = "database" }
      taints    = ["inventory.example.org/pool=database:NoSchedule"]
    }
    db2 = {
      vm_size   = "Standard_D4s_v5"
      min_count = 0
      max_count = 1
      zones     = ["2"]
      labels    = { "inventory.example.org/pool" = "database" }
      taints    = ["inventory.example.org/pool=database:NoSchedule"]
    }
    db3 = {
      vm_size   = "Standard_D4s_v5"
      min_count = 0
      max_count = 1
      zones     = ["3"]
      labels    = { "inventory.example.org/pool" = "database" }
      taints    = ["inventory.example.org/pool=database:NoSchedule"]
    }
  }
  # The product's and the system namespaces every 5 minutes: enough to debug a release.
  container_insights = {
    interval                 = "5m"
    namespace_filtering_mode = "Include"
    namespaces               = ["inventory", "kube-system", "app-routing-system"]
  }
  maintenance_window = {
    day_of_week = "Wednesday"
    start_time  = "06:00"
  }
}

# NAT gateway egress: one fixed outbound address, unfiltered. Staging keeps the public ingress
# load balancer its release tests use, and a firewall route would make that load balancer's
# replies leave asymmetrically through the firewall; prod (firewall) proves the FQDN rules.
egress = {
  mode = "nat_gateway"
}

# The managed NGINX's public load balancer. Its TLS certificate (a public one for the Ingress
# host) is imported into the environment's Key Vault before the first apply, under the name the
# conventions module gives it (ingress-tls); renewals are imported as new versions.
ingress = {
  exposure = "public_load_balancer"
  certificate = {
    source = "imported"
  }
}

# Deny, as in prod: a pod prod would refuse fails here first.
cluster_policy = {
  effect = "Deny"
}

budget = {
  platform_monthly = 600
  nodes_monthly    = 900
  start_month      = "2027-01"
}

# Premium: private endpoints need it.
acr = {
  sku                      = "Premium"
  zone_redundancy_enabled  = true
  georeplication_locations = []
}

key_vault = {
  soft_delete_retention_days = 30
}

monitoring = {
  log_retention_days    = 60
  daily_quota_gb        = 10
  alert_email_addresses = ["platform-staging-alerts@example.org"]
  alert_severity        = 2
}

backup = {
  replication_type           = "ZRS"
  soft_delete_days           = 14
  immutability_days          = 14
  immutability_locked        = false
  cool_after_days            = 14
  delete_versions_after_days = 30
  # A second repository in the paired region: staging is where the region rehearsal (a drill from
  # repo2 alone) runs before prod relies on it; it costs one more LRS/ZRS account.
  secondary_location = "northeurope"
}

# Entra ID app registration of the API (its client id is the tokens' audience).
api_client_id = "4d0e9f8a-2b3c-4d4e-9f5a-6b7c8d9e0f12"

# flux: the cluster follows gitops/staging on the environment branch deploy/staging, where each deploy
# pushes one commit: a reviewed commit of main with its promoted image digests. Drift is reverted.
delivery = {
  mode           = "flux"
  repository_url = "https://github.com/example-org/inventory-platform"
  branch         = "deploy/staging"
}
