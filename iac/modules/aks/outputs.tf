output "id" {
  description = "Resource ID of the cluster (scope for Azure RBAC role assignments and alerts)."
  value       = azurerm_kubernetes_cluster.this.id
}

output "name" {
  description = "Name of the cluster."
  value       = azurerm_kubernetes_cluster.this.name
}

output "oidc_issuer_url" {
  description = "OIDC issuer URL that federated identity credentials trust for workload identity."
  value       = azurerm_kubernetes_cluster.this.oidc_issuer_url
}

output "kubelet_identity" {
  description = "Kubelet identity (object_id for AcrPull, client_id for the nodes)."
  value = {
    id        = azurerm_user_assigned_identity.kubelet.id
    client_id = azurerm_user_assigned_identity.kubelet.client_id
    object_id = azurerm_user_assigned_identity.kubelet.principal_id
  }
}

output "key_vault_secrets_provider_identity" {
  description = "Identity the Key Vault CSI add-on uses when a SecretProviderClass does not use workload identity."
  value       = azurerm_kubernetes_cluster.this.key_vault_secrets_provider[0].secret_identity[0]
}

output "web_app_routing_identity" {
  description = "Managed identity of the application routing add-on (client_id, object_id, user_assigned_identity_id), null with the add-on off: it loads the Key Vault certificates Ingresses name (kubernetes.azure.com/tls-cert-keyvault-uri) and needs read access on each."
  value       = try(azurerm_kubernetes_cluster.this.web_app_routing[0].web_app_routing_identity[0], null)
}

output "zones" {
  description = "Availability zones of the system pool as planned (sorted; the user pool takes the same)."
  value       = try(sort(azurerm_kubernetes_cluster.this.default_node_pool[0].zones), [])
}

output "private_cluster" {
  description = "Whether the API server is reachable only privately."
  value       = azurerm_kubernetes_cluster.this.private_cluster_enabled
}

output "user_pools" {
  description = "Workload pools by name: the labels a nodeSelector matches, the taints a toleration must admit, zones and Spot."
  value = {
    for name, pool in azurerm_kubernetes_cluster_node_pool.user : name => {
      labels = pool.node_labels
      taints = pool.node_taints
      zones  = pool.zones
      spot   = pool.priority == "Spot"
    }
  }
}

output "outbound_type" {
  description = "How the nodes reach the Internet (loadBalancer, userDefinedRouting or userAssignedNATGateway)."
  value       = azurerm_kubernetes_cluster.this.network_profile[0].outbound_type
}

output "node_resource_group_id" {
  description = "Resource ID of the node resource group AKS creates (where VMs, disks and load balancers are billed)."
  value       = azurerm_kubernetes_cluster.this.node_resource_group_id
}
