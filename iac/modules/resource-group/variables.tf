variable "name" {
  type        = string
  description = "Name of the resource group (from the conventions module)."

  validation {
    condition     = can(regex("^rg-[a-z0-9-]{1,86}$", var.name))
    error_message = "name must start with rg- and contain only lowercase letters, digits and hyphens."
  }
}

variable "location" {
  type        = string
  description = "Azure region of the resource group."
}

variable "delete_lock_enabled" {
  type        = bool
  description = "Add a CanNotDelete management lock so the group cannot be deleted by accident (production)."
  default     = false
  nullable    = false
}

variable "tags" {
  type        = map(string)
  description = "Tags for the resource group (from the conventions module)."
}
