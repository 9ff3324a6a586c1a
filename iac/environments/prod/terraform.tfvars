# prod: private API server, private endpoints only, three zones, geo-redundant immutable
# backups, geo-replicated registry, long retention, a delete lock on the resource group.
environment = "prod"
location    = "westeurope"
owner       = "platform-team@example.org"
cost_center = "CC-1002"

resource_group_delete_lock = true

network = {
  address_space                = "10.30.0.0/16"
  node_subnet_cidr             = "10.30.0.0/21"
  private_endpoint_subnet_cidr = "10.30.8.0/24"
}

private_endpoints_enabled = true

# Private cluster and private endpoints: CI agents run inside the peered network.
ci_ip_ranges = []

aks = {
  kubernetes_version      = "1.33"
  sku_tier                = "Standard"
  zones                   = ["1", "2", "3"]
  private_cluster_enabled = true
  admin_group_object_ids  = ["0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a"]
  system_pool = {
    vm_size   = "Standard_D4s_v5"
    min_count = 3
    max_count = 5
  }
  user_pool = {
    vm_size   = "Standard_D8s_v5"
    min_count = 3
    max_count = 12
  }
  maintenance_window = {
    day_of_week = "Sunday"
    start_time  = "02:00"
    duration    = 6
  }
}

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
  immutability_days          = 14
  immutability_locked        = true
  cool_after_days            = 30
  delete_versions_after_days = 60
}

# Entra ID app registration of the API (its client id is the tokens' audience).
api_client_id = "5e1f0a9b-3c4d-4e5f-8a6b-7c8d9e0f1a23"
