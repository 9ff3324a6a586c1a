variable "resource_group_name" {
  type        = string
  description = "Resource group that holds the identities."
}

variable "location" {
  type        = string
  description = "Azure region of the identities."
}

variable "name_prefix" {
  type        = string
  description = "Prefix of the identity names (from the conventions module); the map key is appended."
}

variable "oidc_issuer_url" {
  type        = string
  description = "OIDC issuer of the AKS cluster, trusted by every federated credential."
}

variable "workloads" {
  type = map(object({
    namespace        = string
    service_accounts = map(string)
  }))
  description = "Workloads that get an Entra ID identity, keyed by a short name (e.g. api): the namespace and the ServiceAccounts allowed to use it, keyed by their role (one federated credential each, addressed <workload>/<role>)."

  validation {
    condition     = alltrue([for key in keys(var.workloads) : can(regex("^[a-z][a-z0-9-]{0,23}$", key))])
    error_message = "workloads keys must be 1-24 lowercase letters, digits and hyphens, starting with a letter."
  }

  validation {
    condition = alltrue(flatten([
      for workload in values(var.workloads) : concat(
        [can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", workload.namespace))],
        [for account in values(workload.service_accounts) : can(regex("^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$", account))],
        [for role in keys(workload.service_accounts) : can(regex("^[a-z][a-z0-9-]{0,23}$", role))],
      )
    ]))
    error_message = "workloads namespace and service_accounts must be valid Kubernetes names (roles: 1-24 lowercase letters, digits and hyphens)."
  }

  validation {
    condition = alltrue([
      for workload in values(var.workloads) :
      length(workload.service_accounts) > 0 && length(distinct(values(workload.service_accounts))) == length(workload.service_accounts)
    ])
    error_message = "workloads service_accounts must list at least one ServiceAccount, each once."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (from the conventions module)."
}
