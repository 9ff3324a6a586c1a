output "resource_group_name" {
  description = "Resource group of the environment."
  value       = module.resource_group.name
}

output "tags" {
  description = "Tags every resource of the environment carries."
  value       = local.tags
}

output "aks_cluster_name" {
  description = "Name of the AKS cluster (az aks get-credentials --name)."
  value       = module.aks.name
}

output "aks_oidc_issuer_url" {
  description = "OIDC issuer of the cluster, trusted by the workload identities."
  value       = module.aks.oidc_issuer_url
}

output "aks_zones" {
  description = "Availability zones of the node pools."
  value       = module.aks.zones
}

output "aks_private_cluster" {
  description = "Whether the API server is private."
  value       = module.aks.private_cluster
}

output "acr_login_server" {
  description = "Registry login server (its name ends in the conventions suffix): where publish pushes, and the charts' image registries (inventory-api.image.registry, postgresql.image.registry, postgresql.exporter.image.registry, postgresql.pooler.image.registry)."
  value       = local.chart_outputs.acr_login_server
}

output "key_vault_name" {
  description = "Key Vault holding the database password (its name ends in the conventions suffix): the charts' inventory-api.database.keyVault.name and postgresql.auth.keyVault.name (SecretProviderClass keyvaultName)."
  value       = local.chart_outputs.key_vault_name
}

output "ingress_certificate_name" {
  description = "Name of the ingress TLS certificate in the Key Vault: the Application Gateway's HTTPS listener and the ingress controller serve it."
  value       = module.key_vault.ingress_certificate.name
}

output "ingress_certificate_uri" {
  description = "Versionless URI of the ingress TLS certificate's secret (https://<vault>.vault.azure.net/secrets/<name>): inventory-api.ingress.tls.keyVaultCertificateUri, which the Ingress hands the application routing add-on (kubernetes.azure.com/tls-cert-keyvault-uri); its identity may read that secret only."
  value       = local.chart_outputs.ingress_certificate_uri
}

output "database_password_secret_name" {
  description = "Name of the Key Vault secret with the database password."
  value       = module.key_vault.database_password_secret_name
}

output "api_identity_client_id" {
  description = "Client ID of the API identity (inventory-api serviceAccount.clientId: API pods and the migrations Job)."
  value       = local.chart_outputs.api_identity_client_id
}

output "database_identity_client_id" {
  description = "Client ID for the database pod's Key Vault access (postgresql.auth.keyVault.clientId)."
  value       = local.chart_outputs.database_identity_client_id
}

output "workload_identity_subjects" {
  description = "ServiceAccounts (system:serviceaccount:<namespace>:<name>) each identity trusts, keyed like the <key>_identity_client_id outputs."
  value = merge(
    module.workload_identity.subjects,
    { backup = module.backup_storage.identity_subjects },
    { for repo in module.backup_repo2 : "backup_repo2" => repo.identity_subjects },
  )
}

output "backup_storage_account_name" {
  description = "Storage account pgBackRest writes to (its name ends in the conventions suffix): postgresql.backup.azure.account."
  value       = local.chart_outputs.backup_storage_account_name
}

output "backup_container_name" {
  description = "Blob container pgBackRest writes to."
  value       = module.backup_storage.container_name
}

output "backup_replication_type" {
  description = "Replication of the backup account."
  value       = module.backup_storage.replication_type
}

output "backup_identity_client_id" {
  description = "Client ID of the backup identity (postgresql.backup.serviceAccount.clientId)."
  value       = local.chart_outputs.backup_identity_client_id
}

output "backup_repo2_storage_account_name" {
  description = "Storage account of the second pgBackRest repository in the paired region (postgresql.backup.repo2.azure.account); null without one."
  value       = local.chart_outputs.backup_repo2_storage_account_name
}

output "backup_repo2_container_name" {
  description = "Blob container of the second repository (postgresql.backup.repo2.azure.container); null without one."
  value       = one(module.backup_repo2[*].container_name)
}

output "backup_repo2_location" {
  description = "Paired region of the second repository; null without one."
  value       = one(module.backup_repo2[*].location)
}

output "backup_repo2_identity_client_id" {
  description = "Client ID of the second repository's identity (postgresql.backup.repo2.clientId: the backup ServiceAccount mints repo2's SAS with it); null without one."
  value       = local.chart_outputs.backup_repo2_identity_client_id
}

output "virtual_network_id" {
  description = "The environment's virtual network: the remote network of the hub's half of each CI peering (ci_virtual_network_ids)."
  value       = module.network.virtual_network_id
}

