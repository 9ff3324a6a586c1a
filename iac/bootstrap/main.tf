resource "azurerm_resource_group" "state" {
  name     = var.resource_group_name
  location = var.location
  tags     = var.tags
}

resource "azurerm_management_lock" "state" {
  name       = "lock-delete-${var.resource_group_name}"
  scope      = azurerm_resource_group.state.id
  lock_level = "CanNotDelete"
  notes      = "Holds the Terraform state of every environment."
}

# Entra ID only (no shared keys, no SAS), TLS 1.2, no public blobs; versioning and soft
# delete make every state write recoverable.
resource "azurerm_storage_account" "state" {
  name                     = var.storage_account_name
  resource_group_name      = azurerm_resource_group.state.name
  location                 = azurerm_resource_group.state.location
  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = "RAGZRS"

  https_traffic_only_enabled        = true
  min_tls_version                   = "TLS1_2"
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  local_user_enabled                = false
  cross_tenant_replication_enabled  = false
  infrastructure_encryption_enabled = true
  tags                              = var.tags

  blob_properties {
    versioning_enabled  = true
    change_feed_enabled = true

    delete_retention_policy {
      days = var.soft_delete_days
    }

    container_delete_retention_policy {
      days = var.soft_delete_days
    }
  }

  network_rules {
    default_action = "Deny"
    bypass         = ["AzureServices"]
    ip_rules       = var.allowed_ip_ranges
  }
}

resource "azurerm_storage_container" "state" {
  for_each = var.environments

  name                  = "tfstate-${each.key}"
  storage_account_id    = azurerm_storage_account.state.id
  container_access_type = "private"
}

# Break-glass operators only: CI never gets a role on the whole account.
resource "azurerm_role_assignment" "state_admins" {
  for_each = var.state_admin_principal_ids

  scope                = azurerm_storage_account.state.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = each.value
}

locals {
  # Two identities per environment: plan reads (its subscription and its own state container),
  # apply writes (its subscription and its own state container). Neither reaches another
  # environment's subscription or state.
  ci_roles = {
    plan = {
      state        = "Storage Blob Data Reader"
      subscription = ["Reader", "Key Vault Reader"]
    }
    apply = {
      state        = "Storage Blob Data Contributor"
      subscription = ["Contributor", "Role Based Access Control Administrator"]
    }
  }
  ci_identities = {
    for pair in setproduct(keys(var.environments), keys(local.ci_roles)) :
    "${pair[0]}-${pair[1]}" => { environment = pair[0], role = pair[1] }
  }
  ci_subscription_roles = {
    for entry in flatten([
      for key, identity in local.ci_identities : [
        for role in local.ci_roles[identity.role].subscription : {
          key          = "${key}/${role}"
          identity     = key
          subscription = var.environments[identity.environment].subscription_id
          role         = role
        }
      ]
    ]) : entry.key => entry
  }
}

resource "azurerm_user_assigned_identity" "ci" {
  for_each = local.ci_identities

  name                = "id-tf${each.value.role}-inventory-${each.value.environment}-weu"
  resource_group_name = azurerm_resource_group.state.name
  location            = azurerm_resource_group.state.location
  tags                = var.tags
}

# The CI agents' service account exchanges its token for either identity; which one a stage
# gets is the pipeline's choice (plan for plans, apply only behind the approval).
resource "azurerm_federated_identity_credential" "ci" {
  for_each = local.ci_identities

  name                      = "ci-agents"
  user_assigned_identity_id = azurerm_user_assigned_identity.ci[each.key].id
  audience                  = ["api://AzureADTokenExchange"]
  issuer                    = var.ci_federation.issuer
  subject                   = var.ci_federation.subject
}

resource "azurerm_role_assignment" "ci_state" {
  for_each = local.ci_identities

  # The environment's own container, never the account.
  scope                = "${azurerm_storage_account.state.id}/blobServices/default/containers/${azurerm_storage_container.state[each.value.environment].name}"
  role_definition_name = local.ci_roles[each.value.role].state
  principal_id         = azurerm_user_assigned_identity.ci[each.key].principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "ci_subscription" {
  for_each = local.ci_subscription_roles

  scope                = "/subscriptions/${each.value.subscription}"
  role_definition_name = each.value.role
  principal_id         = azurerm_user_assigned_identity.ci[each.value.identity].principal_id
  principal_type       = "ServicePrincipal"
}
