output "id" {
  description = "Resource ID of the Application Gateway."
  value       = azurerm_application_gateway.this.id
}

output "public_ip_address" {
  description = "The product's public address: DNS for the host name points here."
  value       = azurerm_public_ip.gateway.ip_address
}

output "waf_mode" {
  description = "Mode of the WAF policy in front of the listeners (Prevention blocks, Detection only logs)."
  value       = azurerm_web_application_firewall_policy.this.policy_settings[0].mode
}

output "managed_rule_sets" {
  description = "The managed rule sets the WAF policy applies, as TYPE/VERSION, read from the planned policy."
  value       = [for set in azurerm_web_application_firewall_policy.this.managed_rules[0].managed_rule_set : "${set.type}/${set.version}"]
}

output "backend_ip_addresses" {
  description = "Addresses of the gateway's backend pool, read from the planned gateway: the internal ingress load balancer's."
  value       = one(azurerm_application_gateway.this.backend_address_pool[*].ip_addresses)
}

output "subnet_cidr" {
  description = "CIDR of the gateway's subnet: the only source the node subnet admits on 80/443."
  value       = var.subnet_cidr
}
