# Every difference between environments is a value in ../environments/<env>/terraform.tfvars
# (the policy gate checks that each of them sets only variables declared here).

variable "environment" {
  type        = string
  description = "Environment name: dev, staging or prod."

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, staging, prod."
  }
}

variable "location" {
  type        = string
  description = "Azure region of the environment."
}

variable "workload" {
  type        = string
  description = "Workload name used in every resource name."
  default     = "inventory"
}

variable "owner" {
  type        = string
  description = "Owner tag: the accountable team's address."
}

variable "cost_center" {
  type        = string
  description = "Cost-center tag, e.g. CC-1234."
}

variable "resource_group_delete_lock" {
  type        = bool
  description = "Protect the environment's resource group with a CanNotDelete lock."
  default     = false
}

variable "network" {
  type = object({
    address_space                = string
    node_subnet_cidr             = string
    private_endpoint_subnet_cidr = string
  })
  description = "Address plan of the environment's virtual network."
}

variable "private_endpoints_enabled" {
  type        = bool
  description = "Reach Key Vault, the registry and backup storage only through private endpoints (public access disabled)."
}

variable "ci_ip_ranges" {
  type        = list(string)
  description = "Public CIDRs of the CI agents and operators: the authorized API-server ranges and the firewall exceptions of public endpoints."
  default     = []
}

variable "aks" {
  type = object({
    kubernetes_version        = string
    sku_tier                  = string
    zones                     = list(string)
    private_cluster_enabled   = bool
    admin_group_object_ids    = list(string)
    automatic_upgrade_channel = optional(string, "patch")
    node_os_upgrade_channel   = optional(string, "NodeImage")
    system_pool = object({
      vm_size   = string
      min_count = number
      max_count = number
    })
    user_pool = object({
      vm_size   = string
      min_count = number
      max_count = number
    })
    maintenance_window = object({
      day_of_week = string
      start_time  = string
      duration    = optional(number, 4)
    })
  })
  description = "Cluster shape: version, tier, zones, API-server exposure, admin groups, pools and maintenance window."
}

variable "acr" {
  type = object({
    sku                      = string
    zone_redundancy_enabled  = bool
    georeplication_locations = list(string)
    untagged_retention_days  = optional(number, 7)
  })
  description = "Container registry SKU, zone redundancy, geo-replicas and untagged-manifest retention."
}

variable "key_vault" {
  type = object({
    soft_delete_retention_days = number
    database_password_version  = optional(number, 1)
  })
  description = "Key Vault recovery window and the database password generation (bump to rotate)."
}

variable "monitoring" {
  type = object({
    log_retention_days    = number
    daily_quota_gb        = optional(number, -1)
    alert_email_addresses = list(string)
    alert_severity        = number
  })
  description = "Log retention, ingestion cap, who gets alerts and at which severity."
}

variable "backup" {
  type = object({
    replication_type           = string
    soft_delete_days           = number
    immutability_days          = number
    immutability_locked        = bool
    cool_after_days            = number
    delete_versions_after_days = number
  })
  description = "Database backup storage: replication, soft delete, immutability and lifecycle."
}

variable "api_client_id" {
  type        = string
  description = "Application (client) id of the API's Entra ID app registration: the audience of the access tokens the API accepts (its app roles Inventory.Read and Inventory.Write are assigned there). The registration itself is managed outside this root (docs/adr/0016-entra-id-bearer-tokens-validated-in-the-api.md)."

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.api_client_id))
    error_message = "api_client_id must be a lowercase GUID (the app registration's Application (client) ID)."
  }
}
