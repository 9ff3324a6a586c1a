variable "resource_group_name" {
  type        = string
  description = "Resource group that holds the backup account and its identity."
}

variable "location" {
  type        = string
  description = "Azure region of the backup account (the paired region holds the geo-replica)."
}

variable "environment" {
  type        = string
  description = "Environment name; prod must use geo-redundant replication."

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, staging, prod."
  }
}

variable "names" {
  type = object({
    storage_account  = string
    identity         = string
    private_endpoint = string
  })
  description = "Names of the backup resources (from the conventions module)."

  validation {
    condition     = can(regex("^[a-z0-9]{3,24}$", var.names.storage_account))
    error_message = "names.storage_account must be 3-24 lowercase letters and digits."
  }
}

variable "container_name" {
  type        = string
  description = "Blob container that pgBackRest writes to."
  default     = "pgbackrest"

  validation {
    condition     = can(regex("^[a-z0-9](-?[a-z0-9]){2,62}$", var.container_name))
    error_message = "container_name must be 3-63 lowercase letters, digits and single hyphens."
  }
}

variable "replication_type" {
  type        = string
  description = "Replication of the backup account: LRS/ZRS keep copies in one region, GRS/RAGRS/GZRS/RAGZRS also in the paired region (required in prod)."

  validation {
    condition     = contains(["LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"], var.replication_type)
    error_message = "replication_type must be one of LRS, ZRS, GRS, RAGRS, GZRS, RAGZRS."
  }

  validation {
    condition     = var.environment != "prod" || contains(["GRS", "RAGRS", "GZRS", "RAGZRS"], var.replication_type)
    error_message = "prod backups must be geo-redundant: replication_type must be GRS, RAGRS, GZRS or RAGZRS."
  }
}

variable "soft_delete_days" {
  type        = number
  description = "Days deleted blobs and containers stay recoverable."

  validation {
    condition     = var.soft_delete_days >= 1 && var.soft_delete_days <= 365
    error_message = "soft_delete_days must be between 1 and 365."
  }
}

variable "immutability" {
  type = object({
    period_days = number
    locked      = bool
  })
  description = "Version-level time-based immutability: every blob version is write-once for period_days. Locked policies can never be shortened or removed (use in prod). period_days must cover the recovery window ((full - 1) weeks of weekly fulls) and end before pgbackrest expire deletes anything (tests/backup/test_immutability_window.py)."

  validation {
    condition     = var.immutability.period_days >= 1 && var.immutability.period_days <= 146000
    error_message = "immutability.period_days must be between 1 and 146000."
  }
}

variable "lifecycle_rules" {
  type = object({
    cool_after_days            = number
    delete_versions_after_days = number
  })
  description = "Move backups to the Cool tier after cool_after_days, delete previous blob versions after delete_versions_after_days (must exceed the immutability period)."

  validation {
    condition     = var.lifecycle_rules.cool_after_days >= 1 && var.lifecycle_rules.delete_versions_after_days >= 1
    error_message = "lifecycle_rules days must be at least 1."
  }

  validation {
    condition     = var.lifecycle_rules.delete_versions_after_days > var.immutability.period_days
    error_message = "lifecycle_rules.delete_versions_after_days must exceed immutability.period_days (protected versions cannot be deleted)."
  }
}

variable "allowed_ip_ranges" {
  type        = list(string)
  description = "CIDRs allowed through the account firewall when it has a public endpoint."
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for cidr in var.allowed_ip_ranges : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "allowed_ip_ranges must be IPv4 CIDRs and must not contain 0.0.0.0/0."
  }
}

variable "node_subnet_id" {
  type        = string
  description = "AKS node subnet allowed through the account firewall (pods reach the account from the nodes)."
}

variable "private_endpoint" {
  type = object({
    subnet_id           = string
    private_dns_zone_id = string
    location            = optional(string)
  })
  description = "Private endpoint (blob) for the account; when set, public network access is disabled. Null keeps a firewalled public endpoint. location is the region of the endpoint's subnet (default: the account's location)."
  default     = null
}

variable "oidc_issuer_url" {
  type        = string
  description = "OIDC issuer of the AKS cluster, trusted by the backup identity's federated credential."
}

variable "service_account" {
  type = object({
    namespace = string
    name      = string
  })
  description = "Kubernetes ServiceAccount of the backup job that may use the backup identity."

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.service_account.namespace)) && can(regex("^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$", var.service_account.name))
    error_message = "service_account namespace and name must be valid Kubernetes names."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (from the conventions module)."
}
