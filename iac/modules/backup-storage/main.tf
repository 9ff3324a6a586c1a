locals {
  private = var.private_endpoint != null
}

resource "azurerm_storage_account" "backup" {
  name                     = var.names.storage_account
  resource_group_name      = var.resource_group_name
  location                 = var.location
  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = var.replication_type

  https_traffic_only_enabled        = true
  min_tls_version                   = "TLS1_2"
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  local_user_enabled                = false
  cross_tenant_replication_enabled  = false
  infrastructure_encryption_enabled = true
  public_network_access_enabled     = !local.private
  tags                              = var.tags

  blob_properties {
    versioning_enabled = true

    delete_retention_policy {
      days = var.soft_delete_days
    }

    container_delete_retention_policy {
      days = var.soft_delete_days
    }
  }

  # Ransomware and operator-error protection: no backup version can be changed or deleted
  # during the period, not even by an owner of the subscription once the policy is locked.
  immutability_policy {
    allow_protected_append_writes = true
    state                         = var.immutability.locked ? "Locked" : "Unlocked"
    period_since_creation_in_days = var.immutability.period_days
  }

  network_rules {
    default_action             = "Deny"
    bypass                     = ["AzureServices"]
    ip_rules                   = local.private ? [] : var.allowed_ip_ranges
    virtual_network_subnet_ids = local.private ? [] : [var.node_subnet_id]
  }
}

# Created through the management plane (storage_account_id), so Terraform needs neither a
# shared key nor data-plane network access to the account.
resource "azurerm_storage_container" "backup" {
  name                  = var.container_name
  storage_account_id    = azurerm_storage_account.backup.id
  container_access_type = "private"
}

resource "azurerm_storage_management_policy" "backup" {
  storage_account_id = azurerm_storage_account.backup.id

  rule {
    name    = "backups-cool-and-expire-versions"
    enabled = true

    filters {
      blob_types   = ["blockBlob"]
      prefix_match = ["${var.container_name}/"]
    }

    actions {
      base_blob {
        tier_to_cool_after_days_since_modification_greater_than = var.lifecycle_rules.cool_after_days
      }

      version {
        delete_after_days_since_creation = var.lifecycle_rules.delete_versions_after_days
      }
    }
  }
}

resource "azurerm_user_assigned_identity" "backup" {
  name                = var.names.identity
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

# Only the backup job's ServiceAccount, in this cluster, can exchange its token for this identity.
resource "azurerm_federated_identity_credential" "backup" {
  name                      = "${var.service_account.namespace}-${var.service_account.name}"
  user_assigned_identity_id = azurerm_user_assigned_identity.backup.id
  audience                  = ["api://AzureADTokenExchange"]
  issuer                    = var.oidc_issuer_url
  subject                   = "system:serviceaccount:${var.service_account.namespace}:${var.service_account.name}"
}

# Least privilege: blob data access to the one container, nothing on the account itself.
resource "azurerm_role_assignment" "backup_blob_data" {
  scope                = azurerm_storage_container.backup.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_user_assigned_identity.backup.principal_id
  principal_type       = "ServicePrincipal"
}

# In the environment's virtual network, which may be in another region than the account (the
# paired region's repository is reached through the primary region's private endpoint subnet).
resource "azurerm_private_endpoint" "blob" {
  count = local.private ? 1 : 0

  name                = var.names.private_endpoint
  resource_group_name = var.resource_group_name
  location            = coalesce(var.private_endpoint.location, var.location)
  subnet_id           = var.private_endpoint.subnet_id
  tags                = var.tags

  private_service_connection {
    name                           = "${var.names.private_endpoint}-connection"
    private_connection_resource_id = azurerm_storage_account.backup.id
    subresource_names              = ["blob"]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "default"
    private_dns_zone_ids = [var.private_endpoint.private_dns_zone_id]
  }
}
