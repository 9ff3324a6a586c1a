# terraform init -backend-config=backend.hcl (see iac/bootstrap for the account).
resource_group_name  = "rg-inventory-tfstate-weu"
storage_account_name = "stinventorytfstateweu"
container_name       = "tfstate-dev"
key                  = "inventory/dev.tfstate"
use_azuread_auth     = true
