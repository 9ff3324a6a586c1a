# Flux on the cluster: the AKS extension runs the Flux controllers, and one Flux configuration
# points them at this repository. The configuration's objects live in flux-system; manifests in
# the reconciled folder place their own sources there through the substitution
# flux_source_namespace. The chart comes from the registry: source-controller pulls it with an
# identity of its own that may only pull.

locals {
  namespace = "flux-system"
  # The extension's source-controller runs under this ServiceAccount; its pods get the
  # identity's token through workload identity.
  source_controller = "source-controller"
  identity          = "flux-source"

  substitute = merge(var.substitutions, {
    flux_source_namespace = local.namespace
  })
}

# One identity of the platform's identity module, trusted by source-controller's ServiceAccount
# only.
module "source_identity" {
  source = "../workload-identity"

  resource_group_name = var.source_identity.resource_group_name
  location            = var.source_identity.location
  name_prefix         = var.source_identity.name_prefix
  oidc_issuer_url     = var.source_identity.oidc_issuer_url
  tags                = var.source_identity.tags

  workloads = {
    (local.identity) = {
      namespace        = local.namespace
      service_accounts = { source = local.source_controller }
    }
  }
}

# Pull only: the charts are pushed by the pipeline's identity, never by the cluster.
resource "azurerm_role_assignment" "chart_pull" {
  scope                = var.source_identity.registry_id
  role_definition_name = "AcrPull"
  principal_id         = module.source_identity.principal_ids[local.identity]
  principal_type       = "ServicePrincipal"
}

resource "azurerm_kubernetes_cluster_extension" "flux" {
  name           = "flux"
  cluster_id     = var.cluster_id
  extension_type = "microsoft.flux"
  # A pinned version turns Azure's minor-version auto-upgrade off (the controllers change only in
  # a reviewed change of var.extension); a release train turns it on. The provider takes one.
  release_train = var.extension.release_train
  version       = var.extension.version

  # source-controller authenticates as that identity (an OCIRepository's provider: azure).
  configuration_settings = {
    "workloadIdentity.enable"        = "true"
    "workloadIdentity.azureClientId" = module.source_identity.client_ids[local.identity]
  }
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

  # The first pull needs the role and the federation in place, not only the controllers.
  depends_on = [
    azurerm_kubernetes_cluster_extension.flux,
    module.source_identity,
    azurerm_role_assignment.chart_pull,
  ]
}
