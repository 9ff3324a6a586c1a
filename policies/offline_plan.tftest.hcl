# Offline plan of the platform root with one environment's values (terraform test
# -var-file=../environments/<env>/terraform.tfvars): the real provider schemas and validation,
# with azurerm's behaviour mocked, so no Azure credentials are needed. policies/offline_plan.py
# replaces SUBSCRIPTION_ID with the subscription the mocked credentials stand for (the
# environment's own, or another one to prove the root refuses it). The plan tests and the
# policy gate read the plan (terraform test -json -verbose); the asserts here cover the outputs.

mock_provider "azurerm" {
  mock_data "azurerm_client_config" {
    defaults = {
      tenant_id       = "11111111-2222-4333-8444-555555555555"
      object_id       = "66666666-7777-4888-9999-000000000000"
      client_id       = "77777777-8888-4999-8aaa-bbbbbbbbbbbb"
      subscription_id = "SUBSCRIPTION_ID"
    }
  }
}

# random is not mocked: it runs locally without credentials, and mocks cannot yet stand in
# for ephemeral resources (the database password is an ephemeral random_password).

run "plan" {
  command = plan

  assert {
    condition     = output.tags["managed-by"] == "terraform" && output.tags.environment == var.environment
    error_message = "The environment's standard tags are wrong."
  }

  assert {
    condition     = output.aks_cluster_name == "aks-inventory-${var.environment}-weu"
    error_message = "The cluster name does not follow the naming convention."
  }

  # aks_zones is read from the planned system pool (not the variable it was set from), so this
  # fails when the pool is wired to other zones than the environment asks for.
  assert {
    condition     = join(",", output.aks_zones) == join(",", sort(distinct(var.aks.zones)))
    error_message = "The node pools do not use the environment's zones."
  }
}
