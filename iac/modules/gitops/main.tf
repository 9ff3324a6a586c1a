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

  substitute = merge(var.substitutions, {
    flux_source_namespace = local.namespace
  })
}

resource "azurerm_user_assigned_identity" "source" {
  name                = var.source_identity.name
  resource_group_name = var.source_identity.resource_group_name
  location            = var.source_identity.location
  tags                = var.source_identity.tags
}

resource "azurerm_federated_identity_credential" "source" {
  name                      = "${local.namespace}-${local.source_controller}"
  user_assigned_identity_id = azurerm_user_assigned_identity.source.id
  audience                  = ["api://AzureADTokenExchange"]
  issuer                    = var.source_identity.oidc_issuer_url
  subject                   = "system:serviceaccount:${local.namespace}:${local.source_controller}"
}

# Pull only: the charts are pushed by the pipeline's identity, never by the cluster.
resource "azurerm_role_assignment" "chart_pull" {
  scope                = var.source_identity.registry_id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_user_assigned_identity.source.principal_id
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

  # source-controller authenticates as the identity above (an OCIRepository's provider: azure).
  configuration_settings = {
    "workloadIdentity.enable"        = "true"
    "workloadIdentity.azureClientId" = azurerm_user_assigned_identity.source.client_id
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
    azurerm_federated_identity_credential.source,
    azurerm_role_assignment.chart_pull,
  ]
}
