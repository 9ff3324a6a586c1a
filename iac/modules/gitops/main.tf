# Flux on the cluster: the AKS extension runs the Flux controllers, and one Flux configuration
# points them at this repository. The configuration's GitRepository is named after it (in
# flux-system), so manifests in the reconciled folder reach their chart source through the
# substitutions flux_source_name and flux_source_namespace.

locals {
  namespace = "flux-system"

  substitute = merge(var.substitutions, {
    flux_source_name      = var.name
    flux_source_namespace = local.namespace
  })
}

resource "azurerm_kubernetes_cluster_extension" "flux" {
  name           = "flux"
  cluster_id     = var.cluster_id
  extension_type = "microsoft.flux"
  # A pinned version turns Azure's minor-version auto-upgrade off (the controllers change only in
  # a reviewed change of var.extension); a release train turns it on. The provider takes one.
  release_train = var.extension.release_train
  version       = var.extension.version
}

resource "azurerm_kubernetes_flux_configuration" "this" {
  name       = var.name
  cluster_id = var.cluster_id
  namespace  = local.namespace
  scope      = "cluster"

  git_repository {
    url                      = var.repository.url
    reference_type           = "branch"
    reference_value          = var.repository.branch
    sync_interval_in_seconds = var.repository.sync_interval_seconds
  }

  kustomizations {
    name                       = "workloads"
    path                       = var.path
    garbage_collection_enabled = true
    sync_interval_in_seconds   = var.repository.sync_interval_seconds

    post_build {
      substitute = local.substitute
    }
  }

  depends_on = [azurerm_kubernetes_cluster_extension.flux]
}
