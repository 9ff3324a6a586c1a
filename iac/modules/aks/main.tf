locals {
  weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
  # Node images are refreshed the day before the cluster upgrade window, never at the same time.
  node_os_day = local.weekdays[(index(local.weekdays, var.maintenance_window.day_of_week) + 6) % 7]

  # A pinned patch (1.33.2) fights the patch channel; a pinned minor fights stable and rapid,
  # which move the minor version. Either pairing is drift on every plan or a refused downgrade.
  pinned_patch = length(split(".", var.kubernetes_version)) == 3
  # AKS adds this taint to every Spot node; declaring it keeps the plan free of drift.
  spot_taint = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"

  channel_moves = contains(["stable", "rapid"], var.automatic_upgrade_channel) || (var.automatic_upgrade_channel == "patch" && local.pinned_patch)
}

# User-assigned identities survive cluster re-creation, so role assignments made for them
# (network, registry pull, Key Vault) do not have to be re-granted.
resource "azurerm_user_assigned_identity" "control_plane" {
  name                = var.names.aks_control_plane_id
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

resource "azurerm_user_assigned_identity" "kubelet" {
  name                = var.names.aks_kubelet_id
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

# The control plane assigns the kubelet identity to the node VMs.
resource "azurerm_role_assignment" "control_plane_manages_kubelet_identity" {
  scope                = azurerm_user_assigned_identity.kubelet.id
  role_definition_name = "Managed Identity Operator"
  principal_id         = azurerm_user_assigned_identity.control_plane.principal_id
  principal_type       = "ServicePrincipal"
}

# The control plane joins nodes and internal load balancers to the node subnet.
resource "azurerm_role_assignment" "control_plane_network" {
  scope                = var.node_subnet_id
  role_definition_name = "Network Contributor"
  principal_id         = azurerm_user_assigned_identity.control_plane.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_kubernetes_cluster" "this" {
  name                       = var.names.aks
  resource_group_name        = var.resource_group_name
  location                   = var.location
  dns_prefix                 = var.private_cluster_enabled ? null : var.names.aks_dns_prefix
  dns_prefix_private_cluster = var.private_cluster_enabled ? var.names.aks_dns_prefix : null
  node_resource_group        = var.names.aks_node_resource_group
  kubernetes_version         = var.kubernetes_version
  sku_tier                   = var.sku_tier
  automatic_upgrade_channel  = var.automatic_upgrade_channel == "none" ? null : var.automatic_upgrade_channel
  cost_analysis_enabled      = var.sku_tier != "Free"
  node_os_upgrade_channel    = var.node_os_upgrade_channel
  private_cluster_enabled    = var.private_cluster_enabled
  private_dns_zone_id        = var.private_cluster_enabled ? "System" : null

  # Sign-in only through Entra ID; authorization through Azure RBAC role assignments.
  local_account_disabled            = true
  role_based_access_control_enabled = true
  oidc_issuer_enabled               = true
  workload_identity_enabled         = true
  azure_policy_enabled              = true
  image_cleaner_enabled             = true
  image_cleaner_interval_hours      = 48

  # Node pools are declared here (Manual), not provisioned by node auto-provisioning.
  node_provisioning_profile {
    mode = "Manual"
  }

  azure_active_directory_role_based_access_control {
    tenant_id              = var.tenant_id
    azure_rbac_enabled     = true
    admin_group_object_ids = var.admin_group_object_ids
  }

  dynamic "api_server_access_profile" {
    for_each = var.private_cluster_enabled ? [] : [true]
    content {
      authorized_ip_ranges = var.api_server_authorized_ip_ranges
    }
  }

  # System pool: only critical add-ons (CriticalAddonsOnly=true:NoSchedule taint).
  default_node_pool {
    name                         = "system"
    vm_size                      = var.system_pool.vm_size
    zones                        = var.zones
    vnet_subnet_id               = var.node_subnet_id
    auto_scaling_enabled         = true
    min_count                    = var.system_pool.min_count
    max_count                    = var.system_pool.max_count
    max_pods                     = var.system_pool.max_pods
    os_disk_size_gb              = var.system_pool.os_disk_gb
    os_sku                       = "AzureLinux"
    host_encryption_enabled      = var.host_encryption_enabled
    only_critical_addons_enabled = true
    temporary_name_for_rotation  = "systemtmp"
    tags                         = var.tags

    upgrade_settings {
      max_surge = "33%"
    }
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.control_plane.id]
  }

  kubelet_identity {
    client_id                 = azurerm_user_assigned_identity.kubelet.client_id
    object_id                 = azurerm_user_assigned_identity.kubelet.principal_id
    user_assigned_identity_id = azurerm_user_assigned_identity.kubelet.id
  }

  network_profile {
    network_plugin      = "azure"
    network_plugin_mode = "overlay"
    network_data_plane  = "cilium"
    network_policy      = "cilium"
    pod_cidr            = var.pod_cidr
    service_cidr        = var.service_cidr
    dns_service_ip      = cidrhost(var.service_cidr, 10)
    load_balancer_sku   = "standard"
    outbound_type       = var.outbound_type
  }

  auto_scaler_profile {
    balance_similar_node_groups   = true
    expander                      = "least-waste"
    scale_down_unneeded           = "10m"
    skip_nodes_with_local_storage = false
  }

  # Application routing add-on: the managed NGINX whose IngressClass webapprouting.kubernetes.azure.com
  # the charts' Ingress uses (values-{dev,staging,prod}.yaml).
  dynamic "web_app_routing" {
    for_each = var.web_app_routing.enabled ? [true] : []
    content {
      dns_zone_ids             = var.web_app_routing.dns_zone_ids
      default_nginx_controller = var.web_app_routing.default_nginx_controller
    }
  }

  key_vault_secrets_provider {
    secret_rotation_enabled  = true
    secret_rotation_interval = "2m"
  }

  oms_agent {
    log_analytics_workspace_id      = var.log_analytics_workspace_id
    msi_auth_for_monitoring_enabled = true
  }

  monitor_metrics {}

  # Defender for Containers' sensor; findings and security events go to the workspace.
  dynamic "microsoft_defender" {
    for_each = var.defender_enabled ? [true] : []
    content {
      log_analytics_workspace_id = var.log_analytics_workspace_id
    }
  }

  maintenance_window_auto_upgrade {
    frequency   = "Weekly"
    interval    = 1
    day_of_week = var.maintenance_window.day_of_week
    start_time  = var.maintenance_window.start_time
    duration    = var.maintenance_window.duration
    utc_offset  = var.maintenance_window.utc_offset
  }

  maintenance_window_node_os {
    frequency   = "Weekly"
    interval    = 1
    day_of_week = local.node_os_day
    start_time  = var.maintenance_window.start_time
    duration    = var.maintenance_window.duration
    utc_offset  = var.maintenance_window.utc_offset
  }

  tags = var.tags

  lifecycle {
    # The autoscaler owns the node count.
    ignore_changes = [default_node_pool[0].node_count]

    precondition {
      condition     = !local.channel_moves
      error_message = "automatic_upgrade_channel ${var.automatic_upgrade_channel} conflicts with kubernetes_version ${var.kubernetes_version}: pin MAJOR.MINOR with the patch channel, or pin MAJOR.MINOR.PATCH with node-image or none (stable and rapid change the minor version themselves)."
    }
  }

  depends_on = [
    azurerm_role_assignment.control_plane_manages_kubelet_identity,
    azurerm_role_assignment.control_plane_network,
  ]
}

# Workload pools, one per key: labels and taints steer pods onto them (the database pool's taint
# admits only pods that tolerate it); a pool without zones of its own spans the cluster's zones,
# one zone per pool lets the autoscaler add a node where a zonal disk lives.
resource "azurerm_kubernetes_cluster_node_pool" "user" {
  for_each = var.user_pools

  name                        = each.key
  kubernetes_cluster_id       = azurerm_kubernetes_cluster.this.id
  mode                        = "User"
  vm_size                     = each.value.vm_size
  zones                       = coalesce(each.value.zones, var.zones)
  vnet_subnet_id              = var.node_subnet_id
  auto_scaling_enabled        = true
  min_count                   = each.value.min_count
  max_count                   = each.value.max_count
  max_pods                    = each.value.max_pods
  os_disk_size_gb             = each.value.os_disk_gb
  os_sku                      = "AzureLinux"
  host_encryption_enabled     = var.host_encryption_enabled
  node_labels                 = each.value.labels
  node_taints                 = each.value.spot ? concat(each.value.taints, [local.spot_taint]) : each.value.taints
  priority                    = each.value.spot ? "Spot" : "Regular"
  eviction_policy             = each.value.spot ? "Delete" : null
  spot_max_price              = each.value.spot ? -1 : null
  temporary_name_for_rotation = each.value.spot ? null : "${each.key}tmp"
  tags                        = var.tags

  # Spot pools cannot surge: Azure evicts rather than upgrades them.
  dynamic "upgrade_settings" {
    for_each = each.value.spot ? [] : [true]
    content {
      max_surge = "33%"
    }
  }

  lifecycle {
    ignore_changes = [node_count]
  }
}

# Managed Prometheus: the cluster's metrics add-on ships to the Azure Monitor workspace
# through a data collection endpoint and rule associated with the cluster.
resource "azurerm_monitor_data_collection_endpoint" "prometheus" {
  name                = var.names.data_collection_endpoint
  resource_group_name = var.resource_group_name
  location            = var.location
  kind                = "Linux"
  tags                = var.tags
}

resource "azurerm_monitor_data_collection_rule" "prometheus" {
  name                        = "${var.names.data_collection_rule}-prometheus"
  resource_group_name         = var.resource_group_name
  location                    = var.location
  data_collection_endpoint_id = azurerm_monitor_data_collection_endpoint.prometheus.id
  kind                        = "Linux"
  tags                        = var.tags

  destinations {
    monitor_account {
      monitor_account_id = var.monitor_workspace_id
      name               = "monitor-workspace"
    }
  }

  data_flow {
    streams      = ["Microsoft-PrometheusMetrics"]
    destinations = ["monitor-workspace"]
  }

  data_sources {
    prometheus_forwarder {
      streams = ["Microsoft-PrometheusMetrics"]
      name    = "prometheus-data-source"
    }
  }
}

resource "azurerm_monitor_data_collection_rule_association" "prometheus" {
  name                    = "dcra-${var.names.aks}-prometheus"
  target_resource_id      = azurerm_kubernetes_cluster.this.id
  data_collection_rule_id = azurerm_monitor_data_collection_rule.prometheus.id
}

# Container Insights with managed-identity authentication reads its settings from a rule too:
# how often it collects and which namespaces, per environment (the ingestion bill follows both).
resource "azurerm_monitor_data_collection_rule" "container_insights" {
  name                = "${var.names.data_collection_rule}-insights"
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags

  destinations {
    log_analytics {
      workspace_resource_id = var.log_analytics_workspace_id
      name                  = "log-analytics"
    }
  }

  data_flow {
    streams      = ["Microsoft-ContainerInsights-Group-Default"]
    destinations = ["log-analytics"]
  }

  data_sources {
    extension {
      streams        = ["Microsoft-ContainerInsights-Group-Default"]
      extension_name = "ContainerInsights"
      name           = "container-insights"
      extension_json = jsonencode({
        dataCollectionSettings = {
          interval               = var.container_insights.interval
          namespaceFilteringMode = var.container_insights.namespace_filtering_mode
          namespaces             = var.container_insights.namespaces
          enableContainerLogV2   = true
        }
      })
    }
  }
}

resource "azurerm_monitor_data_collection_rule_association" "container_insights" {
  name                    = "dcra-${var.names.aks}-insights"
  target_resource_id      = azurerm_kubernetes_cluster.this.id
  data_collection_rule_id = azurerm_monitor_data_collection_rule.container_insights.id
}
