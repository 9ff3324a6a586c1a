output "location" {
  description = "Azure region of the backup account."
  value       = azurerm_storage_account.backup.location
}

output "storage_account_id" {
  description = "Resource ID of the backup account."
  value       = azurerm_storage_account.backup.id
}

output "storage_account_name" {
  description = "Name of the backup account (pgBackRest repo<N>-azure-account)."
  value       = azurerm_storage_account.backup.name
}

output "container_name" {
  description = "Blob container pgBackRest writes to (repo<N>-azure-container)."
  value       = azurerm_storage_container.backup.name
}

output "replication_type" {
  description = "Replication of the backup account."
  value       = azurerm_storage_account.backup.account_replication_type
}

output "identity_client_id" {
  description = "Client ID of the backup identity (the ServiceAccount's azure.workload.identity/client-id annotation)."
  value       = azurerm_user_assigned_identity.backup.client_id
}

output "private_endpoint_enabled" {
  description = "Whether the account is reachable only through its private endpoint."
  value       = local.private
}

output "identity_subjects" {
  description = "Federated credential subjects of the backup identity (system:serviceaccount:<namespace>:<name>)."
  value       = [azurerm_federated_identity_credential.backup.subject]
}
