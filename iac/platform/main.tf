# The one root of every environment: it only wires modules together. Names and tags come from
# the conventions module; every environment-specific value comes from
# ../environments/<env>/terraform.tfvars (-var-file), its state location from backend.hcl.

# Credentials come from the environment (ARM_*); each environment pins its subscription in its
# tfvars, so dev credentials can never plan or apply staging or prod.
data "azurerm_client_config" "current" {
  lifecycle {
    postcondition {
      condition     = self.subscription_id == var.subscription_id
      error_message = "The credentials are for subscription ${self.subscription_id}, but the ${var.environment} environment lives in ${var.subscription_id}: use the ${var.environment} identity (ARM_SUBSCRIPTION_ID and ARM_CLIENT_ID of that environment)."
    }
  }
}

locals {
  # The names the Helm charts and the pipeline share with Terraform (release, namespace,
  # ServiceAccounts, backup Jobs), declared once in iac/contract.yaml.
  contract         = yamldecode(file("${path.module}/../contract.yaml"))
  namespace        = local.contract.namespace
  service_accounts = local.contract.service_accounts

  names = module.conventions.names
  tags  = module.conventions.tags

  # The database chart's values as the release installs them in this environment: the postgresql
  # chart's defaults, then the umbrella's values.yaml, then its values-<environment>.yaml (later
  # wins, as in helm). They are the one source of the Patroni and pooler alert figures the chart
  # renders into its PrometheusRule and the monitoring module into Azure's rule groups. Only
  # top-level keys of `ha` and `pooler` are read, so merging those maps one level deep is helm's
  # merge.
  umbrella_values = [
    for file_name in ["values.yaml", "values-${var.environment}.yaml"] :
    yamldecode(file("${path.module}/../../helm-charts/inventory-platform/${file_name}"))
  ]
  database_values = concat(
    [yamldecode(file("${path.module}/../../helm-charts/postgresql/values.yaml"))],
    [for values in local.umbrella_values : try(values.postgresql, {})],
  )
  database_ha     = merge([for values in local.database_values : try(values.ha, {})]...)
  database_pooler = merge([for values in local.database_values : try(values.pooler, {})]...)
  # global.pooler.enabled, declared once in the umbrella for both charts, wins over pooler.enabled.
  global_pooler = merge([for values in local.umbrella_values : try(values.global.pooler, {})]...)

  # Terraform's values the umbrella chart needs, keyed by the name of the output that carries
  # each (pipelines/targets/terraform_outputs.py says which chart values each one sets; an
  # attribute of an object output is keyed <output>_<attribute>). The outputs of those names
  # read this map (push: the deploy stage turns them into a values file), and so do Flux's
  # substitutions (flux: the HelmRelease in gitops/<environment> names them as ${key}).
  chart_outputs = {
    api_identity_client_id            = module.workload_identity.client_ids["api"]
    tenant_id                         = data.azurerm_client_config.current.tenant_id
    api_client_id                     = var.api_client_id
    database_identity_client_id       = module.workload_identity.client_ids["database"]
    backup_identity_client_id         = module.backup_storage.identity_client_id
    key_vault_name                    = module.key_vault.name
    acr_login_server                  = module.acr.login_server
    backup_storage_account_name       = module.backup_storage.storage_account_name
    ingress_certificate_uri           = module.key_vault.ingress_certificate.secret_uri
    backup_repo2_storage_account_name = one(module.backup_repo2[*].storage_account_name)
    backup_repo2_identity_client_id   = one(module.backup_repo2[*].identity_client_id)
    ingress_private_ip                = var.ingress.private_ip
  }
  # What this environment does not have is left out of the substitutions (the chart keeps its
  # default), decided from the variables so the set of names is known at plan time.
  absent_chart_outputs = concat(
    var.backup.secondary_location == null ? ["backup_repo2_storage_account_name", "backup_repo2_identity_client_id"] : [],
    var.ingress.private_ip == null ? ["ingress_private_ip"] : [],
  )

  # Flux's substitutions: the chart outputs, and the contract's names (the release, its
  # namespace, the names the deploy stage's contract values file sets, and cert-manager's
  # release and namespace, keyed <section>_<role> with hyphens as underscores), so the
  # HelmReleases restate none of them.
  flux_substitutions = merge(
    { for key, value in local.chart_outputs : key => value if !contains(local.absent_chart_outputs, key) },
    {
      release                     = local.contract.release
      namespace                   = local.namespace
      fullnames_inventory_api     = local.contract.fullnames["inventory-api"]
      fullnames_postgresql        = local.contract.fullnames.postgresql
      service_accounts_api        = local.service_accounts.api
      service_accounts_migrations = local.service_accounts.migrations
      service_accounts_database   = local.service_accounts.database
      service_accounts_backup     = local.service_accounts.backup
      services_database           = local.contract.services.database
      services_pooler             = local.contract.services.pooler
      cert_manager_release        = local.contract.cert_manager.release
      cert_manager_namespace      = local.contract.cert_manager.namespace
    },
  )

  # Where Flux delivers, a firewalled cluster must reach the extension's regional data plane
  # (its configuration and status) and the repository's host over HTTPS.
  gitops_fqdns = var.delivery.mode == "flux" ? {
    gitops = [
      "${var.location}.dp.kubernetesconfiguration.azure.com",
      regex("^https://([^/:]+)", var.delivery.repository_url)[0],
    ]
  } : {}

  private_dns_zones = {
    key_vault = "privatelink.vaultcore.azure.net"
    registry  = "privatelink.azurecr.io"
    blob      = "privatelink.blob.core.windows.net"
  }
  dns_zone_ids = module.network.private_dns_zone_ids

  firewall_ip_ranges = var.private_endpoints_enabled ? [] : var.ci_ip_ranges

  # What both backup repositories share: protection, the ServiceAccount their identities trust
  # and the private endpoint in the environment's own network (also for repo2's account in the
  # paired region).
  backup_repository = {
    immutability = {
      period_days = var.backup.immutability_days
      locked      = var.backup.immutability_locked
    }
    lifecycle_rules = {
      cool_after_days            = var.backup.cool_after_days
      delete_versions_after_days = var.backup.delete_versions_after_days
    }
    service_account = {
      namespace = local.namespace
      name      = local.service_accounts.backup
    }
    private_endpoint = var.private_endpoints_enabled ? {
      subnet_id           = module.network.private_endpoint_subnet_id
      private_dns_zone_id = local.dns_zone_ids[local.private_dns_zones.blob]
      location            = var.location
    } : null
  }

  # The node subnet admits exactly the ingress path: Internet on 80/443 to a public ingress load
  # balancer, or only the Application Gateway's subnet to the internal ingress address. The rest
  # of the network (peered ones included, which Azure's default rules admit) is denied that
  # address, so nothing inside reaches the API around the WAF.
  gateway = var.ingress.exposure == "application_gateway"
  node_ingress = local.gateway ? tomap({
    ingress-via-gateway = {
      priority    = 200
      source      = var.ingress.gateway.subnet_cidr
      destination = var.ingress.private_ip
      ports       = ["80", "443"]
      access      = "Allow"
    }
    ingress-around-gateway = {
      priority    = 210
      source      = "VirtualNetwork"
      destination = var.ingress.private_ip
      ports       = ["80", "443"]
      access      = "Deny"
    }
    }) : tomap({
    ingress-from-internet = {
      priority    = 200
      source      = "Internet"
      destination = "*"
      ports       = ["80", "443"]
      access      = "Allow"
    }
  })
}

