# dev: smallest footprint. Key Vault and backups on public endpoints behind firewalls, a public
# registry, no zones, locally redundant backups, short retention. Cheap to run, quick to rebuild.
environment = "dev"
location    = "westeurope"
owner       = "platform-team@example.org"
cost_center = "CC-1001"

# The environment's own subscription; the plan stops if the credentials point elsewhere.
subscription_id = "1d0a5b2e-6c3f-4e8a-9b1d-2f7c8e9a0d01"

resource_group_delete_lock = false

network = {
  address_space                = "10.10.0.0/16"
  node_subnet_cidr             = "10.10.0.0/22"
  private_endpoint_subnet_cidr = "10.10.8.0/24"
}

private_endpoints_enabled = false

# CI agents' egress (TEST-NET ranges stand in for the real addresses).
ci_ip_ranges = ["203.0.113.0/28", "198.51.100.0/28"]

aks = {
  kubernetes_version = "1.33"
  # Free: no uptime SLA and no cost analysis, acceptable for a cluster that is rebuilt at will.
  sku_tier                = "Free"
  zones                   = []
  private_cluster_enabled = false
  admin_group_object_ids  = ["6b1f2a3c-4d5e-4f60-8a71-92b3c4d5e6f1"]
  system_pool = {
    vm_size   = "Standard_D2s_v5"
    min_count = 1
    max_count = 2
  }
  # D2s_v5: the smallest size that fits the API, database and add-ons. Scale-out lands on the
  # Spot pool (up to 90 % cheaper, evictable: dev tolerates losing a node).
  user_pools = {
    user = {
      vm_size   = "Standard_D2s_v5"
      min_count = 1
      max_count = 2
    }
    spot = {
      vm_size   = "Standard_D2s_v5"
      min_count = 0
      max_count = 3
      spot      = true
      labels    = { "inventory.example.org/capacity" = "spot" }
    }
  }
  # Logs and inventory of the product's namespace only, every 5 minutes: dev's ingestion cap is 2 GB/day.
  container_insights = {
    interval                 = "5m"
    namespace_filtering_mode = "Include"
    namespaces               = ["inventory"]
  }
  maintenance_window = {
    day_of_week = "Tuesday"
    start_time  = "06:00"
  }
}

# Load-balancer egress, unfiltered: a firewall (about 900 EUR/month) would cost more than the
# whole environment, and dev holds no production data; its registry and vault are public anyway.
egress = {
  mode = "loadBalancer"
}

# The managed NGINX's public load balancer; the node NSG admits Internet on 80/443 only. Its
# TLS certificate is self-signed by Key Vault for the Ingress host (dev has no public one):
# Terraform creates and Key Vault renews it; clients must trust it explicitly.
ingress = {
  exposure = "public_load_balancer"
  certificate = {
    source    = "self_signed"
    dns_names = ["inventory.dev.example.org"]
  }
}

# Audit: dev reports pods that break the restricted standard or pull from elsewhere, refuses none.
cluster_policy = {
  effect = "Audit"
}

budget = {
  platform_monthly = 150
  nodes_monthly    = 250
  start_month      = "2027-01"
}

# Standard: dev pushes over the public endpoint (no private endpoint needs Premium).
acr = {
  sku                      = "Standard"
  zone_redundancy_enabled  = false
  georeplication_locations = []
}

key_vault = {
  soft_delete_retention_days = 7
}

monitoring = {
  log_retention_days    = 30
  daily_quota_gb        = 2
  alert_email_addresses = ["platform-dev-alerts@example.org"]
  alert_severity        = 3
}

backup = {
  replication_type           = "LRS"
  soft_delete_days           = 7
  immutability_days          = 7
  immutability_locked        = false
  cool_after_days            = 7
  delete_versions_after_days = 14
  # No second repository: dev holds no production data and is rebuilt at will; a region loss
  # costs a rebuild, not data anyone needs back.
  secondary_location = null
}

# Entra ID app registration of the API (its client id is the tokens' audience).
api_client_id = "3c9d8e7f-1a2b-4c3d-8e4f-5a6b7c8d9e01"

# push: the pipeline's helm upgrade installs each build at once, for fast iteration.
delivery = {
  mode = "push"
}
