# One identity per workload: a compromised pod can only act as its own workload, and each
# identity's permissions are granted where the resource lives (e.g. the keyvault module).
resource "azurerm_user_assigned_identity" "this" {
  for_each = var.workloads

  name                = "${var.name_prefix}-${each.key}"
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

locals {
  # One federated credential per (workload, ServiceAccount): a workload whose pods run under
  # several ServiceAccounts (the API and its migrations hook Job) trusts each of them. Keyed by
  # the account's role, so a renamed ServiceAccount updates its credential at the same address.
  credentials = merge([
    for key, workload in var.workloads : {
      for role, account in workload.service_accounts : "${key}/${role}" => {
        workload        = key
        namespace       = workload.namespace
        service_account = account
      }
    }
  ]...)
}

resource "azurerm_federated_identity_credential" "this" {
  for_each = local.credentials

  name                      = "${each.value.namespace}-${each.value.service_account}"
  user_assigned_identity_id = azurerm_user_assigned_identity.this[each.value.workload].id
  audience                  = ["api://AzureADTokenExchange"]
  issuer                    = var.oidc_issuer_url
  subject                   = "system:serviceaccount:${each.value.namespace}:${each.value.service_account}"
}
