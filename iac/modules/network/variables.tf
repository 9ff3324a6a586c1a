variable "resource_group_name" {
  type        = string
  description = "Resource group that holds the network."
}

variable "location" {
  type        = string
  description = "Azure region of the network."
}

variable "names" {
  type = object({
    virtual_network         = string
    node_subnet             = string
    private_endpoint_subnet = string
    node_nsg                = string
    private_endpoint_nsg    = string
  })
  description = "Names of the network resources (from the conventions module)."
}

variable "address_space" {
  type        = string
  description = "CIDR of the virtual network, e.g. 10.10.0.0/16."

  validation {
    condition     = can(cidrhost(var.address_space, 0)) ? tonumber(split("/", var.address_space)[1]) <= 24 : false
    error_message = "address_space must be an IPv4 CIDR of /24 or larger, e.g. 10.10.0.0/16."
  }
}

variable "node_subnet_cidr" {
  type        = string
  description = "CIDR of the AKS node subnet, inside address_space. With Azure CNI overlay only nodes take addresses here."

  validation {
    condition     = can(cidrhost(var.node_subnet_cidr, 0)) ? tonumber(split("/", var.node_subnet_cidr)[1]) <= 26 : false
    error_message = "node_subnet_cidr must be an IPv4 CIDR of /26 or larger (room for nodes and surge during upgrades)."
  }
}

variable "private_endpoint_subnet_cidr" {
  type        = string
  description = "CIDR of the private-endpoint subnet, inside address_space."

  validation {
    condition     = can(cidrhost(var.private_endpoint_subnet_cidr, 0)) ? tonumber(split("/", var.private_endpoint_subnet_cidr)[1]) <= 28 : false
    error_message = "private_endpoint_subnet_cidr must be an IPv4 CIDR of /28 or larger."
  }
}

variable "private_dns_zones" {
  type        = set(string)
  description = "Private DNS zones to create and link to the network, one per private-endpoint service (empty when the environment uses no private endpoints)."
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for zone in var.private_dns_zones : startswith(zone, "privatelink.")])
    error_message = "private_dns_zones must be privatelink.* zones, e.g. privatelink.vaultcore.azure.net."
  }
}

variable "hub_virtual_network_ids" {
  type        = map(string)
  description = "Hub virtual networks (by a short name) whose hosts use this network's private endpoints, e.g. the CI agents' network: each is peered from this network and linked to every private DNS zone."
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for name, id in var.hub_virtual_network_ids : can(regex("^[a-z][a-z0-9-]{0,40}$", name)) && can(regex("(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.Network/virtualNetworks/[^/]+$", id))])
    error_message = "hub_virtual_network_ids must map lowercase names to virtual network resource IDs."
  }
}

variable "node_ingress" {
  type = map(object({
    priority    = number
    source      = string
    destination = string
    ports       = list(string)
    access      = optional(string, "Allow")
  }))
  description = "Inbound TCP rules of the node subnet, by rule name: the ingress path (Allow) and what must not bypass it (Deny, e.g. the rest of the network to an address only a gateway may reach); every other Internet packet is denied at priority 4096."
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for rule in values(var.node_ingress) : rule.priority >= 100 && rule.priority < 4096 && length(rule.ports) > 0 && alltrue([for port in rule.ports : can(regex("^[0-9]{1,5}$", port))])])
    error_message = "node_ingress rules need a priority from 100 to 4095 and at least one single destination port (no ranges, no *)."
  }

  validation {
    condition     = alltrue([for rule in values(var.node_ingress) : contains(["Allow", "Deny"], rule.access)])
    error_message = "node_ingress access must be Allow or Deny."
  }

  validation {
    condition     = alltrue([for rule in values(var.node_ingress) : rule.source != "*" && rule.source != "0.0.0.0/0"])
    error_message = "node_ingress sources must be named (Internet, a CIDR or a service tag), never * or 0.0.0.0/0."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (from the conventions module)."
}
