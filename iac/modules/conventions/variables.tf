variable "workload" {
  type        = string
  description = "Short workload name used in every resource name, e.g. `inventory`."

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,8}$", var.workload))
    error_message = "workload must be 3-9 lowercase letters or digits, starting with a letter (storage account names allow 24 characters)."
  }
}

variable "environment" {
  type        = string
  description = "Environment name: one of dev, staging, prod."

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, staging, prod."
  }
}

variable "subscription_id" {
  type        = string
  description = "Subscription the environment lives in; with workload, environment and location it decides the suffix of the globally unique names."

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.subscription_id))
    error_message = "subscription_id must be a lowercase GUID (the environment's subscription, as in its terraform.tfvars)."
  }
}

variable "location" {
  type        = string
  description = "Azure region of the environment (a region this module has a short code for)."

  validation {
    condition     = contains(["westeurope", "northeurope", "swedencentral", "germanywestcentral", "francecentral", "uksouth"], var.location)
    error_message = "location must be one of westeurope, northeurope, swedencentral, germanywestcentral, francecentral, uksouth (add a short code to the module to support more)."
  }
}

variable "owner" {
  type        = string
  description = "Team or person accountable for the resources (the `owner` tag), e.g. an e-mail address."

  validation {
    condition     = length(trimspace(var.owner)) > 0
    error_message = "owner must not be empty."
  }
}

variable "cost_center" {
  type        = string
  description = "Cost center the resources are billed to (the `cost-center` tag), e.g. `CC-1234`."

  validation {
    condition     = can(regex("^CC-[0-9]{4}$", var.cost_center))
    error_message = "cost_center must look like CC-1234."
  }
}

variable "extra_tags" {
  type        = map(string)
  description = "Additional tags merged into the standard set; they cannot override the standard keys."
  default     = {}
  nullable    = false
}
