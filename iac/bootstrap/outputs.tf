output "resource_group_name" {
  description = "Resource group of the state account (backend.hcl resource_group_name)."
  value       = azurerm_resource_group.state.name
}

output "storage_account_name" {
  description = "State account name (backend.hcl storage_account_name)."
  value       = azurerm_storage_account.state.name
}

output "container_names" {
  description = "State container per environment (backend.hcl container_name)."
  value       = { for environment, container in azurerm_storage_container.state : environment => container.name }
}

output "ci_client_ids" {
  description = "Client IDs of each environment's CI identities (Jenkins credentials azure-plan-client-id-<env> and azure-apply-client-id-<env>)."
  value = {
    for environment in keys(var.environments) : environment => {
      plan  = azurerm_user_assigned_identity.ci["${environment}-plan"].client_id
      apply = azurerm_user_assigned_identity.ci["${environment}-apply"].client_id
    }
  }
}
