variable "resource_group_name" {
  type        = string
  description = "Resource group that holds the cluster and its identities."
}

variable "location" {
  type        = string
  description = "Azure region of the cluster."
}

variable "names" {
  type = object({
    aks                      = string
    aks_dns_prefix           = string
    aks_node_resource_group  = string
    aks_control_plane_id     = string
    aks_kubelet_id           = string
    data_collection_endpoint = string
    data_collection_rule     = string
  })
  description = "Names of the cluster resources (from the conventions module)."
}

variable "tenant_id" {
  type        = string
  description = "Entra ID tenant whose users and groups sign in to the cluster."

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.tenant_id))
    error_message = "tenant_id must be a lowercase GUID."
  }
}

variable "admin_group_object_ids" {
  type        = list(string)
  description = "Entra ID groups that get cluster-admin through Azure RBAC (break-glass); day-to-day access is granted with Azure role assignments."

  validation {
    condition     = length(var.admin_group_object_ids) > 0 && alltrue([for id in var.admin_group_object_ids : can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", id))])
    error_message = "admin_group_object_ids must hold at least one lowercase GUID: local accounts are disabled, so an Entra ID admin group is the only way in."
  }
}

variable "kubernetes_version" {
  type        = string
  description = "Kubernetes version: MAJOR.MINOR (patches follow the patch channel) or MAJOR.MINOR.PATCH (with the node-image or none channel); a precondition refuses a channel that would move a pinned part."

  validation {
    condition     = can(regex("^1\\.[0-9]{2}(\\.[0-9]{1,2})?$", var.kubernetes_version))
    error_message = "kubernetes_version must be MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. 1.33 or 1.33.2."
  }
}

variable "sku_tier" {
  type        = string
  description = "Control-plane tier: Free (no SLA) or Standard (uptime SLA)."
  default     = "Standard"

  validation {
    condition     = contains(["Free", "Standard", "Premium"], var.sku_tier)
    error_message = "sku_tier must be one of Free, Standard, Premium."
  }
}

variable "zones" {
  type        = list(string)
  description = "Availability zones for both node pools (empty list for regions or environments without zones)."

  validation {
    condition     = alltrue([for zone in var.zones : contains(["1", "2", "3"], zone)]) && length(distinct(var.zones)) == length(var.zones)
    error_message = "zones must be distinct values from \"1\", \"2\", \"3\"."
  }
}

variable "node_subnet_id" {
  type        = string
  description = "Subnet for the nodes (Azure CNI overlay: pods use pod_cidr, not this subnet)."
}

variable "pod_cidr" {
  type        = string
  description = "Overlay CIDR for pod addresses; must not overlap the virtual network or service_cidr."
  default     = "192.168.0.0/16"

  validation {
    condition     = can(cidrhost(var.pod_cidr, 0))
    error_message = "pod_cidr must be an IPv4 CIDR."
  }
}

variable "service_cidr" {
  type        = string
  description = "CIDR for Kubernetes services; dns_service_ip is its tenth address."
  default     = "172.16.0.0/16"

  validation {
    condition     = can(cidrhost(var.service_cidr, 10))
    error_message = "service_cidr must be an IPv4 CIDR with at least 16 addresses."
  }
}

variable "system_pool" {
  type = object({
    vm_size    = string
    min_count  = number
    max_count  = number
    max_pods   = optional(number, 110)
    os_disk_gb = optional(number, 128)
  })
  description = "System node pool (tainted CriticalAddonsOnly): VM size and autoscaler bounds."

  validation {
    condition     = var.system_pool.min_count >= 1 && var.system_pool.max_count >= var.system_pool.min_count && var.system_pool.max_count <= 100
    error_message = "system_pool needs 1 <= min_count <= max_count <= 100."
  }

  validation {
    condition     = var.system_pool.max_pods >= 50 && var.system_pool.max_pods <= 250
    error_message = "system_pool.max_pods must be between 50 and 250."
  }
}

variable "user_pools" {
  type = map(object({
    vm_size    = string
    min_count  = number
    max_count  = number
    max_pods   = optional(number, 110)
    os_disk_gb = optional(number, 128)
    zones      = optional(list(string))
    labels     = optional(map(string), {})
    taints     = optional(list(string), [])
    spot       = optional(bool, false)
  }))
  description = "Workload node pools by name (1-9 lowercase letters and digits): VM size, autoscaler bounds, labels, taints (KEY=VALUE:EFFECT), zones (default: the cluster's) and whether the pool runs on evictable Spot capacity."

  validation {
    condition     = length(var.user_pools) > 0 && alltrue([for name in keys(var.user_pools) : can(regex("^[a-z][a-z0-9]{0,8}$", name))])
    error_message = "user_pools needs at least one pool, named with 1-9 lowercase letters and digits starting with a letter (AKS allows 12 characters and rotation appends tmp)."
  }

  validation {
    condition     = alltrue([for pool in values(var.user_pools) : pool.min_count >= 0 && pool.max_count >= max(pool.min_count, 1) && pool.max_count <= 1000])
    error_message = "Every user pool needs 0 <= min_count <= max_count, 1 <= max_count <= 1000."
  }

  validation {
    condition     = alltrue([for pool in values(var.user_pools) : pool.max_pods >= 50 && pool.max_pods <= 250])
    error_message = "Every user pool's max_pods must be between 50 and 250."
  }

  validation {
    condition     = alltrue(flatten([for pool in values(var.user_pools) : [for taint in pool.taints : can(regex("^[a-z0-9.\\/-]+=[A-Za-z0-9._-]*:(NoSchedule|PreferNoSchedule|NoExecute)$", taint))]]))
    error_message = "user_pools taints must look like KEY=VALUE:NoSchedule (or PreferNoSchedule, NoExecute)."
  }

  validation {
    condition     = alltrue(flatten([for pool in values(var.user_pools) : [for zone in coalesce(pool.zones, []) : contains(["1", "2", "3"], zone)]]))
    error_message = "user_pools zones must be values from \"1\", \"2\", \"3\"."
  }
}

variable "outbound_type" {
  type        = string
  description = "How nodes reach the Internet: loadBalancer (the cluster's load balancer SNATs), userDefinedRouting (the node subnet's route table sends 0.0.0.0/0 to a firewall) or userAssignedNATGateway (the node subnet's NAT gateway)."
  default     = "loadBalancer"

  validation {
    condition     = contains(["loadBalancer", "userDefinedRouting", "userAssignedNATGateway"], var.outbound_type)
    error_message = "outbound_type must be loadBalancer, userDefinedRouting or userAssignedNATGateway."
  }
}

variable "defender_enabled" {
  type        = bool
  description = "Run the Defender for Containers sensor, reporting to log_analytics_workspace_id."
  default     = true
  nullable    = false
}

variable "container_insights" {
  type = object({
    interval                 = optional(string, "1m")
    namespace_filtering_mode = optional(string, "Off")
    namespaces               = optional(list(string), [])
  })
  description = "Container Insights collection: interval (1m-30m) and which namespaces (Off: all; Include or Exclude: the listed ones)."
  default     = {}
  nullable    = false

  validation {
    condition     = can(regex("^([1-9]|[12][0-9]|30)m$", var.container_insights.interval))
    error_message = "container_insights.interval must be 1m to 30m."
  }

  validation {
    condition     = contains(["Off", "Include", "Exclude"], var.container_insights.namespace_filtering_mode) && (var.container_insights.namespace_filtering_mode == "Off") == (length(var.container_insights.namespaces) == 0)
    error_message = "container_insights.namespace_filtering_mode must be Off (with no namespaces) or Include/Exclude (with at least one)."
  }
}

variable "host_encryption_enabled" {
  type        = bool
  description = "Encrypt temp and cache disks on the hosts (needs the EncryptionAtHost feature on the subscription)."
  default     = true
  nullable    = false
}

variable "private_cluster_enabled" {
  type        = bool
  description = "Expose the API server only on a private endpoint in the virtual network (then api_server_authorized_ip_ranges must be empty)."
  default     = false
  nullable    = false
}

variable "api_server_authorized_ip_ranges" {
  type        = list(string)
  description = "CIDRs allowed to reach a public API server (the CI agents and the office VPN); must be empty for a private cluster."
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for cidr in var.api_server_authorized_ip_ranges : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "api_server_authorized_ip_ranges must be IPv4 CIDRs and must not contain 0.0.0.0/0."
  }

  validation {
    condition     = var.private_cluster_enabled ? length(var.api_server_authorized_ip_ranges) == 0 : length(var.api_server_authorized_ip_ranges) > 0
    error_message = "A public API server needs at least one authorized IP range; a private cluster takes none."
  }
}

variable "automatic_upgrade_channel" {
  type        = string
  description = "Cluster auto-upgrade channel: patch keeps a pinned MAJOR.MINOR patched; node-image or none leave a pinned MAJOR.MINOR.PATCH alone; stable and rapid move the minor version and so conflict with any pinned version."
  default     = "patch"

  validation {
    condition     = contains(["patch", "stable", "rapid", "node-image", "none"], var.automatic_upgrade_channel)
    error_message = "automatic_upgrade_channel must be one of patch, stable, rapid, node-image, none."
  }
}

variable "node_os_upgrade_channel" {
  type        = string
  description = "Node OS upgrade channel: NodeImage replaces images weekly, SecurityPatch patches in place."
  default     = "NodeImage"

  validation {
    condition     = contains(["NodeImage", "SecurityPatch", "Unmanaged"], var.node_os_upgrade_channel)
    error_message = "node_os_upgrade_channel must be one of NodeImage, SecurityPatch, Unmanaged."
  }
}

variable "maintenance_window" {
  type = object({
    day_of_week = string
    start_time  = string
    duration    = optional(number, 4)
    utc_offset  = optional(string, "+00:00")
  })
  description = "Weekly window for cluster upgrades; node OS upgrades use the same time on the previous day."

  validation {
    condition     = contains(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"], var.maintenance_window.day_of_week)
    error_message = "maintenance_window.day_of_week must be a weekday name such as Sunday."
  }

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]$", var.maintenance_window.start_time)) && var.maintenance_window.duration >= 4 && var.maintenance_window.duration <= 24
    error_message = "maintenance_window.start_time must be HH:MM and duration 4-24 hours (AKS needs at least 4)."
  }
}

