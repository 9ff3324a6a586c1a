resource "azurerm_resource_group" "this" {
  name     = var.name
  location = var.location
  tags     = var.tags
}

# A lock stops `terraform destroy` and portal deletes alike; removing it is a reviewed change.
resource "azurerm_management_lock" "delete" {
  count = var.delete_lock_enabled ? 1 : 0

  name       = "lock-delete-${var.name}"
  scope      = azurerm_resource_group.this.id
  lock_level = "CanNotDelete"
  notes      = "Managed by Terraform: remove delete_lock_enabled in the environment's tfvars first."
}
