output "client_ids" {
  description = "Client IDs by workload key (the ServiceAccount's azure.workload.identity/client-id annotation)."
  value       = { for key, identity in azurerm_user_assigned_identity.this : key => identity.client_id }
}

output "principal_ids" {
  description = "Principal (object) IDs by workload key, for role assignments."
  value       = { for key, identity in azurerm_user_assigned_identity.this : key => identity.principal_id }
}