variable "web_app_routing" {
  type = object({
    enabled                  = optional(bool, true)
    default_nginx_controller = optional(string, "External")
    dns_zone_ids             = optional(list(string), [])
  })
  default     = {}
  description = "Application routing add-on (managed NGINX, IngressClass webapprouting.kubernetes.azure.com, which the charts' Ingress uses): on by default; the default controller's load balancer (External, Internal, AnnotationControlled or None) and the Azure DNS zones it may manage records in."

  validation {
    condition     = contains(["AnnotationControlled", "External", "Internal", "None"], var.web_app_routing.default_nginx_controller)
    error_message = "web_app_routing.default_nginx_controller must be AnnotationControlled, External, Internal or None."
  }

  validation {
    condition     = alltrue([for id in var.web_app_routing.dns_zone_ids : can(regex("(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.Network/(dnszones|privateDnsZones)/[^/]+$", id))])
    error_message = "web_app_routing.dns_zone_ids must be resource IDs of Azure DNS or private DNS zones."
  }
}

variable "log_analytics_workspace_id" {
  type        = string
  description = "Log Analytics workspace for Container Insights."
}

variable "monitor_workspace_id" {
  type        = string
  description = "Azure Monitor workspace that receives managed Prometheus metrics."
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (from the conventions module)."
}
