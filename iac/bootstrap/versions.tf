# Applied once per subscription with local state (there is no remote state before this
# exists); the resulting terraform.tfstate is kept out of git (see README.md).
terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "= 5.2.0"
    }
  }
}

provider "azurerm" {
  storage_use_azuread            = true
  resource_providers_to_register = ["Microsoft.Storage"]

  features {}
}
