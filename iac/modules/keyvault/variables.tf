variable "resource_group_name" {
  type        = string
  description = "Resource group that holds the vault."
}

variable "location" {
  type        = string
  description = "Azure region of the vault."
}

variable "name" {
  type        = string
  description = "Vault name (from the conventions module): 3-24 lowercase letters, digits and hyphens, a letter first, no two hyphens in a row, no hyphen at the end; globally unique."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name))
    error_message = "name must be 3-24 lowercase letters, digits and hyphens, starting with a letter and ending with a letter or digit."
  }

  validation {
    condition     = !strcontains(var.name, "--")
    error_message = "name must have no two hyphens in a row (Azure refuses such vault names)."
  }
}

variable "tenant_id" {
  type        = string
  description = "Entra ID tenant that authenticates requests to the vault."

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.tenant_id))
    error_message = "tenant_id must be a lowercase GUID."
  }
}

variable "soft_delete_retention_days" {
  type        = number
  description = "Days a deleted vault or secret can be recovered (purge protection keeps it that long)."
  default     = 90

  validation {
    condition     = var.soft_delete_retention_days >= 7 && var.soft_delete_retention_days <= 90
    error_message = "soft_delete_retention_days must be between 7 and 90."
  }
}

variable "allowed_ip_ranges" {
  type        = list(string)
  description = "CIDRs allowed through the vault firewall when it has a public endpoint (the CI agents that write the secret)."
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for cidr in var.allowed_ip_ranges : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "allowed_ip_ranges must be IPv4 CIDRs and must not contain 0.0.0.0/0."
  }
}

variable "node_subnet_id" {
  type        = string
  description = "AKS node subnet allowed through the vault firewall (the CSI driver reads secrets from the nodes)."
}

variable "private_endpoint" {
  type = object({
    name                = string
    subnet_id           = string
    private_dns_zone_id = string
  })
  description = "Private endpoint for the vault; when set, public network access is disabled. Null keeps a firewalled public endpoint."
  default     = null
}

variable "deployer_object_id" {
  type        = string
  description = "Object ID of the identity running Terraform; it gets Key Vault Secrets Officer to write the database password."
}

variable "secret_reader_principal_ids" {
  type        = map(string)
  description = "Principals (by a stable name) that get Key Vault Secrets User on the database password secret only (not the whole vault), e.g. the API's and the database's workload identities."
  default     = {}
  nullable    = false
}

variable "database_password_version" {
  type        = number
  description = "Bump to generate and store a new database password (the password itself never enters state or plan)."
  default     = 1

  validation {
    condition     = var.database_password_version >= 1 && floor(var.database_password_version) == var.database_password_version
    error_message = "database_password_version must be a positive whole number."
  }
}

variable "backup_passphrase_reader_principal_ids" {
  type        = map(string)
  description = "Principals (by a stable name) that get Key Vault Secrets User on the backup repository passphrase only: the database's identity (WAL archiving) and the backup jobs' identity."
  default     = {}
  nullable    = false
}

variable "backup_passphrase_version" {
  type        = number
  description = "Bump to store a new backup repository passphrase. A new passphrase cannot read the existing repository: take a new full backup into a new repository path first (see docs/disaster-recovery.md)."
  default     = 1

  validation {
    condition     = var.backup_passphrase_version >= 1 && floor(var.backup_passphrase_version) == var.backup_passphrase_version
    error_message = "backup_passphrase_version must be a positive whole number."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (from the conventions module)."
}
