output "assignments" {
  description = "Policy assignments on the cluster: name => policy definition (or initiative) ID."
  value       = { for key, assignment in azurerm_resource_policy_assignment.this : assignment.name => assignment.policy_definition_id }
}

output "effect" {
  description = "The effect every assignment runs with (Deny or Audit)."
  value       = var.effect
}
