variable "mode" {
  type        = string
  description = "firewall (0.0.0.0/0 routed through an Azure Firewall that admits only listed destinations) or nat_gateway (a fixed outbound address, no filtering)."

  validation {
    condition     = contains(["firewall", "nat_gateway"], var.mode)
    error_message = "mode must be firewall or nat_gateway."
  }
}

variable "resource_group_name" {
  type        = string
  description = "Resource group of the egress resources."
}

variable "location" {
  type        = string
  description = "Azure region (also names the AzureCloud.<region> service tag and the regional Azure Monitor endpoint)."
}

variable "names" {
  type = object({
    public_ip       = string
    firewall        = string
    firewall_policy = string
    firewall_rules  = string
    route_table     = string
    nat_gateway     = string
  })
  description = "Names of the egress resources (from the conventions module)."
}

variable "virtual_network_name" {
  type        = string
  description = "Virtual network that gets the AzureFirewallSubnet."
}

variable "node_subnet_id" {
  type        = string
  description = "Node subnet whose egress this module takes over (route table or NAT gateway association)."
}

variable "node_subnet_cidr" {
  type        = string
  description = "CIDR of the node subnet: the only source the firewall rules admit (pods are SNATed to their node with Azure CNI overlay)."

  validation {
    condition     = can(cidrhost(var.node_subnet_cidr, 0))
    error_message = "node_subnet_cidr must be an IPv4 CIDR."
  }
}

variable "zones" {
  type        = list(string)
  description = "Availability zones of the firewall and its public IP (empty: regional)."
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for zone in var.zones : contains(["1", "2", "3"], zone)])
    error_message = "zones must be values from \"1\", \"2\", \"3\"."
  }
}

variable "firewall" {
  type = object({
    subnet_cidr = string
    sku_tier    = optional(string, "Standard")
  })
  description = "Firewall settings (mode firewall): its subnet (/26 or larger) and tier. Threat intelligence always denies. The firewall carries no inbound path: public HTTP(S) reaches the cluster through the ingress-gateway module."
  default     = null

  validation {
    condition     = var.firewall == null ? true : can(cidrhost(var.firewall.subnet_cidr, 0)) && try(tonumber(split("/", var.firewall.subnet_cidr)[1]) <= 26, false)
    error_message = "firewall.subnet_cidr must be an IPv4 CIDR of /26 or larger (Azure Firewall's minimum)."
  }

  validation {
    condition     = var.firewall == null ? true : contains(["Standard", "Premium"], var.firewall.sku_tier)
    error_message = "firewall.sku_tier must be Standard or Premium."
  }
}

variable "workload_fqdns" {
  type        = map(list(string))
  description = "Destinations the workloads need beyond AKS and its add-ons, by purpose (rule name): FQDNs admitted over HTTPS from the node subnet."
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for name, fqdns in var.workload_fqdns : can(regex("^[a-z][a-z0-9-]{0,39}$", name)) && length(fqdns) > 0 && alltrue([for fqdn in fqdns : can(regex("^(\\*\\.)?([a-z0-9-]+\\.)+[a-z]{2,}$", fqdn))])])
    error_message = "workload_fqdns keys must be lowercase rule names and each value a non-empty list of FQDNs (a leading *. allowed), never * alone."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (from the conventions module)."
}
