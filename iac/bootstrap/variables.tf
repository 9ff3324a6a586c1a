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
  type = map(object({
    subscription_id = string
  }))
  description = "Environments by name, each with its own subscription (the subscription_id its platform tfvars pin): each gets a state container tfstate-<environment> and a plan and an apply identity."

  validation {
    condition     = length(var.environments) > 0 && alltrue([for environment in keys(var.environments) : can(regex("^[a-z][a-z0-9]{1,20}$", environment))])
    error_message = "environments must be non-empty lowercase names."
  }

  validation {
    condition     = alltrue([for environment in values(var.environments) : can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", environment.subscription_id))])
    error_message = "Every environment's subscription_id must be a lowercase GUID."
  }
}

variable "ci_federation" {
  type = object({
    issuer  = string
    subject = string
  })
  description = "OIDC issuer of the cluster that runs the CI agents and the agents' ServiceAccount subject (system:serviceaccount:<namespace>:<name>), trusted by every plan and apply identity."

  validation {
    condition     = startswith(var.ci_federation.issuer, "https://") && can(regex("^system:serviceaccount:[a-z0-9-]+:[a-z0-9-]+$", var.ci_federation.subject))
    error_message = "ci_federation needs an https:// issuer and a system:serviceaccount:<namespace>:<name> subject."
  }
}

variable "state_admin_principal_ids" {
  type        = map(string)
  description = "Break-glass operators (by a stable name) that get Storage Blob Data Contributor on the whole state account; CI identities get only their environment's container."
  default     = {}
  nullable    = false
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
