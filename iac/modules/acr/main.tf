locals {
  premium = var.sku == "Premium"
  private = var.private_endpoint != null
}

resource "azurerm_container_registry" "this" {
  name                          = var.name
  resource_group_name           = var.resource_group_name
  location                      = var.location
  sku                           = var.sku
  admin_enabled                 = false
  anonymous_pull_enabled        = false
  public_network_access_enabled = !local.private
  # Images cannot be exported out of a registry that is only reachable privately.
  export_policy_enabled    = !local.private
  data_endpoint_enabled    = local.premium
  zone_redundancy_enabled  = local.premium && var.zone_redundancy_enabled
  retention_policy_in_days = local.premium ? var.untagged_retention_days : null
  tags                     = var.tags

  dynamic "georeplications" {
    for_each = local.premium ? var.georeplication_locations : []
    content {
      location                        = georeplications.value
      global_endpoint_routing_enabled = true
      zone_redundancy_enabled         = var.zone_redundancy_enabled
      tags                            = var.tags
    }
  }

  lifecycle {
    precondition {
      condition     = local.premium || (!local.private && length(var.georeplication_locations) == 0 && !var.zone_redundancy_enabled)
      error_message = "Private endpoints, geo-replication and zone redundancy need the Premium SKU."
    }
  }
}

# Nodes pull images with the kubelet identity: no registry credentials exist anywhere.
resource "azurerm_role_assignment" "kubelet_pull" {
  scope                = azurerm_container_registry.this.id
  role_definition_name = "AcrPull"
  principal_id         = var.kubelet_object_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_private_endpoint" "this" {
  count = local.private ? 1 : 0

  name                = var.private_endpoint.name
  resource_group_name = var.resource_group_name
  location            = var.location
  subnet_id           = var.private_endpoint.subnet_id
  tags                = var.tags

  private_service_connection {
    name                           = "${var.private_endpoint.name}-connection"
    private_connection_resource_id = azurerm_container_registry.this.id
    subresource_names              = ["registry"]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "default"
    private_dns_zone_ids = [var.private_endpoint.private_dns_zone_id]
  }
}
