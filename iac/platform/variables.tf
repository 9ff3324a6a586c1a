# Every difference between environments is a value in ../environments/<env>/terraform.tfvars
# (the policy gate checks that each of them sets only variables declared here).

variable "environment" {
  type        = string
  description = "Environment name: dev, staging or prod."

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, staging, prod."
  }
}

variable "subscription_id" {
  type        = string
  description = "The environment's own subscription; a plan or apply whose credentials point at another subscription stops before touching anything."

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.subscription_id))
    error_message = "subscription_id must be a lowercase GUID."
  }
}

variable "location" {
  type        = string
  description = "Azure region of the environment."
}

variable "workload" {
  type        = string
  description = "Workload name used in every resource name."
  default     = "inventory"
}

variable "owner" {
  type        = string
  description = "Owner tag: the accountable team's address."
}

variable "cost_center" {
  type        = string
  description = "Cost-center tag, e.g. CC-1234."
}

variable "resource_group_delete_lock" {
  type        = bool
  description = "Protect the environment's resource group with a CanNotDelete lock."
  default     = false
}

variable "network" {
  type = object({
    address_space                = string
    node_subnet_cidr             = string
    private_endpoint_subnet_cidr = string
  })
  description = "Address plan of the environment's virtual network."
}

variable "private_endpoints_enabled" {
  type        = bool
  description = "Reach Key Vault, the registry and backup storage only through private endpoints (public access disabled)."
}

variable "ci_virtual_network_ids" {
  type        = map(string)
  description = "The virtual networks the CI agents run in, by a short name (e.g. ci-hub = <VNet resource ID>). With private endpoints, Key Vault and the registry refuse public access, yet the agents write the database password secret and push images: each network is peered from the environment's network and linked to every private DNS zone, so both go through the private endpoints. Required with private endpoints, empty without."
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for name, id in var.ci_virtual_network_ids : can(regex("^[a-z][a-z0-9-]{0,40}$", name)) && can(regex("(?i)^/subscriptions/[0-9a-f-]{36}/resourceGroups/[^/]+/providers/Microsoft\\.Network/virtualNetworks/[^/]+$", id))])
    error_message = "ci_virtual_network_ids must map short lowercase names (letters, digits, hyphens) to virtual network resource IDs (/subscriptions/<GUID>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<name>)."
  }

  validation {
    condition     = !var.private_endpoints_enabled || length(var.ci_virtual_network_ids) > 0
    error_message = "private_endpoints_enabled turns public network access off on Key Vault and the registry, so the CI agents (which write the database password secret and push images) reach them only from a network peered and linked here: set ci_virtual_network_ids to the VNet(s) the agents run in."
  }

  validation {
    condition     = var.private_endpoints_enabled || length(var.ci_virtual_network_ids) == 0
    error_message = "ci_virtual_network_ids is only for private endpoints (they are off here, and the CI agents use the public endpoints behind their firewalls): leave it empty."
  }
}

variable "ci_ip_ranges" {
  type        = list(string)
  description = "Public CIDRs of the CI agents and operators: the authorized API-server ranges and the firewall exceptions of public endpoints."
  default     = []
}

variable "aks" {
  type = object({
    kubernetes_version        = string
    sku_tier                  = string
    zones                     = list(string)
    private_cluster_enabled   = bool
    admin_group_object_ids    = list(string)
    automatic_upgrade_channel = optional(string, "patch")
    node_os_upgrade_channel   = optional(string, "NodeImage")
    system_pool = object({
      vm_size   = string
      min_count = number
      max_count = number
    })
    user_pools = map(object({
      vm_size   = string
      min_count = number
      max_count = number
      zones     = optional(list(string))
      labels    = optional(map(string), {})
      taints    = optional(list(string), [])
      spot      = optional(bool, false)
    }))
    defender_enabled = optional(bool, true)
    container_insights = optional(object({
      interval                 = optional(string, "1m")
      namespace_filtering_mode = optional(string, "Off")
      namespaces               = optional(list(string), [])
    }), {})
    maintenance_window = object({
      day_of_week = string
      start_time  = string
      duration    = optional(number, 4)
    })
  })
  description = "Cluster shape: version, tier, zones, API-server exposure, admin groups, system and workload pools (labels, taints, zones, Spot), Defender sensor, Container Insights collection and maintenance window."
}

