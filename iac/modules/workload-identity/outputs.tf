output "client_ids" {
  description = "Client IDs by workload key (the ServiceAccount's azure.workload.identity/client-id annotation)."
  value       = { for key, identity in azurerm_user_assigned_identity.this : key => identity.client_id }
}

output "principal_ids" {
  description = "Principal (object) IDs by workload key, for role assignments."
  value       = { for key, identity in azurerm_user_assigned_identity.this : key => identity.principal_id }
}

output "subjects" {
  description = "Federated credential subjects (system:serviceaccount:<namespace>:<name>) by workload key, sorted."
  value = {
    for key in keys(var.workloads) : key => sort([
      for id, credential in azurerm_federated_identity_credential.this : credential.subject
      if local.credentials[id].workload == key
    ])
  }
}
