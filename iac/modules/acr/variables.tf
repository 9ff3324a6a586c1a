variable "resource_group_name" {
  type        = string
  description = "Resource group that holds the registry."
}

variable "location" {
  type        = string
  description = "Home region of the registry."
}

variable "name" {
  type        = string
  description = "Registry name (from the conventions module): 5-50 lowercase letters and digits, globally unique."

  validation {
    condition     = can(regex("^[a-z0-9]{5,50}$", var.name))
    error_message = "name must be 5-50 lowercase letters and digits (Azure allows no hyphens in registry names)."
  }
}

variable "sku" {
  type        = string
  description = "Registry SKU. Premium is required for private endpoints, geo-replication, zone redundancy and retention."
  default     = "Premium"

  validation {
    condition     = contains(["Standard", "Premium"], var.sku)
    error_message = "sku must be Standard or Premium (Basic has no throughput for a cluster)."
  }
}

variable "zone_redundancy_enabled" {
  type        = bool
  description = "Spread the registry over availability zones in its home region (Premium only)."
  default     = false
  nullable    = false
}

variable "georeplication_locations" {
  type        = list(string)
  description = "Extra regions the registry replicates to (Premium only); empty for none."
  default     = []
  nullable    = false
}

variable "untagged_retention_days" {
  type        = number
  description = "Days an untagged manifest is kept before it is purged (Premium only)."
  default     = 7

  validation {
    condition     = var.untagged_retention_days >= 1 && var.untagged_retention_days <= 365
    error_message = "untagged_retention_days must be between 1 and 365."
  }
}

variable "kubelet_object_id" {
  type        = string
  description = "Object ID of the AKS kubelet identity, granted AcrPull."
}

variable "private_endpoint" {
  type = object({
    name                = string
    subnet_id           = string
    private_dns_zone_id = string
  })
  description = "Private endpoint for the registry; null keeps the public endpoint (then public access stays on)."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (from the conventions module)."
}