variable "egress" {
  type = object({
    mode                 = string
    firewall_subnet_cidr = optional(string)
    firewall_sku_tier    = optional(string, "Standard")
    workload_fqdns       = optional(map(list(string)), {})
  })
  description = "How nodes reach the Internet: loadBalancer (the cluster's load balancer, unfiltered), nat_gateway (one fixed address, unfiltered) or firewall (a route table sends 0.0.0.0/0 to an Azure Firewall that admits only AKS's FQDN tag, its add-ons and workload_fqdns)."

  validation {
    condition     = contains(["loadBalancer", "nat_gateway", "firewall"], var.egress.mode)
    error_message = "egress.mode must be loadBalancer, nat_gateway or firewall."
  }

  validation {
    condition     = (var.egress.mode == "firewall") == (var.egress.firewall_subnet_cidr != null)
    error_message = "egress.firewall_subnet_cidr is required with mode firewall and meaningless otherwise."
  }
}

variable "ingress" {
  type = object({
    exposure   = string
    private_ip = optional(string)
    gateway = optional(object({
      subnet_cidr  = string
      host_name    = string
      min_capacity = number
      max_capacity = number
      waf_mode     = optional(string, "Prevention")
    }))
    certificate = optional(object({
      source    = string
      dns_names = optional(list(string), [])
    }), { source = "imported" })
  })
  description = "How public HTTP(S) reaches the ingress controller: public_load_balancer (the managed NGINX's public load balancer; the node NSG admits Internet on 80/443) or application_gateway (an Application Gateway WAF_v2 in its own subnet forwards to the internal ingress load balancer at private_ip, a node-subnet address; the node NSG admits only the gateway subnet). gateway: the gateway's subnet, the product's host name, autoscale bounds and WAF mode. certificate: how the one ingress TLS certificate (Key Vault, named by the conventions module; the ingress controller and the gateway serve it) gets into the vault: imported (before the first apply, the default) or self_signed (Key Vault issues it for dns_names, the Ingress hosts)."

  validation {
    condition     = contains(["public_load_balancer", "application_gateway"], var.ingress.exposure)
    error_message = "ingress.exposure must be public_load_balancer or application_gateway."
  }

  validation {
    condition     = (var.ingress.exposure == "application_gateway") == (var.ingress.private_ip != null && var.ingress.gateway != null)
    error_message = "ingress.exposure application_gateway needs private_ip (the internal ingress load balancer's address) and gateway (its subnet, host name and capacity); public_load_balancer takes neither."
  }

  validation {
    condition = var.ingress.private_ip == null ? true : try(
      cidrhost("${var.ingress.private_ip}/32", 0) == var.ingress.private_ip &&
      cidrhost("${var.ingress.private_ip}/${split("/", var.network.node_subnet_cidr)[1]}", 0) == cidrhost(var.network.node_subnet_cidr, 0),
      false
    )
    error_message = "ingress.private_ip must be an address in network.node_subnet_cidr: the internal ingress load balancer takes its frontend address from the node subnet."
  }

  validation {
    condition     = contains(["imported", "self_signed"], var.ingress.certificate.source) && (var.ingress.certificate.source == "self_signed") == (length(var.ingress.certificate.dns_names) > 0)
    error_message = "ingress.certificate.source must be imported (the certificate is imported into Key Vault before the first apply; no dns_names) or self_signed with dns_names (the Ingress hosts Key Vault issues it for)."
  }

  validation {
    condition     = var.ingress.exposure != "public_load_balancer" || var.egress.mode != "firewall"
    error_message = "A public ingress load balancer behind a firewall route answers asymmetrically (replies leave through the firewall): use ingress.exposure application_gateway with egress.mode firewall."
  }
}

variable "cluster_policy" {
  type = object({
    effect                   = string
    extra_allowed_registries = optional(list(string), ["mcr.microsoft.com"])
  })
  description = "Azure Policy on the cluster: Deny (refuse) or Audit (report) pods that break the restricted Pod Security Standard or pull from a registry other than the environment's own and the extra ones."
}

