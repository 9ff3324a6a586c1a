variable "location" {
  type        = string
  description = "Azure region of the state account."
  default     = "westeurope"
}

variable "resource_group_name" {
  type        = string
  description = "Resource group of the state account (must match backend.hcl in every environment)."
  default     = "rg-inventory-tfstate-weu"

  validation {
    condition     = can(regex("^rg-[a-z0-9-]{1,86}$", var.resource_group_name))
    error_message = "resource_group_name must start with rg- and contain only lowercase letters, digits and hyphens."
  }
}

variable "storage_account_name" {
  type        = string
  description = "Globally unique name of the state account (must match backend.hcl in every environment)."
  default     = "stinventorytfstateweu"

  validation {
    condition     = can(regex("^[a-z0-9]{3,24}$", var.storage_account_name))
    error_message = "storage_account_name must be 3-24 lowercase letters and digits."
  }
}

variable "environments" {
  type        = set(string)
  description = "Environments that get a state container named tfstate-<environment>."
  default     = ["dev", "staging", "prod"]

  validation {
    condition     = length(var.environments) > 0 && alltrue([for environment in var.environments : can(regex("^[a-z][a-z0-9]{1,20}$", environment))])
    error_message = "environments must be non-empty lowercase names."
  }
}

variable "state_admin_principal_ids" {
  type        = map(string)
  description = "Principals (by a stable name, e.g. the CI identity per environment) that get Storage Blob Data Contributor on the state account."
  default     = {}
}

variable "allowed_ip_ranges" {
  type        = list(string)
  description = "Public CIDRs (CI agents, operators) allowed through the state account firewall."

  validation {
    condition     = length(var.allowed_ip_ranges) > 0 && alltrue([for cidr in var.allowed_ip_ranges : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "allowed_ip_ranges must hold at least one IPv4 CIDR and must not contain 0.0.0.0/0."
  }
}

variable "soft_delete_days" {
  type        = number
  description = "Days deleted state blobs, versions and containers stay recoverable."
  default     = 30

  validation {
    condition     = var.soft_delete_days >= 7 && var.soft_delete_days <= 365
    error_message = "soft_delete_days must be between 7 and 365."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags of the state resources (must include environment, owner, cost-center and managed-by)."
  default = {
    environment   = "shared"
    owner         = "platform-team@example.org"
    "cost-center" = "CC-1001"
    "managed-by"  = "terraform"
    workload      = "inventory"
  }

  validation {
    condition     = alltrue([for key in ["environment", "owner", "cost-center", "managed-by"] : contains(keys(var.tags), key)])
    error_message = "tags must include environment, owner, cost-center and managed-by."
  }
}
