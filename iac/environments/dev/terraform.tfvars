# dev: smallest footprint. Public endpoints behind firewalls, no zones, locally redundant
# backups, short retention. Cheap to run, quick to rebuild.
environment = "dev"
location    = "westeurope"
owner       = "platform-team@example.org"
cost_center = "CC-1001"

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
  kubernetes_version      = "1.33"
  sku_tier                = "Free"
  zones                   = []
  private_cluster_enabled = false
  admin_group_object_ids  = ["6b1f2a3c-4d5e-4f60-8a71-92b3c4d5e6f1"]
  system_pool = {
    vm_size   = "Standard_D2s_v5"
    min_count = 1
    max_count = 2
  }
  user_pool = {
    vm_size   = "Standard_D2s_v5"
    min_count = 1
    max_count = 3
  }
  maintenance_window = {
    day_of_week = "Tuesday"
    start_time  = "06:00"
  }
}

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
  immutability_days          = 1
  immutability_locked        = false
  cool_after_days            = 7
  delete_versions_after_days = 14
}

# Entra ID app registration of the API (its client id is the tokens' audience).
api_client_id = "3c9d8e7f-1a2b-4c3d-8e4f-5a6b7c8d9e01"