variable "budget" {
  type = object({
    platform_monthly  = number
    nodes_monthly     = number
    start_month       = string
    actual_thresholds = optional(list(number), [80, 100])
  })
  description = "Monthly cost budgets: the platform resource group and the cluster's node resource group (VMs, disks, load balancers); alerts go to monitoring.alert_email_addresses and the action group."
}

variable "acr" {
  type = object({
    sku                      = string
    zone_redundancy_enabled  = bool
    georeplication_locations = list(string)
    untagged_retention_days  = optional(number, 7)
  })
  description = "Container registry SKU, zone redundancy, geo-replicas and untagged-manifest retention."
}

variable "key_vault" {
  type = object({
    soft_delete_retention_days = number
    database_password_version  = optional(number, 1)
  })
  description = "Key Vault recovery window and the database password generation (bump to rotate)."
}

variable "monitoring" {
  type = object({
    log_retention_days    = number
    daily_quota_gb        = optional(number, -1)
    alert_email_addresses = list(string)
    alert_severity        = number
  })
  description = "Log retention, ingestion cap, who gets alerts and at which severity."
}

variable "backup" {
  type = object({
    replication_type           = string
    soft_delete_days           = number
    immutability_days          = number
    immutability_locked        = bool
    cool_after_days            = number
    delete_versions_after_days = number
    secondary_location         = string
  })
  description = "Database backup storage: replication, soft delete, immutability and lifecycle; secondary_location is the paired region of a second pgBackRest repository (repo2: its own account, container and identity, the same protection) or null for none."

  validation {
    condition     = var.backup.secondary_location != var.location
    error_message = "backup.secondary_location must be another region than location: a second repository in the primary's region does not survive the loss of that region."
  }

  # The Azure region pairs among the regions the conventions module names: the node subnet's
  # Microsoft.Storage service endpoint reaches an account in the paired region, and Azure
  # recovers a pair one region at a time.
  validation {
    condition     = var.backup.secondary_location == null || lookup({ westeurope = "northeurope", northeurope = "westeurope" }, var.location, "") == var.backup.secondary_location
    error_message = "backup.secondary_location must be the paired region of location (westeurope <-> northeurope), or null for no second repository."
  }
}

variable "api_client_id" {
  type        = string
  description = "Application (client) id of the API's Entra ID app registration: the audience of the access tokens the API accepts (its app roles Inventory.Read and Inventory.Write are assigned there). The registration itself is managed outside this root (docs/adr/0016-entra-id-bearer-tokens-validated-in-the-api.md)."

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.api_client_id))
    error_message = "api_client_id must be a lowercase GUID (the app registration's Application (client) ID)."
  }
}

variable "delivery" {
  type = object({
    mode           = string
    repository_url = optional(string)
    branch         = optional(string, "main")
  })
  description = "How the workloads reach the cluster: push (the pipeline's deploy stage runs helm upgrade with the Terraform outputs as values) or flux (the AKS Flux extension reconciles gitops/<environment> of repository_url at branch, the Terraform outputs substituted into its HelmReleases). flux needs repository_url, a public HTTPS URL, and branch deploy/<environment>, where the deploy stage pushes its promotion commits; push takes neither."
  nullable    = false

  validation {
    condition     = contains(["push", "flux"], var.delivery.mode)
    error_message = "delivery.mode must be push or flux."
  }

  validation {
    condition     = var.delivery.mode != "flux" || var.delivery.repository_url != null
    error_message = "delivery.mode flux needs repository_url: the repository whose gitops/<environment> folder Flux reconciles."
  }

  validation {
    condition     = var.delivery.mode != "push" || var.delivery.repository_url == null
    error_message = "delivery.mode push takes no repository_url: the pipeline installs the release, nothing on the cluster reads a repository."
  }

  validation {
    condition     = var.delivery.mode != "flux" || var.delivery.branch == "deploy/${var.environment}"
    error_message = "delivery.branch of a flux environment must be deploy/<environment>: the environment branch only the deploy stage writes, one promotion commit per deploy (main is where reviews merge; a machine commit there would start another build)."
  }
}
