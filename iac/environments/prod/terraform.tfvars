# prod: private API server, private endpoints only, three zones, geo-redundant immutable
# backups, geo-replicated registry, long retention, a delete lock on the resource group.
environment = "prod"
location    = "westeurope"
owner       = "platform-team@example.org"
cost_center = "CC-1002"

# The environment's own subscription; the plan stops if the credentials point elsewhere.
subscription_id = "9c4b8e7d-2a1f-4c3e-8d5b-6a7f8e9c0b03"

resource_group_delete_lock = true

network = {
  address_space                = "10.30.0.0/16"
  node_subnet_cidr             = "10.30.0.0/21"
  private_endpoint_subnet_cidr = "10.30.8.0/24"
}

private_endpoints_enabled = true

# The CI agents run in the hub network: Terraform writes the database secret and the publish
# stage pushes images through the private endpoints from there, so the environment's network
# peers with it and every private DNS zone is linked to it (placeholder ID; the hub creates its
# own half of the peering to the virtual_network_id output).
ci_virtual_network_ids = {
  ci-hub = "/subscriptions/0f0e0d0c-0b0a-4908-8706-050403020100/resourceGroups/rg-ci-hub-weu/providers/Microsoft.Network/virtualNetworks/vnet-ci-hub-weu"
}

# Private cluster and private endpoints: CI agents run inside the peered network.
ci_ip_ranges = []

aks = {
  kubernetes_version = "1.33"
  # Standard: the financially backed uptime SLA, and cost analysis by namespace and deployment.
  sku_tier                = "Standard"
  zones                   = ["1", "2", "3"]
  private_cluster_enabled = true
  admin_group_object_ids  = ["0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a"]
  system_pool = {
    vm_size   = "Standard_D4s_v5"
    min_count = 3
    max_count = 5
  }
  # The API on D8s_v5 across the zones; the database on memory-optimized E4s_v5, one pool per
  # zone (its disks are zonal) tainted so that only the database lands there.
  user_pools = {
    user = {
      vm_size   = "Standard_D8s_v5"
      min_count = 3
      max_count = 12
    }
    db1 = {
      vm_size   = "Standard_E4s_v5"
      min_count = 1
      max_count = 2
      zones     = ["1"]
      labels    = { "inventory.example.org/pool" = "database" }
      taints    = ["inventory.example.org/pool=database:NoSchedule"]
    }
    db2 = {
      vm_size   = "Standard_E4s_v5"
      min_count = 1
      max_count = 2
      zones     = ["2"]
      labels    = { "inventory.example.org/pool" = "database" }
      taints    = ["inventory.example.org/pool=database:NoSchedule"]
    }
    db3 = {
      vm_size   = "Standard_E4s_v5"
      min_count = 1
      max_count = 2
      zones     = ["3"]
      labels    = { "inventory.example.org/pool" = "database" }
      taints    = ["inventory.example.org/pool=database:NoSchedule"]
    }
  }
  # Every namespace every minute: prod is where incidents are investigated.
  container_insights = {
    interval                 = "1m"
    namespace_filtering_mode = "Off"
  }
  maintenance_window = {
    day_of_week = "Sunday"
    start_time  = "02:00"
    duration    = 6
  }
}

# Firewall egress: 0.0.0.0/0 from the nodes goes through Azure Firewall, which admits AKS's FQDN
# tag, the add-ons' endpoints and the FQDNs below, and denies everything else (the database
# cannot reach arbitrary 443). Key Vault, registry and backups stay on private endpoints.
egress = {
  mode                 = "firewall"
  firewall_subnet_cidr = "10.30.9.0/26"
}

# Public 80/443 arrive at an Application Gateway WAF_v2 (Prevention, Microsoft's Default Rule Set)
# in its own subnet, which forwards to the internal ingress load balancer at private_ip; the
# node NSG admits only the gateway subnet, to that address and ports. Three instances always
# run (one per zone, so a zone outage leaves two serving); ten cap what a traffic spike can cost.
# One TLS certificate, imported into the environment's Key Vault before the first apply under
# the name the conventions module gives it (ingress-tls): the gateway's HTTPS listener serves
# it, and the internal NGINX serves it again to the gateway, which re-encrypts to it.
ingress = {
  exposure   = "application_gateway"
  private_ip = "10.30.7.250"
  gateway = {
    subnet_cidr  = "10.30.10.0/24"
    host_name    = "inventory.example.org"
    min_capacity = 3
    max_capacity = 10
    waf_mode     = "Prevention"
  }
  certificate = {
    source = "imported"
  }
}

cluster_policy = {
  effect = "Deny"
}

budget = {
  platform_monthly = 3000
  nodes_monthly    = 5000
  start_month      = "2027-01"
}

# Premium: private endpoint, zone redundancy and a geo-replica for a regional outage.
acr = {
  sku                      = "Premium"
  zone_redundancy_enabled  = true
  georeplication_locations = ["northeurope"]
  untagged_retention_days  = 30
}

key_vault = {
  soft_delete_retention_days = 90
}

monitoring = {
  log_retention_days    = 180
  alert_email_addresses = ["platform-oncall@example.org"]
  alert_severity        = 1
}

backup = {
  replication_type           = "RAGRS"
  soft_delete_days           = 30
  immutability_days          = 21
  immutability_locked        = true
  cool_after_days            = 30
  delete_versions_after_days = 60
  # The second repository (repo2) in the paired region: archive-push writes every WAL segment to
  # both, so a region loss costs at most one archive_timeout without waiting for the RA-GRS
  # account failover (whose replica lags, with no SLA).
  secondary_location = "northeurope"
}

# Entra ID app registration of the API (its client id is the tokens' audience).
api_client_id = "5e1f0a9b-3c4d-4e5f-8a6b-7c8d9e0f1a23"

# flux: the cluster follows gitops/prod on the environment branch deploy/prod, where each deploy
# pushes one commit: a reviewed commit of main with its promoted image digests. Drift is reverted.
delivery = {
  mode           = "flux"
  repository_url = "https://github.com/example-org/inventory-platform"
  branch         = "deploy/prod"
}
