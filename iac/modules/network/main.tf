resource "azurerm_virtual_network" "this" {
  name                = var.names.virtual_network
  resource_group_name = var.resource_group_name
  location            = var.location
  address_space       = [var.address_space]
  tags                = var.tags
}

# Azure CNI overlay: pods get addresses from the cluster's pod CIDR, so this subnet only
# needs room for nodes (and surge nodes during upgrades).
resource "azurerm_subnet" "nodes" {
  name                            = var.names.node_subnet
  resource_group_name             = var.resource_group_name
  virtual_network_name            = azurerm_virtual_network.this.name
  address_prefixes                = [var.node_subnet_cidr]
  default_outbound_access_enabled = false

  # Pods reach storage and Key Vault firewalls through service endpoints where an environment
  # has no private endpoints.
  service_endpoint {
    service = "Microsoft.Storage"
  }

  service_endpoint {
    service = "Microsoft.KeyVault"
  }
}

resource "azurerm_subnet" "private_endpoints" {
  name                              = var.names.private_endpoint_subnet
  resource_group_name               = var.resource_group_name
  virtual_network_name              = azurerm_virtual_network.this.name
  address_prefixes                  = [var.private_endpoint_subnet_cidr]
  default_outbound_access_enabled   = false
  private_endpoint_network_policies = "Enabled"
}

# AKS does not touch a subnet NSG it did not create, so the ingress path is admitted here:
# exactly the ports and sources node_ingress names (and its Deny rules keep the rest of the
# network off what only a gateway may reach), and every other Internet packet denied
# explicitly (ahead of any rule added later). Node-to-node, pod and load-balancer probe traffic
# keep Azure's default VirtualNetwork and AzureLoadBalancer rules.
resource "azurerm_network_security_group" "nodes" {
  name                = var.names.node_nsg
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags

  dynamic "security_rule" {
    for_each = var.node_ingress
    content {
      name                       = security_rule.key
      priority                   = security_rule.value.priority
      direction                  = "Inbound"
      access                     = security_rule.value.access
      protocol                   = "Tcp"
      source_port_range          = "*"
      destination_port_ranges    = security_rule.value.ports
      source_address_prefix      = security_rule.value.source
      destination_address_prefix = security_rule.value.destination
    }
  }

  security_rule {
    name                       = "deny-internet-inbound"
    priority                   = 4096
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "Internet"
    destination_address_prefix = "*"
  }
}

# Private endpoints only ever answer HTTPS from inside the virtual network.
resource "azurerm_network_security_group" "private_endpoints" {
  name                = var.names.private_endpoint_nsg
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags

  security_rule {
    name                       = "allow-vnet-https-inbound"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "443"
    source_address_prefix      = "VirtualNetwork"
    destination_address_prefix = "VirtualNetwork"
  }

  security_rule {
    name                       = "deny-all-inbound"
    priority                   = 4096
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "*"
    destination_address_prefix = "*"
  }
}

resource "azurerm_subnet_network_security_group_association" "nodes" {
  subnet_id                 = azurerm_subnet.nodes.id
  network_security_group_id = azurerm_network_security_group.nodes.id
}

resource "azurerm_subnet_network_security_group_association" "private_endpoints" {
  subnet_id                 = azurerm_subnet.private_endpoints.id
  network_security_group_id = azurerm_network_security_group.private_endpoints.id
}

resource "azurerm_private_dns_zone" "this" {
  for_each = var.private_dns_zones

  name                = each.value
  resource_group_name = var.resource_group_name
  tags                = var.tags
}

resource "azurerm_private_dns_zone_virtual_network_link" "this" {
  for_each = var.private_dns_zones

  name                 = "link-${var.names.virtual_network}"
  private_dns_zone_id  = azurerm_private_dns_zone.this[each.key].id
  virtual_network_id   = azurerm_virtual_network.this.id
  registration_enabled = false
  tags                 = var.tags
}

# The hub networks whose hosts use the private endpoints from outside this network (the CI
# agents that write the database secret and push images). Each needs two things: a route to the
# private addresses, which is this network's half of the peering (the hub's half belongs to the
# hub), and the same zones linked to it, so the service names resolve to those addresses there.
# The peering carries only traffic between the two address spaces: no forwarded traffic and no
# gateway in either direction.
resource "azurerm_virtual_network_peering" "hub" {
  for_each = var.hub_virtual_network_ids

  name                         = "peer-${var.names.virtual_network}-to-${each.key}"
  resource_group_name          = var.resource_group_name
  virtual_network_name         = azurerm_virtual_network.this.name
  remote_virtual_network_id    = each.value
  allow_virtual_network_access = true
  allow_forwarded_traffic      = false
  allow_gateway_transit        = false
  use_remote_gateways          = false
}

resource "azurerm_private_dns_zone_virtual_network_link" "hub" {
  for_each = {
    for pair in setproduct(var.private_dns_zones, keys(var.hub_virtual_network_ids)) :
    "${pair[0]}/${pair[1]}" => { zone = pair[0], network = pair[1] }
  }

  name                 = "link-${each.value.network}-${var.names.virtual_network}"
  private_dns_zone_id  = azurerm_private_dns_zone.this[each.value.zone].id
  virtual_network_id   = var.hub_virtual_network_ids[each.value.network]
  registration_enabled = false
  tags                 = var.tags
}

# The hub links were called "linked" before the hub networks were peered too.
moved {
  from = azurerm_private_dns_zone_virtual_network_link.linked
  to   = azurerm_private_dns_zone_virtual_network_link.hub
}
