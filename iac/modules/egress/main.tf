locals {
  firewall = var.mode == "firewall"
  nat      = var.mode == "nat_gateway"

  # What AKS itself needs (learn.microsoft.com/azure/aks/outbound-rules-control-egress): the
  # AzureKubernetesService FQDN tag covers the control plane, MCR, node images and packages;
  # the add-ons the platform turns on (Container Insights, managed Prometheus, Defender, Azure
  # Policy, workload identity) need the Azure Monitor, policy and Entra ID endpoints.
  addon_fqdns = {
    azure-monitor = [
      "*.ods.opinsights.azure.com",
      "*.oms.opinsights.azure.com",
      "*.monitoring.azure.com",
      "dc.services.visualstudio.com",
      "global.handler.control.monitor.azure.com",
      "${var.location}.handler.control.monitor.azure.com",
      "*.ingest.monitor.azure.com",
      "*.metrics.ingest.monitor.azure.com",
    ]
    azure-policy = ["data.policy.core.windows.net", "store.policy.core.windows.net"]
    defender     = ["*.cloud.defender.microsoft.com"]
    entra-id     = ["login.microsoftonline.com"]
  }
  application_rules = merge(tomap(local.addon_fqdns), var.workload_fqdns)
}

# Firewall egress: every node's 0.0.0.0/0 goes through the firewall, which admits only the
# FQDN tag and the listed FQDNs over HTTPS (plus NTP and the API-server tunnel) and denies the rest.
resource "azurerm_subnet" "firewall" {
  count = local.firewall ? 1 : 0

  name                 = "AzureFirewallSubnet" # the only name Azure Firewall accepts
  resource_group_name  = var.resource_group_name
  virtual_network_name = var.virtual_network_name
  address_prefixes     = [var.firewall.subnet_cidr]
}

resource "azurerm_public_ip" "egress" {
  name                = var.names.public_ip
  resource_group_name = var.resource_group_name
  location            = var.location
  allocation_method   = "Static"
  sku                 = "Standard"
  # A NAT gateway is zonal or regional, never multi-zonal; a firewall spans the zones.
  zones = local.firewall ? var.zones : []
  tags  = var.tags
}

resource "azurerm_firewall_policy" "this" {
  count = local.firewall ? 1 : 0

  name                     = var.names.firewall_policy
  resource_group_name      = var.resource_group_name
  location                 = var.location
  sku                      = var.firewall.sku_tier
  threat_intelligence_mode = "Deny" # known-malicious addresses and domains are dropped, not just logged
  tags                     = var.tags
}

resource "azurerm_firewall_policy_rule_collection_group" "egress" {
  count = local.firewall ? 1 : 0

  name               = var.names.firewall_rules
  firewall_policy_id = azurerm_firewall_policy.this[0].id
  priority           = 200

  network_rule_collection {
    name     = "aks-network"
    priority = 200
    action   = "Allow"

    rule {
      name                  = "ntp"
      protocols             = ["UDP"]
      source_addresses      = [var.node_subnet_cidr]
      destination_addresses = ["*"]
      destination_ports     = ["123"]
    }

    rule {
      name                  = "api-server-tunnel"
      protocols             = ["TCP", "UDP"]
      source_addresses      = [var.node_subnet_cidr]
      destination_addresses = ["AzureCloud.${var.location}"]
      destination_ports     = ["1194", "9000"]
    }
  }

  application_rule_collection {
    name     = "aks-fqdn-tag"
    priority = 300
    action   = "Allow"

    rule {
      name                  = "azure-kubernetes-service"
      source_addresses      = [var.node_subnet_cidr]
      destination_fqdn_tags = ["AzureKubernetesService"]

      protocols {
        type = "Https"
        port = 443
      }

      protocols {
        type = "Http"
        port = 80
      }
    }
  }

  application_rule_collection {
    name     = "platform-and-workloads"
    priority = 400
    action   = "Allow"

    dynamic "rule" {
      for_each = local.application_rules
      content {
        name              = rule.key
        source_addresses  = [var.node_subnet_cidr]
        destination_fqdns = rule.value

        protocols {
          type = "Https"
          port = 443
        }
      }
    }
  }
}

resource "azurerm_firewall" "this" {
  count = local.firewall ? 1 : 0

  name                = var.names.firewall
  resource_group_name = var.resource_group_name
  location            = var.location
  sku_name            = "AZFW_VNet"
  sku_tier            = var.firewall.sku_tier
  firewall_policy_id  = azurerm_firewall_policy.this[0].id
  # The policy decides; the firewall states the same mode so the two never disagree.
  threat_intel_mode = "Deny"
  zones             = var.zones
  tags              = var.tags

  ip_configuration {
    name                 = "egress"
    subnet_id            = azurerm_subnet.firewall[0].id
    public_ip_address_id = azurerm_public_ip.egress.id
  }

  depends_on = [azurerm_firewall_policy_rule_collection_group.egress]
}

resource "azurerm_route_table" "nodes" {
  count = local.firewall ? 1 : 0

  name                          = var.names.route_table
  resource_group_name           = var.resource_group_name
  location                      = var.location
  bgp_route_propagation_enabled = false
  tags                          = var.tags

  route {
    name                   = "default-via-firewall"
    address_prefix         = "0.0.0.0/0"
    next_hop_type          = "VirtualAppliance"
    next_hop_in_ip_address = azurerm_firewall.this[0].ip_configuration[0].private_ip_address
  }
}

resource "azurerm_subnet_route_table_association" "nodes" {
  count = local.firewall ? 1 : 0

  subnet_id      = var.node_subnet_id
  route_table_id = azurerm_route_table.nodes[0].id
}

# NAT gateway egress: a fixed outbound address (allow-listable by partners) with no filtering.
resource "azurerm_nat_gateway" "this" {
  count = local.nat ? 1 : 0

  name                    = var.names.nat_gateway
  resource_group_name     = var.resource_group_name
  location                = var.location
  sku_name                = "Standard"
  idle_timeout_in_minutes = 4
  tags                    = var.tags
}

resource "azurerm_nat_gateway_public_ip_association" "this" {
  count = local.nat ? 1 : 0

  nat_gateway_id       = azurerm_nat_gateway.this[0].id
  public_ip_address_id = azurerm_public_ip.egress.id
}

resource "azurerm_subnet_nat_gateway_association" "nodes" {
  count = local.nat ? 1 : 0

  subnet_id      = var.node_subnet_id
  nat_gateway_id = azurerm_nat_gateway.this[0].id
}
