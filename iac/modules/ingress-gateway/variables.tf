variable "resource_group_name" {
  type        = string
  description = "Resource group of the gateway and its network resources."
}

variable "location" {
  type        = string
  description = "Azure region of the gateway."
}

variable "names" {
  type = object({
    gateway    = string
    subnet     = string
    nsg        = string
    public_ip  = string
    waf_policy = string
    identity   = string
  })
  description = "Names of the gateway's resources (from the conventions module)."
}

variable "virtual_network_name" {
  type        = string
  description = "Virtual network that gets the gateway's subnet."
}

variable "address_space" {
  type        = string
  description = "CIDR of the virtual network: the gateway's subnet must lie inside it."

  validation {
    condition     = can(cidrhost(var.address_space, 0))
    error_message = "address_space must be an IPv4 CIDR, e.g. 10.30.0.0/16."
  }
}

variable "other_subnet_cidrs" {
  type        = map(string)
  description = "The network's other subnets by purpose (nodes, private endpoints, firewall): the gateway's subnet must overlap none of them."
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for cidr in values(var.other_subnet_cidrs) : can(cidrhost(cidr, 0))])
    error_message = "other_subnet_cidrs must map purposes to IPv4 CIDRs."
  }
}

variable "subnet_cidr" {
  type        = string
  description = "CIDR of the gateway's own subnet (Application Gateway allows nothing else in it): /26 or larger, inside address_space, overlapping no other subnet."

  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0)) && try(tonumber(split("/", var.subnet_cidr)[1]) <= 26, false)
    error_message = "subnet_cidr must be an IPv4 CIDR of /26 or larger (room for the autoscaled instances and Azure's 5 reserved addresses)."
  }

  validation {
    condition = try(
      tonumber(split("/", var.subnet_cidr)[1]) >= tonumber(split("/", var.address_space)[1]) &&
      cidrhost("${split("/", var.subnet_cidr)[0]}/${split("/", var.address_space)[1]}", 0) == cidrhost(var.address_space, 0),
      false
    )
    error_message = "subnet_cidr ${var.subnet_cidr} must lie inside the virtual network's address_space ${var.address_space}."
  }

  validation {
    condition = alltrue([
      for cidr in values(var.other_subnet_cidrs) : try(
        cidrhost("${split("/", var.subnet_cidr)[0]}/${min(tonumber(split("/", var.subnet_cidr)[1]), tonumber(split("/", cidr)[1]))}", 0) !=
        cidrhost("${split("/", cidr)[0]}/${min(tonumber(split("/", var.subnet_cidr)[1]), tonumber(split("/", cidr)[1]))}", 0),
        false
      )
    ])
    error_message = "subnet_cidr ${var.subnet_cidr} overlaps another subnet of the network (${join(", ", [for purpose, cidr in var.other_subnet_cidrs : "${purpose} ${cidr}"])}): pick a free range."
  }
}

variable "zones" {
  type        = list(string)
  description = "Availability zones of the gateway and its public IP (the same zones as the cluster): distinct values from 1, 2, 3; empty for a regional gateway."
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for zone in var.zones : contains(["1", "2", "3"], zone)]) && length(distinct(var.zones)) == length(var.zones)
    error_message = "zones must be distinct values from \"1\", \"2\", \"3\"."
  }
}

variable "autoscale" {
  type = object({
    min_capacity = number
    max_capacity = number
  })
  description = "Instances the gateway autoscales between. min_capacity is what is always running (and billed), at least one per zone keeps every zone serving; max_capacity caps the cost of a traffic spike."

  validation {
    condition     = floor(var.autoscale.min_capacity) == var.autoscale.min_capacity && floor(var.autoscale.max_capacity) == var.autoscale.max_capacity && var.autoscale.min_capacity >= 1 && var.autoscale.max_capacity >= 2 && var.autoscale.max_capacity <= 125 && var.autoscale.min_capacity <= var.autoscale.max_capacity
    error_message = "autoscale needs whole numbers with 1 <= min_capacity <= max_capacity, and max_capacity from 2 to 125 (Application Gateway v2's limits)."
  }

  validation {
    condition     = var.autoscale.min_capacity >= length(var.zones)
    error_message = "autoscale.min_capacity ${var.autoscale.min_capacity} is below the ${length(var.zones)} zones: keep at least one instance per zone."
  }

  validation {
    condition     = try(var.autoscale.max_capacity <= pow(2, 32 - tonumber(split("/", var.subnet_cidr)[1])) - 5, false)
    error_message = "autoscale.max_capacity ${var.autoscale.max_capacity} does not fit subnet ${var.subnet_cidr} (one address per instance, 5 kept by Azure): use a larger subnet or a lower maximum."
  }
}

variable "waf" {
  type = object({
    mode             = optional(string, "Prevention")
    rule_set_type    = optional(string, "Microsoft_DefaultRuleSet")
    rule_set_version = optional(string, "2.1")
  })
  description = "The WAF policy: Prevention (block what the rules match) or Detection (log only), and the managed rule set: Microsoft's Default Rule Set 2.1 (OWASP CRS 3.3 plus Microsoft's threat-intelligence rules) or OWASP CRS 3.2."
  default     = {}
  nullable    = false

  validation {
    condition     = contains(["Prevention", "Detection"], var.waf.mode)
    error_message = "waf.mode must be Prevention or Detection."
  }

  validation {
    condition = contains([
      "Microsoft_DefaultRuleSet/2.1",
      "OWASP/3.2",
    ], "${var.waf.rule_set_type}/${var.waf.rule_set_version}")
    error_message = "waf rule set ${var.waf.rule_set_type} ${var.waf.rule_set_version} is not offered: use Microsoft_DefaultRuleSet 2.1 or OWASP 3.2 (the older sets are no longer updated)."
  }
}

variable "host_name" {
  type        = string
  description = "The product's public host name: the listeners' host, the SNI and certificate name towards the ingress controller, and the health probe's Host header."

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", var.host_name))
    error_message = "host_name must be a lowercase DNS name such as inventory.example.org (no scheme, port or wildcard)."
  }
}

variable "health_path" {
  type        = string
  description = "Path the health probes request through the ingress controller: the API's liveness endpoint."
  default     = "/healthz"

  validation {
    condition     = startswith(var.health_path, "/")
    error_message = "health_path must start with /."
  }
}

variable "backend_ip_address" {
  type        = string
  description = "The internal ingress load balancer's private address, the gateway's only backend."

  validation {
    condition     = can(cidrhost("${var.backend_ip_address}/32", 0))
    error_message = "backend_ip_address must be an IPv4 address (the internal ingress load balancer's)."
  }
}

variable "tls_certificate" {
  type = object({
    name          = string
    key_vault_id  = string
    key_vault_uri = string
  })
  description = "The HTTPS listener's certificate: a Key Vault certificate by name, in the vault with this ID and data-plane URI. The gateway reads its versionless secret, so a renewal in the vault reaches the gateway without a plan."

  validation {
    condition     = can(regex("^[0-9A-Za-z-]{1,127}$", var.tls_certificate.name))
    error_message = "tls_certificate.name must be a Key Vault object name: 1-127 letters, digits and hyphens."
  }

  validation {
    condition     = can(regex("(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.KeyVault/vaults/[^/]+$", var.tls_certificate.key_vault_id)) && startswith(var.tls_certificate.key_vault_uri, "https://") && endswith(var.tls_certificate.key_vault_uri, "/")
    error_message = "tls_certificate needs the vault's resource ID and its URI (https://<vault>.vault.azure.net/, with the trailing slash)."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (from the conventions module)."
}
