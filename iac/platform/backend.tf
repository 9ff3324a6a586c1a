# Partial configuration: `terraform init -reconfigure -backend-config=../environments/<env>/backend.hcl`
# supplies the environment's container and key. State access uses Entra ID, never a storage
# account key.
terraform {
  backend "azurerm" {
    use_azuread_auth = true
  }
}
