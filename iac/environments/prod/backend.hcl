# terraform -chdir=iac/platform init -reconfigure -backend-config=../environments/prod/backend.hcl (account: iac/bootstrap).
resource_group_name  = "rg-inventory-tfstate-weu"
storage_account_name = "stinventorytfstateweu"
container_name       = "tfstate-prod"
key                  = "inventory/prod.tfstate"
use_azuread_auth     = true
