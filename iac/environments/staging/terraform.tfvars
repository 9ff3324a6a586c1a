# staging: production's network shape (private endpoints, three zones) at a smaller size,
# with a public API server restricted to the CI agents so tests can reach it.
environment = "staging"
location    = "westeurope"
owner       = "platform-team@example.org"
cost_center = "CC-1001"

resource_group_delete_lock = false

network = {
  address_space                = "10.20.0.0/16"
  node_subnet_cidr             = "10.20.0.0/22"
  private_endpoint_subnet_cidr = "10.20.8.0/24"
}

private_endpoints_enabled = true

ci_ip_ranges = ["203.0.113.0/28", "198.51.100.0/28"]

aks = {
  kubernetes_version      = "1.33"
  sku_tier                = "Standard"
  zones                   = ["1", "2", "3"]
  private_cluster_enabled = false
  admin_group_object_ids  = ["6b1f2a3c-4d5e-4f60-8a71-92b3c4d5e6f1"]
  system_pool = {
    vm_size   = "Standard_D4s_v5"
    min_count = 2
    max_count = 3
  }
  user_pool = {
    vm_size   = "Standard_D4s_v5"
    min_count = 2
    max_count = 6
  }
  maintenance_window = {
    day_of_week = "Wednesday"
    start_time  = "06:00"
  }
}

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
  immutability_days          = 7
  immutability_locked        = false
  cool_after_days            = 14
  delete_versions_after_days = 30
}

# Entra ID app registration of the API (its client id is the tokens' audience).
api_client_id = "4d0e9f8a-2b3c-4d4e-9f5a-6b7c8d9e0f12"