module "conventions" {
  source = "../modules/conventions"

  subscription_id = var.subscription_id
  workload        = var.workload
  environment     = var.environment
  location        = var.location
  owner           = var.owner
  cost_center     = var.cost_center
}

# The same conventions for the paired region of the second backup repository (repo2): its
# account and identity are named after the region they live in.
module "conventions_repo2" {
  source = "../modules/conventions"
  count  = var.backup.secondary_location == null ? 0 : 1

  subscription_id = var.subscription_id
  workload        = var.workload
  environment     = var.environment
  location        = var.backup.secondary_location
  owner           = var.owner
  cost_center     = var.cost_center
}

module "resource_group" {
  source = "../modules/resource-group"

  name                = local.names.resource_group
  location            = var.location
  delete_lock_enabled = var.resource_group_delete_lock
  tags                = local.tags
}

module "network" {
  source = "../modules/network"

  resource_group_name          = module.resource_group.name
  location                     = var.location
  names                        = local.names
  address_space                = var.network.address_space
  node_subnet_cidr             = var.network.node_subnet_cidr
  private_endpoint_subnet_cidr = var.network.private_endpoint_subnet_cidr
  private_dns_zones            = var.private_endpoints_enabled ? toset(values(local.private_dns_zones)) : toset([])
  node_ingress                 = local.node_ingress
  hub_virtual_network_ids      = var.ci_virtual_network_ids
  tags                         = local.tags
}

