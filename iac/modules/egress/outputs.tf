output "outbound_type" {
  description = "The AKS outbound type this egress needs: userDefinedRouting behind the firewall, userAssignedNATGateway behind the NAT gateway."
  value       = local.firewall ? "userDefinedRouting" : "userAssignedNATGateway"
}

output "public_ip_address" {
  description = "The one public address the nodes' traffic leaves from."
  value       = azurerm_public_ip.egress.ip_address
}

output "firewall_id" {
  description = "Resource ID of the firewall (null with a NAT gateway): the diagnostic setting's target."
  value       = local.firewall ? azurerm_firewall.this[0].id : null
}

output "application_rules" {
  description = "FQDNs the firewall admits over HTTPS by rule name (AKS add-ons plus workload_fqdns); empty with a NAT gateway."
  value       = local.firewall ? local.application_rules : tomap({})
}
