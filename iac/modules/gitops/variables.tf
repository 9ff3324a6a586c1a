variable "cluster_id" {
  type        = string
  description = "Resource ID of the AKS cluster the Flux extension and configuration go on."

  validation {
    condition     = can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.ContainerService/managedClusters/[^/]+$", var.cluster_id))
    error_message = "cluster_id must be the resource ID of an AKS cluster (.../providers/Microsoft.ContainerService/managedClusters/<name>)."
  }
}

variable "name" {
  type        = string
  description = "Name of the Flux configuration: its GitRepository in flux-system carries it, and its kustomization is <name>-workloads."

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,28}[a-z0-9])?$", var.name))
    error_message = "name must be 1-30 lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "extension" {
  type = object({
    release_train = optional(string)
    version       = optional(string)
  })
  description = "Which microsoft.flux extension runs: a pinned version (MAJOR.MINOR.PATCH; Azure does not upgrade it) or a release train (Stable or Preview; Azure upgrades minor versions along it). Exactly one: the provider refuses both."
  default = {
    version = "1.15.1"
  }
  nullable = false

  validation {
    condition     = (var.extension.release_train == null) != (var.extension.version == null)
    error_message = "extension needs exactly one of release_train and version: a pinned version, or a train Azure upgrades along."
  }

  validation {
    condition     = var.extension.release_train == null || contains(["Stable", "Preview"], coalesce(var.extension.release_train, "-"))
    error_message = "extension.release_train must be Stable or Preview."
  }

  validation {
    condition     = var.extension.version == null || can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", coalesce(var.extension.version, "-")))
    error_message = "extension.version must pin one release as MAJOR.MINOR.PATCH, e.g. 1.15.1."
  }
}

variable "repository" {
  type = object({
    url                   = string
    branch                = string
    sync_interval_seconds = optional(number, 120)
  })
  description = "The git repository Flux reconciles: its public HTTPS URL (no credentials: the repository holds no secret, and none is needed to read it), the branch it follows and how often it fetches."
  nullable    = false

  validation {
    condition     = can(regex("^https://[^\\s@]+$", var.repository.url))
    error_message = "repository.url must be a public https:// URL without credentials in it."
  }

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]+$", var.repository.branch)) && !startswith(var.repository.branch, "/")
    error_message = "repository.branch must be a branch name (letters, digits, . _ - /)."
  }

  validation {
    condition     = var.repository.sync_interval_seconds >= 60 && var.repository.sync_interval_seconds <= 3600
    error_message = "repository.sync_interval_seconds must be between 60 and 3600."
  }
}

variable "path" {
  type        = string
  description = "Folder of the repository the kustomization reconciles (gitops/<environment>)."

  validation {
    condition     = can(regex("^[a-z0-9][-a-z0-9_/]*[a-z0-9]$", var.path)) && !strcontains(var.path, "..")
    error_message = "path must be a relative folder of the repository, e.g. gitops/prod."
  }
}

variable "substitutions" {
  type        = map(string)
  description = "Variables Flux substitutes into the reconciled manifests (post_build.substitute, `$${name}`): the Terraform values the workloads need. flux_source_namespace is added by the module."
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for key in keys(var.substitutions) : can(regex("^[_a-zA-Z][_a-zA-Z0-9]*$", key))])
    error_message = "substitutions keys must be valid Flux variable names (letters, digits and underscores, not starting with a digit)."
  }

  validation {
    condition     = !contains(keys(var.substitutions), "flux_source_namespace")
    error_message = "substitutions must not set flux_source_namespace: the module sets it."
  }
}

variable "source_identity" {
  type = object({
    name_prefix         = string
    resource_group_name = string
    location            = string
    oidc_issuer_url     = string
    registry_id         = string
    tags                = optional(map(string), {})
  })
  description = "The identity Flux's source-controller pulls the charts with (named <name_prefix>-flux-source): its resource group and region, the cluster's OIDC issuer it is federated with, and the container registry it may pull from (AcrPull, nothing else)."
  nullable    = false

  validation {
    condition     = startswith(var.source_identity.oidc_issuer_url, "https://")
    error_message = "source_identity.oidc_issuer_url must be the cluster's https:// OIDC issuer URL."
  }

  validation {
    condition     = can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.ContainerRegistry/registries/[^/]+$", var.source_identity.registry_id))
    error_message = "source_identity.registry_id must be the resource ID of a container registry (.../providers/Microsoft.ContainerRegistry/registries/<name>)."
  }
}