module "egress" {
  source = "../modules/egress"
  count  = var.egress.mode == "loadBalancer" ? 0 : 1

  mode                 = var.egress.mode
  resource_group_name  = module.resource_group.name
  location             = var.location
  names                = merge(local.names, { public_ip = local.names.egress_public_ip, route_table = local.names.node_route_table })
  virtual_network_name = module.network.virtual_network_name
  node_subnet_id       = module.network.node_subnet_id
  node_subnet_cidr     = var.network.node_subnet_cidr
  zones                = var.aks.zones
  workload_fqdns       = merge(var.egress.workload_fqdns, local.gitops_fqdns)
  tags                 = local.tags

  firewall = var.egress.mode == "firewall" ? {
    subnet_cidr = var.egress.firewall_subnet_cidr
    sku_tier    = var.egress.firewall_sku_tier
  } : null
}

module "ingress_gateway" {
  source = "../modules/ingress-gateway"
  count  = local.gateway ? 1 : 0

  resource_group_name  = module.resource_group.name
  location             = var.location
  virtual_network_name = module.network.virtual_network_name
  address_space        = var.network.address_space
  subnet_cidr          = var.ingress.gateway.subnet_cidr
  zones                = var.aks.zones
  host_name            = var.ingress.gateway.host_name
  backend_ip_address   = var.ingress.private_ip
  tags                 = local.tags

  names = {
    gateway    = local.names.application_gateway
    subnet     = local.names.gateway_subnet
    nsg        = local.names.gateway_nsg
    public_ip  = local.names.gateway_public_ip
    waf_policy = local.names.waf_policy
    identity   = local.names.gateway_identity
  }

  other_subnet_cidrs = {
    for purpose, cidr in {
      nodes             = var.network.node_subnet_cidr
      private_endpoints = var.network.private_endpoint_subnet_cidr
      firewall          = var.egress.firewall_subnet_cidr
    } : purpose => cidr if cidr != null
  }

  autoscale = {
    min_capacity = var.ingress.gateway.min_capacity
    max_capacity = var.ingress.gateway.max_capacity
  }

  waf = {
    mode = var.ingress.gateway.waf_mode
  }

  # The one ingress certificate of the environment, which the ingress controller serves too.
  tls_certificate = module.key_vault.ingress_certificate
}

module "monitoring" {
  source = "../modules/monitoring"

  resource_group_name   = module.resource_group.name
  location              = var.location
  names                 = local.names
  log_retention_days    = var.monitoring.log_retention_days
  daily_quota_gb        = var.monitoring.daily_quota_gb
  alert_email_addresses = var.monitoring.alert_email_addresses
  alert_severity        = var.monitoring.alert_severity
  backup_job_prefix     = local.contract.backup_job_prefix
  aks_cluster_id        = module.aks.id
  aks_cluster_name      = module.aks.name
  tags                  = local.tags

  # The second repository's rule group exists where the repository does.
  backup_repo2_alerts_enabled = var.backup.secondary_location != null

