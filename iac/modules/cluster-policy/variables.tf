variable "cluster_id" {
  type        = string
  description = "Resource ID of the AKS cluster the assignments apply to."
}

variable "name_prefix" {
  type        = string
  description = "Prefix of the assignment names (from the conventions module); each name is <prefix>-<assignment>, at most 64 characters."

  validation {
    condition     = can(regex("^[a-z0-9-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 1-40 lowercase letters, digits and hyphens (assignment names allow 64 characters)."
  }
}

variable "effect" {
  type        = string
  description = "Deny (refuse non-compliant pods: staging and prod) or Audit (report them: dev)."

  validation {
    condition     = contains(["Deny", "Audit"], var.effect)
    error_message = "effect must be Deny or Audit."
  }
}

variable "allowed_registries" {
  type        = list(string)
  description = "Registry hosts pods may pull from (the environment's ACR login server, mcr.microsoft.com for AKS's own images)."

  validation {
    condition     = length(var.allowed_registries) > 0 && alltrue([for registry in var.allowed_registries : can(regex("^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(/[a-z0-9._-]+)*$", registry))])
    error_message = "allowed_registries must hold at least one registry host (optionally with a path), e.g. crinventoryprodweu.azurecr.io."
  }
}

variable "excluded_namespaces" {
  type        = list(string)
  description = "Namespaces the assignments skip: those AKS and its add-ons own."
  default     = ["kube-system", "gatekeeper-system", "azure-arc", "azure-extensions-usage-system", "app-routing-system"]
  nullable    = false
}
