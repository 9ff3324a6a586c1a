output "names" {
  description = "Resource names by purpose, following <abbreviation>-<workload>-<environment>-<region>; the globally unique ones (registry, Key Vault, storage account) are <abbreviation><workload><environment code><region code><unique suffix>, without hyphens."
  value = {
    resource_group           = "rg-${local.suffix}"
    virtual_network          = "vnet-${local.suffix}"
    node_subnet              = "snet-nodes-${local.suffix}"
    private_endpoint_subnet  = "snet-pe-${local.suffix}"
    node_nsg                 = "nsg-nodes-${local.suffix}"
    private_endpoint_nsg     = "nsg-pe-${local.suffix}"
    aks                      = "aks-${local.suffix}"
    aks_dns_prefix           = "aks-${local.suffix}"
    aks_node_resource_group  = "rg-aks-nodes-${local.suffix}"
    aks_control_plane_id     = "id-aks-${local.suffix}"
    aks_kubelet_id           = "id-kubelet-${local.suffix}"
    container_registry       = "cr${local.unique}"
    container_registry_host  = "cr${local.unique}.azurecr.io"
    key_vault                = "kv-${local.unique}"
    log_analytics            = "log-${local.suffix}"
    monitor_workspace        = "amw-${local.suffix}"
    action_group             = "ag-${local.suffix}"
    action_group_short       = substr("ag${var.workload}${var.environment}", 0, 12)
    backup_storage           = "st${local.unique}bak"
    backup_identity          = "id-backup-${local.suffix}"
    workload_identity_prefix = "id-wl-${local.suffix}"
    data_collection_endpoint = "dce-${local.suffix}"
    data_collection_rule     = "dcr-${local.suffix}"
    private_endpoint_prefix  = "pe-${local.suffix}"
    firewall                 = "afw-${local.suffix}"
    firewall_policy          = "afwp-${local.suffix}"
    firewall_rules           = "rcg-egress-${local.suffix}"
    egress_public_ip         = "pip-egress-${local.suffix}"
    nat_gateway              = "ng-${local.suffix}"
    node_route_table         = "rt-nodes-${local.suffix}"
    application_gateway      = "agw-${local.suffix}"
    gateway_subnet           = "snet-agw-${local.suffix}"
    gateway_nsg              = "nsg-agw-${local.suffix}"
    gateway_public_ip        = "pip-agw-${local.suffix}"
    gateway_identity         = "id-agw-${local.suffix}"
    waf_policy               = "waf-${local.suffix}"
    policy_assignment_prefix = "pa-${local.suffix}"
    budget                   = "budget-${local.suffix}"
    alert_suffix             = local.suffix
  }
}

output "tags" {
  description = "The tags every resource carries: environment, owner, cost-center, managed-by and workload, plus extra_tags."
  value       = merge(var.extra_tags, local.standard_tags)
}

output "region_code" {
  description = "Three-letter code of the region used in names."
  value       = local.region
}