  # The Patroni, synchronous-standby and pooler rule groups follow the database chart's values.
  database_alerts = {
    ha_enabled             = local.database_ha.enabled
    members                = local.database_ha.members
    synchronous_mode       = local.database_ha.synchronousMode
    synchronous_node_count = local.database_ha.synchronousNodeCount
    lag_bytes              = local.database_ha.maximumLagOnFailoverBytes
    pooler_enabled         = try(local.global_pooler.enabled, local.database_pooler.enabled)
    pool_size              = local.database_pooler.poolSize
  }

  # The charts' fullnames from the contract: they fill the rule files' scrape-job selectors.
  workload_names = {
    namespace = local.namespace
    database  = local.contract.fullnames.postgresql
    api       = local.contract.fullnames["inventory-api"]
  }

  diagnostic_targets = merge({
    aks = {
      resource_id    = module.aks.id
      log_categories = ["kube-audit-admin", "guard", "cluster-autoscaler"]
    }
    key_vault = {
      resource_id     = module.key_vault.id
      category_groups = ["audit"]
    }
    registry = {
      resource_id     = module.acr.id
      category_groups = ["audit"]
    }
    backup_blobs = {
      resource_id     = "${module.backup_storage.storage_account_id}/blobServices/default"
      category_groups = ["audit"]
    }
    }, { for repo in module.backup_repo2 : "backup_repo2_blobs" => {
      resource_id     = "${repo.storage_account_id}/blobServices/default"
      category_groups = ["audit"]
      } }, var.egress.mode == "firewall" ? tomap({
      firewall = {
        resource_id     = module.egress[0].firewall_id
        category_groups = ["allLogs"]
      }
      }) : tomap({}), local.gateway ? tomap({
      # WAF matches and blocks, access and health logs.
      application_gateway = {
        resource_id     = module.ingress_gateway[0].id
        category_groups = ["allLogs"]
      }
  }) : tomap({}))
}

module "aks" {
  source = "../modules/aks"

  resource_group_name             = module.resource_group.name
  location                        = var.location
  names                           = local.names
  tenant_id                       = data.azurerm_client_config.current.tenant_id
  admin_group_object_ids          = var.aks.admin_group_object_ids
  kubernetes_version              = var.aks.kubernetes_version
  sku_tier                        = var.aks.sku_tier
  zones                           = var.aks.zones
  node_subnet_id                  = module.network.node_subnet_id
  system_pool                     = var.aks.system_pool
  user_pools                      = var.aks.user_pools
  defender_enabled                = var.aks.defender_enabled
  container_insights              = var.aks.container_insights
  outbound_type                   = var.egress.mode == "loadBalancer" ? "loadBalancer" : module.egress[0].outbound_type
  private_cluster_enabled         = var.aks.private_cluster_enabled
  api_server_authorized_ip_ranges = var.aks.private_cluster_enabled ? [] : var.ci_ip_ranges
  automatic_upgrade_channel       = var.aks.automatic_upgrade_channel
  node_os_upgrade_channel         = var.aks.node_os_upgrade_channel
  maintenance_window              = var.aks.maintenance_window
  log_analytics_workspace_id      = module.monitoring.log_analytics_workspace_id
  monitor_workspace_id            = module.monitoring.monitor_workspace_id
  tags                            = local.tags

  # Behind the Application Gateway the charts create the one controller (an internal load
  # balancer at ingress.private_ip, the gateway's backend); the add-on's default would be a
  # second, unpinned one.
  web_app_routing = {
    default_nginx_controller = local.gateway ? "None" : "External"
  }

  # The cluster is created only once its subnet's egress path (route or NAT gateway) exists.
  depends_on = [module.egress]
}

# The workload pool was a single resource before pools became a map.
moved {
  from = module.aks.azurerm_kubernetes_cluster_node_pool.user
  to   = module.aks.azurerm_kubernetes_cluster_node_pool.user["user"]
}

module "cluster_policy" {
  source = "../modules/cluster-policy"

  cluster_id         = module.aks.id
  name_prefix        = local.names.policy_assignment_prefix
  effect             = var.cluster_policy.effect
  allowed_registries = concat([local.names.container_registry_host], var.cluster_policy.extra_allowed_registries)
}

module "budget" {
  source = "../modules/budget"

