output "id" {
  description = "Resource ID of the registry."
  value       = azurerm_container_registry.this.id
}

output "login_server" {
  description = "Login server (image prefix) of the registry, e.g. crinventoryprodweu.azurecr.io."
  value       = azurerm_container_registry.this.login_server
}

output "private_endpoint_enabled" {
  description = "Whether the registry is reachable only through its private endpoint."
  value       = local.private
}
