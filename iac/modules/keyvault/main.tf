locals {
  private     = var.private_endpoint != null
  self_signed = var.ingress_certificate.self_signed != null

  # The ingress certificate as its readers address it: through its secret (the part that holds
  # the private key), versionless, so a renewal in the vault reaches every reader without a plan.
  # A self-signed certificate is created here; an imported one is named only.
  ingress_certificate_name  = local.self_signed ? azurerm_key_vault_certificate.ingress[0].name : var.ingress_certificate.name
  ingress_certificate_scope = "${azurerm_key_vault.this.id}/secrets/${local.ingress_certificate_name}"
  ingress_certificate_uri   = local.self_signed ? azurerm_key_vault_certificate.ingress[0].versionless_secret_id : "${azurerm_key_vault.this.vault_uri}secrets/${var.ingress_certificate.name}"
}

resource "azurerm_key_vault" "this" {
  name                          = var.name
  resource_group_name           = var.resource_group_name
  location                      = var.location
  tenant_id                     = var.tenant_id
  sku_name                      = "standard"
  rbac_authorization_enabled    = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = var.soft_delete_retention_days
  public_network_access_enabled = !local.private
  tags                          = var.tags

  network_acls {
    default_action             = "Deny"
    bypass                     = "AzureServices"
    ip_rules                   = local.private ? [] : var.allowed_ip_ranges
    virtual_network_subnet_ids = local.private ? [] : [var.node_subnet_id]
  }
}

resource "azurerm_role_assignment" "deployer_secrets_officer" {
  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = var.deployer_object_id
}

# Least privilege: readers get the one secret they need, not every secret in the vault.
resource "azurerm_role_assignment" "secret_readers" {
  for_each = var.secret_reader_principal_ids

  scope                = azurerm_key_vault_secret.database_password.resource_versionless_id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = each.value
  principal_type       = "ServicePrincipal"
}

# Ephemeral + write-only: the password is generated during apply and sent to Key Vault, but it
# never lands in the plan or the state file. Bump database_password_version to rotate it.
ephemeral "random_password" "database" {
  length           = 32
  special          = true
  override_special = "-_.~"
  min_lower        = 2
  min_upper        = 2
  min_numeric      = 2
  min_special      = 2
}

resource "azurerm_key_vault_secret" "database_password" {
  name             = "database-password"
  key_vault_id     = azurerm_key_vault.this.id
  value_wo         = ephemeral.random_password.database.result
  value_wo_version = var.database_password_version
  content_type     = "text/plain; purpose=postgresql-application-password"
  tags             = var.tags

  depends_on = [azurerm_role_assignment.deployer_secrets_officer, azurerm_private_endpoint.this]
}

# The backup repository's encryption passphrase, written the same way: it never enters plan or
# state; the database (WAL archiving) and the backup jobs read it through the CSI driver.
ephemeral "random_password" "backup_passphrase" {
  length  = 64
  special = false
}

resource "azurerm_key_vault_secret" "backup_passphrase" {
  name             = "pgbackrest-passphrase"
  key_vault_id     = azurerm_key_vault.this.id
  value_wo         = ephemeral.random_password.backup_passphrase.result
  value_wo_version = var.backup_passphrase_version
  content_type     = "text/plain; purpose=pgbackrest-repository-cipher-pass"
  tags             = var.tags

  depends_on = [azurerm_role_assignment.deployer_secrets_officer, azurerm_private_endpoint.this]
}

resource "azurerm_role_assignment" "backup_passphrase_readers" {
  for_each = var.backup_passphrase_reader_principal_ids

  scope                = azurerm_key_vault_secret.backup_passphrase.resource_versionless_id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = each.value
  principal_type       = "ServicePrincipal"
}

# Only where Terraform creates the ingress certificate itself (self-signed); an imported
# certificate is written by whoever imports it, never by the pipeline's identity.
resource "azurerm_role_assignment" "deployer_certificates_officer" {
  count = local.self_signed ? 1 : 0

  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Certificates Officer"
  principal_id         = var.deployer_object_id
}

# A self-signed ingress certificate for an environment without a public one: Key Vault issues
# and renews it; the ingress controller serves it like an imported one.
resource "azurerm_key_vault_certificate" "ingress" {
  count = local.self_signed ? 1 : 0

  name         = var.ingress_certificate.name
  key_vault_id = azurerm_key_vault.this.id
  tags         = var.tags

  certificate_policy {
    issuer_parameters {
      name = "Self"
    }

    key_properties {
      exportable = true # the ingress controller loads the private key through the secret
      key_type   = "RSA"
      key_size   = 2048
      reuse_key  = false
    }

    lifetime_action {
      action {
        action_type = "AutoRenew"
      }

      trigger {
        days_before_expiry = 30
      }
    }

    secret_properties {
      content_type = "application/x-pkcs12"
    }

    x509_certificate_properties {
      subject            = "CN=${var.ingress_certificate.self_signed.dns_names[0]}"
      key_usage          = ["digitalSignature", "keyEncipherment"]
      extended_key_usage = ["1.3.6.1.5.5.7.3.1"] # TLS server authentication
      validity_in_months = var.ingress_certificate.self_signed.validity_months

      subject_alternative_names {
        dns_names = var.ingress_certificate.self_signed.dns_names
      }
    }
  }

  depends_on = [azurerm_role_assignment.deployer_certificates_officer, azurerm_private_endpoint.this]
}

# Least privilege: the ingress certificate's readers get its one secret, nothing else.
resource "azurerm_role_assignment" "ingress_certificate_readers" {
  for_each = var.ingress_certificate_reader_principal_ids

  scope                = local.ingress_certificate_scope
  role_definition_name = "Key Vault Secrets User"
  principal_id         = each.value
  principal_type       = "ServicePrincipal"
}

resource "azurerm_private_endpoint" "this" {
  count = local.private ? 1 : 0

  name                = var.private_endpoint.name
  resource_group_name = var.resource_group_name
  location            = var.location
  subnet_id           = var.private_endpoint.subnet_id
  tags                = var.tags

  private_service_connection {
    name                           = "${var.private_endpoint.name}-connection"
    private_connection_resource_id = azurerm_key_vault.this.id
    subresource_names              = ["vault"]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "default"
    private_dns_zone_ids = [var.private_endpoint.private_dns_zone_id]
  }
}