  name_prefix       = local.names.budget
  start_month       = var.budget.start_month
  actual_thresholds = var.budget.actual_thresholds
  contact_emails    = var.monitoring.alert_email_addresses
  action_group_ids  = [module.monitoring.action_group_ids.warning] # cost is not a page

  budgets = {
    platform = {
      resource_group_id = module.resource_group.id
      monthly_amount    = var.budget.platform_monthly
    }
    nodes = {
      resource_group_id = module.aks.node_resource_group_id
      monthly_amount    = var.budget.nodes_monthly
    }
  }
}

module "acr" {
  source = "../modules/acr"

  resource_group_name      = module.resource_group.name
  location                 = var.location
  name                     = local.names.container_registry
  sku                      = var.acr.sku
  zone_redundancy_enabled  = var.acr.zone_redundancy_enabled
  georeplication_locations = var.acr.georeplication_locations
  untagged_retention_days  = var.acr.untagged_retention_days
  kubelet_object_id        = module.aks.kubelet_identity.object_id
  tags                     = local.tags

  private_endpoint = var.private_endpoints_enabled ? {
    name                = "${local.names.private_endpoint_prefix}-registry"
    subnet_id           = module.network.private_endpoint_subnet_id
    private_dns_zone_id = local.dns_zone_ids[local.private_dns_zones.registry]
  } : null
}

module "workload_identity" {
  source = "../modules/workload-identity"

  resource_group_name = module.resource_group.name
  location            = var.location
  name_prefix         = local.names.workload_identity_prefix
  oidc_issuer_url     = module.aks.oidc_issuer_url
  tags                = local.tags

  # Keyed like the chart values they feed (api_identity_client_id -> inventory-api's
  # serviceAccount.clientId, database_identity_client_id -> postgresql.auth.keyVault.clientId).
  # The database identity also trusts the backup ServiceAccount: with backups on, the database
  # pod and the backup jobs run under it and read the password through the database identity.
  workloads = {
    api = {
      namespace        = local.namespace
      service_accounts = { for role in ["api", "migrations"] : role => local.service_accounts[role] }
    }
    database = {
      namespace        = local.namespace
      service_accounts = { for role in ["database", "backup"] : role => local.service_accounts[role] }
    }
  }
}

# Credentials were keyed by workload alone, then by ServiceAccount name; now by role.
moved {
  from = module.workload_identity.azurerm_federated_identity_credential.this["api"]
  to   = module.workload_identity.azurerm_federated_identity_credential.this["api/inventory-api"]
}

moved {
  from = module.workload_identity.azurerm_federated_identity_credential.this["api/inventory-api"]
  to   = module.workload_identity.azurerm_federated_identity_credential.this["api/api"]
}

moved {
  from = module.workload_identity.azurerm_federated_identity_credential.this["api/inventory-api-migrations"]
  to   = module.workload_identity.azurerm_federated_identity_credential.this["api/migrations"]
}

moved {
  from = module.workload_identity.azurerm_federated_identity_credential.this["database/inventory-postgresql"]
  to   = module.workload_identity.azurerm_federated_identity_credential.this["database/database"]
}

moved {
  from = module.workload_identity.azurerm_federated_identity_credential.this["database/inventory-postgresql-backup"]
  to   = module.workload_identity.azurerm_federated_identity_credential.this["database/backup"]
}

module "key_vault" {
  source = "../modules/keyvault"

  resource_group_name        = module.resource_group.name
  location                   = var.location
  name                       = local.names.key_vault
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  soft_delete_retention_days = var.key_vault.soft_delete_retention_days
  database_password_version  = var.key_vault.database_password_version
  allowed_ip_ranges          = local.firewall_ip_ranges
  node_subnet_id             = module.network.node_subnet_id
  deployer_object_id         = data.azurerm_client_config.current.object_id
  tags                       = local.tags

  secret_reader_principal_ids = {
    api      = module.workload_identity.principal_ids["api"]
    database = module.workload_identity.principal_ids["database"]
  }
  # The database pod (WAL archiving) and the backup jobs both run under the database identity.
  backup_passphrase_reader_principal_ids = {
    database = module.workload_identity.principal_ids["database"]
  }

