output "ids" {
  description = "Resource IDs of the budgets by key."
  value       = { for key, budget in azurerm_consumption_budget_resource_group.this : key => budget.id }
}

output "monthly_amounts" {
  description = "The monthly amount each budget's alerts are measured against, by key."
  value       = { for key, budget in azurerm_consumption_budget_resource_group.this : key => budget.amount }
}
