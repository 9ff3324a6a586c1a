# Credentials come from the environment (ARM_SUBSCRIPTION_ID, ARM_TENANT_ID, ARM_CLIENT_ID and
# ARM_USE_OIDC or ARM_USE_CLI): nothing about authentication lives in the code.
provider "azurerm" {
  storage_use_azuread = true

  resource_providers_to_register = [
    "Microsoft.ContainerRegistry",
    "Microsoft.ContainerService",
    "Microsoft.Insights",
    "Microsoft.KeyVault",
    "Microsoft.KubernetesConfiguration",
    "Microsoft.ManagedIdentity",
    "Microsoft.Monitor",
    "Microsoft.Network",
    "Microsoft.OperationalInsights",
    "Microsoft.Storage",
  ]

  features {
    key_vault {
      purge_soft_delete_on_destroy    = false
      recover_soft_deleted_key_vaults = true
    }

    resource_group {
      prevent_deletion_if_contains_resources = true
    }
  }
}

provider "random" {}
