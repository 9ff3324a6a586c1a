output "virtual_network_id" {
  description = "Resource ID of the virtual network."
  value       = azurerm_virtual_network.this.id
}

output "node_subnet_id" {
  description = "Resource ID of the AKS node subnet."
  value       = azurerm_subnet.nodes.id
}

output "private_endpoint_subnet_id" {
  description = "Resource ID of the private-endpoint subnet."
  value       = azurerm_subnet.private_endpoints.id
}

output "private_dns_zone_ids" {
  description = "Resource IDs of the private DNS zones, keyed by zone name (empty without private endpoints)."
  value       = { for name, zone in azurerm_private_dns_zone.this : name => zone.id }
}

output "virtual_network_name" {
  description = "Name of the virtual network (where the egress and ingress-gateway modules add the firewall's and the gateway's subnets)."
  value       = azurerm_virtual_network.this.name
}