  # The ingress certificate: imported before the first apply, or self-signed by Key Vault where
  # the environment asks for it; the application routing add-on loads it into the ingress
  # controller (the Ingress names it by kubernetes.azure.com/tls-cert-keyvault-uri).
  ingress_certificate = {
    name        = local.names.ingress_certificate
    self_signed = var.ingress.certificate.source == "self_signed" ? { dns_names = var.ingress.certificate.dns_names } : null
  }
  ingress_certificate_reader_principal_ids = {
    app_routing = module.aks.web_app_routing_identity.object_id
  }

  private_endpoint = var.private_endpoints_enabled ? {
    name                = "${local.names.private_endpoint_prefix}-vault"
    subnet_id           = module.network.private_endpoint_subnet_id
    private_dns_zone_id = local.dns_zone_ids[local.private_dns_zones.key_vault]
  } : null
}

module "backup_storage" {
  source = "../modules/backup-storage"

  resource_group_name = module.resource_group.name
  location            = var.location
  environment         = var.environment
  replication_type    = var.backup.replication_type
  soft_delete_days    = var.backup.soft_delete_days
  allowed_ip_ranges   = local.firewall_ip_ranges
  node_subnet_id      = module.network.node_subnet_id
  oidc_issuer_url     = module.aks.oidc_issuer_url
  tags                = local.tags

  names = {
    storage_account  = local.names.backup_storage
    identity         = local.names.backup_identity
    private_endpoint = "${local.names.private_endpoint_prefix}-backup-blob"
  }

  immutability     = local.backup_repository.immutability
  lifecycle_rules  = local.backup_repository.lifecycle_rules
  service_account  = local.backup_repository.service_account
  private_endpoint = local.backup_repository.private_endpoint
}

# The second pgBackRest repository (repo2) in the paired region: the same module and protection
# as the primary, its own account, container and identity (federated to the same backup
# ServiceAccount, Storage Blob Data Contributor on its own container only). Reached like the
# primary: through a private endpoint in the environment's own network, or the firewalled public
# endpoint (node subnet via its Microsoft.Storage service endpoint, CI ranges).
module "backup_repo2" {
  source = "../modules/backup-storage"
  count  = var.backup.secondary_location == null ? 0 : 1

  resource_group_name = module.resource_group.name
  location            = var.backup.secondary_location
  environment         = var.environment
  replication_type    = var.backup.replication_type
  soft_delete_days    = var.backup.soft_delete_days
  allowed_ip_ranges   = local.firewall_ip_ranges
  node_subnet_id      = module.network.node_subnet_id
  oidc_issuer_url     = module.aks.oidc_issuer_url
  tags                = local.tags

  names = {
    storage_account  = module.conventions_repo2[0].names.backup_storage
    identity         = module.conventions_repo2[0].names.backup_identity
    private_endpoint = "${local.names.private_endpoint_prefix}-backup-repo2-blob"
  }

  immutability     = local.backup_repository.immutability
  lifecycle_rules  = local.backup_repository.lifecycle_rules
  service_account  = local.backup_repository.service_account
  private_endpoint = local.backup_repository.private_endpoint
}

# GitOps delivery: where the environment's mode is flux, the AKS Flux extension reconciles
# gitops/<environment> of the repository, with Terraform's values substituted into it. Named
# after the release it delivers; push environments plan nothing here.
module "gitops" {
  source = "../modules/gitops"
  count  = var.delivery.mode == "flux" ? 1 : 0

  cluster_id    = module.aks.id
  name          = local.contract.release
  path          = "gitops/${var.environment}"
  substitutions = local.flux_substitutions

  repository = {
    url    = var.delivery.repository_url
    branch = var.delivery.branch
  }

  source_identity = {
    name_prefix         = local.names.workload_identity_prefix
    resource_group_name = module.resource_group.name
    location            = var.location
    oidc_issuer_url     = module.aks.oidc_issuer_url
    registry_id         = module.acr.id
    tags                = local.tags
  }
}
