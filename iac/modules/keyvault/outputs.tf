output "id" {
  description = "Resource ID of the vault."
  value       = azurerm_key_vault.this.id
}

output "name" {
  description = "Name of the vault (the SecretProviderClass keyvaultName)."
  value       = azurerm_key_vault.this.name
}

output "vault_uri" {
  description = "Data-plane URI of the vault."
  value       = azurerm_key_vault.this.vault_uri
}

output "database_password_secret_name" {
  description = "Name of the secret that holds the database password (the value is never output)."
  value       = azurerm_key_vault_secret.database_password.name
}

output "backup_passphrase_secret_name" {
  description = "Name of the secret that holds the backup repository's encryption passphrase (the value is never output)."
  value       = azurerm_key_vault_secret.backup_passphrase.name
}

output "private_endpoint_enabled" {
  description = "Whether the vault is reachable only through its private endpoint."
  value       = local.private
}

output "ingress_certificate" {
  description = "The ingress TLS certificate: its name, the resource ID of its secret (the scope its readers are granted) and the secret's versionless URI (what the Application Gateway and the application routing add-on load; a renewal reaches them without a plan)."
  value = {
    name         = local.ingress_certificate_name
    secret_scope = local.ingress_certificate_scope
    secret_uri   = local.ingress_certificate_uri
  }
}