output "private_endpoints" {
  description = "Which services are reachable only through private endpoints."
  value = {
    key_vault      = module.key_vault.private_endpoint_enabled
    registry       = module.acr.private_endpoint_enabled
    backup_storage = module.backup_storage.private_endpoint_enabled
    backup_repo2   = one(module.backup_repo2[*].private_endpoint_enabled)
  }
}

output "log_analytics_workspace_id" {
  description = "Log Analytics workspace of the environment."
  value       = module.monitoring.log_analytics_workspace_id
}

output "monitor_workspace_id" {
  description = "Azure Monitor workspace receiving managed Prometheus metrics."
  value       = module.monitoring.monitor_workspace_id
}

output "alert_names" {
  description = "Platform alerts of the environment."
  value       = module.monitoring.alert_names
}

output "tenant_id" {
  description = "Entra ID tenant of the subscription; feeds the charts' Key Vault CSI `keyVault.tenantId` values."
  value       = local.chart_outputs.tenant_id
}

output "api_client_id" {
  description = "Audience of the API's access tokens (inventory-api auth.audience): the API app registration's client id, passed through from var.api_client_id."
  value       = local.chart_outputs.api_client_id
}

output "api_server_exposure" {
  description = "Who can reach the API server: private (only inside the virtual network and peered networks) or the authorized public CIDRs."
  value = {
    private            = module.aks.private_cluster
    authorized_ranges  = var.aks.private_cluster_enabled ? [] : var.ci_ip_ranges
    local_accounts_off = true
  }
}

output "egress" {
  description = "How the nodes reach the Internet: outbound type, the one public address (null with the load balancer's own) and the FQDNs a firewall admits by rule."
  value = {
    mode              = var.egress.mode
    outbound_type     = module.aks.outbound_type
    public_ip_address = var.egress.mode == "loadBalancer" ? null : module.egress[0].public_ip_address
    application_rules = var.egress.mode == "loadBalancer" ? tomap({}) : module.egress[0].application_rules
  }
}

output "ingress" {
  description = "How public HTTP(S) reaches the ingress controller: exposure; with application_gateway, the internal address the platform's ingress load balancer must take (service.beta.kubernetes.io/azure-load-balancer-ipv4), the gateway's backend addresses (that same address), its public address (where DNS for the host name points), host name, WAF mode and managed rule sets. The gateway's values are null with a public load balancer."
  value = {
    exposure             = var.ingress.exposure
    private_ip           = local.chart_outputs.ingress_private_ip
    host_name            = local.gateway ? var.ingress.gateway.host_name : null
    public_ip_address    = local.gateway ? module.ingress_gateway[0].public_ip_address : null
    backend_ip_addresses = local.gateway ? module.ingress_gateway[0].backend_ip_addresses : null
    waf_mode             = local.gateway ? module.ingress_gateway[0].waf_mode : null
    managed_rule_sets    = local.gateway ? module.ingress_gateway[0].managed_rule_sets : null
  }
}

output "node_pools" {
  description = "Workload node pools by name: the labels a nodeSelector matches and the taints a toleration must admit (the database pool's taint keeps other pods off)."
  value       = module.aks.user_pools
}

output "cluster_policy" {
  description = "Azure Policy assignments on the cluster and the effect they run with."
  value = {
    effect      = module.cluster_policy.effect
    assignments = module.cluster_policy.assignments
  }
}

output "budgets" {
  description = "Monthly cost budgets (platform and node resource groups) in the billing currency."
  value       = module.budget.monthly_amounts
}

output "delivery_mode" {
  description = "How the workloads reach the cluster: push (the deploy stage's helm upgrade) or flux (the AKS Flux extension reconciles gitops/<environment>)."
  value       = var.delivery.mode
}

output "flux_configuration_name" {
  description = "Name of the Flux configuration (its GitRepository in flux-system; `az k8s-configuration flux show --name`); null in push mode."
  value       = one(module.gitops[*].name)
}

output "flux_delivery" {
  description = "Where the deploy stage promotes and what it waits for in flux mode: the repository URL and environment branch the configuration follows, the folder it reconciles, and the namespace of its objects; null in push mode."
  value = var.delivery.mode == "flux" ? {
    repository_url = var.delivery.repository_url
    branch         = var.delivery.branch
    path           = one(module.gitops[*].path)
    namespace      = one(module.gitops[*].namespace)
  } : null
}
