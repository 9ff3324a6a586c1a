output "name" {
  description = "Name of the Flux configuration (and of its GitRepository in flux-system)."
  value       = azurerm_kubernetes_flux_configuration.this.name
}

output "namespace" {
  description = "Namespace of the Flux configuration's objects."
  value       = azurerm_kubernetes_flux_configuration.this.namespace
}

output "extension_version" {
  description = "The pinned version of the microsoft.flux extension."
  value       = azurerm_kubernetes_cluster_extension.flux.version
}

output "path" {
  description = "Folder of the repository the kustomization reconciles."
  value       = var.path
}

output "substitutions" {
  description = "Names of the variables Flux substitutes into the reconciled manifests (values left out: they are the workloads' Terraform outputs)."
  value       = sort(keys(local.substitute))
}

output "source_identity" {
  description = "The identity Flux's source-controller pulls charts with: client_id (what the extension's workload identity uses) and principal_id (what holds AcrPull on the registry)."
  value = {
    client_id    = module.source_identity.client_ids[local.identity]
    principal_id = module.source_identity.principal_ids[local.identity]
  }
}
