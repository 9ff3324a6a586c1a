variable "resource_group_name" {
  type        = string
  description = "Resource group that holds the workspaces, action group and alerts."
}

variable "location" {
  type        = string
  description = "Azure region of the workspaces and log alerts."
}

variable "names" {
  type = object({
    log_analytics      = string
    monitor_workspace  = string
    action_group       = string
    action_group_short = string
    alert_suffix       = string
  })
  description = "Names of the monitoring resources (from the conventions module)."

  validation {
    condition     = length(var.names.action_group_short) <= 12
    error_message = "names.action_group_short must be at most 12 characters (an Azure limit; the per-severity groups keep its first 10)."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days Log Analytics keeps logs (30-730)."

  validation {
    condition     = var.log_retention_days >= 30 && var.log_retention_days <= 730
    error_message = "log_retention_days must be between 30 and 730."
  }
}

variable "daily_quota_gb" {
  type        = number
  description = "Daily ingestion cap in GB (-1 for none); a cost guard for non-production environments."
  default     = -1

  validation {
    condition     = var.daily_quota_gb == -1 || var.daily_quota_gb >= 0.023
    error_message = "daily_quota_gb must be -1 (no cap) or at least 0.023."
  }
}

variable "alert_email_addresses" {
  type        = list(string)
  description = "Who the action group e-mails when an alert fires (the on-call distribution list)."

  validation {
    condition     = length(var.alert_email_addresses) > 0 && alltrue([for address in var.alert_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$", address))])
    error_message = "alert_email_addresses must hold at least one e-mail address."
  }
}

variable "warning_email_addresses" {
  type        = list(string)
  description = "Who the warning action group e-mails (warning-severity Prometheus alerts); empty means the alert_email_addresses."
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for address in var.warning_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$", address))])
    error_message = "warning_email_addresses must hold e-mail addresses."
  }
}

variable "alert_severity" {
  type        = number
  description = "Severity of the platform alerts (0 critical .. 4 verbose); prod pages at a higher severity than dev."
  default     = 2

  validation {
    condition     = contains([0, 1, 2, 3, 4], var.alert_severity)
    error_message = "alert_severity must be an integer from 0 to 4."
  }
}

variable "aks_cluster_id" {
  type        = string
  description = "Cluster the node-pressure metric alerts and control-plane diagnostics watch."
}

variable "aks_cluster_name" {
  type        = string
  description = "Name of the AKS cluster whose managed-Prometheus series the Prometheus rule groups evaluate."

  validation {
    condition     = length(var.aks_cluster_name) > 0
    error_message = "aks_cluster_name must not be empty."
  }
}

variable "workload_names" {
  type = object({
    namespace = string
    database  = string
    api       = string
  })
  description = "What the charts render, filling the rule files' placeholders: the release's namespace and the database and API charts' fullnames (the database's scrape job is <database>-headless, the API's is <api>)."

  validation {
    condition     = alltrue([for name in values(var.workload_names) : can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", name))])
    error_message = "workload_names must be Kubernetes names (lowercase letters, digits and '-')."
  }
}

variable "backup_alerts_enabled" {
  type        = bool
  description = "Create the backup rule group (backup_groups of the database rule file); the charts render it when backups are on."
  default     = true
}

variable "backup_repo2_alerts_enabled" {
  type        = bool
  description = "Create the second backup repository's rule group (repo2_backup_groups of the database rule file); the chart renders it when backup.repo2 is configured."
  default     = false
  nullable    = false
}

variable "database_alerts" {
  type = object({
    ha_enabled             = bool
    members                = number
    synchronous_mode       = string
    synchronous_node_count = number
    lag_bytes              = number
    pooler_enabled         = bool
    pool_size              = number
  })
  description = "The database chart's values the Patroni and pooler rule groups follow, as the release sets them (ha.enabled, ha.members, ha.synchronousMode, ha.synchronousNodeCount, ha.maximumLagOnFailoverBytes, the pooler's switch and pooler.poolSize): they decide which of ha_groups, ha_sync_groups and pooler_groups exist and fill the rule file's parameters marked \"from values\", as the chart does for its PrometheusRule."
  nullable    = false

  validation {
    condition     = floor(var.database_alerts.members) == var.database_alerts.members && var.database_alerts.members >= 1 && var.database_alerts.members <= 9
    error_message = "database_alerts.members must be a whole number from 1 to 9 (ha.members)."
  }

  validation {
    condition     = contains(["off", "on", "strict"], var.database_alerts.synchronous_mode)
    error_message = "database_alerts.synchronous_mode must be off, on or strict (ha.synchronousMode)."
  }

  validation {
    condition     = floor(var.database_alerts.synchronous_node_count) == var.database_alerts.synchronous_node_count && var.database_alerts.synchronous_node_count >= 1 && var.database_alerts.synchronous_node_count <= 8
    error_message = "database_alerts.synchronous_node_count must be a whole number from 1 to 8 (ha.synchronousNodeCount)."
  }

  validation {
    condition     = floor(var.database_alerts.lag_bytes) == var.database_alerts.lag_bytes && var.database_alerts.lag_bytes >= 0
    error_message = "database_alerts.lag_bytes must be a whole number of bytes, 0 or more (ha.maximumLagOnFailoverBytes)."
  }

  validation {
    condition     = floor(var.database_alerts.pool_size) == var.database_alerts.pool_size && var.database_alerts.pool_size >= 1 && var.database_alerts.pool_size <= 1000
    error_message = "database_alerts.pool_size must be a whole number from 1 to 1000 (pooler.poolSize)."
  }
}

variable "node_pressure_thresholds" {
  type = object({
    cpu_percent    = number
    memory_percent = number
    disk_percent   = number
  })
  description = "Average node utilisation (percent over 15 minutes) above which the node-pressure alerts fire."
  default = {
    cpu_percent    = 85
    memory_percent = 85
    disk_percent   = 80
  }

  validation {
    condition     = alltrue([for value in values(var.node_pressure_thresholds) : value > 0 && value <= 100])
    error_message = "node_pressure_thresholds values must be percentages in (0, 100]."
  }
}

variable "pod_restart_threshold" {
  type        = number
  description = "Container restarts within 15 minutes, per pod, above which the pod-restart alert fires."
  default     = 3

  validation {
    condition     = var.pod_restart_threshold >= 1
    error_message = "pod_restart_threshold must be at least 1."
  }
}

variable "backup_job_prefix" {
  type        = string
  description = "Name prefix of the Kubernetes Jobs that run database backups (their failure raises the failed-backup alert); the platform contract's backup_job_prefix."

  validation {
    condition     = can(regex("^[a-z0-9][-a-z0-9]*-$", var.backup_job_prefix)) && length(var.backup_job_prefix) <= 52
    error_message = "backup_job_prefix must be a Kubernetes name prefix ending in '-' (at most 52 characters, the CronJob name limit)."
  }
}

variable "diagnostic_targets" {
  type = map(object({
    resource_id     = string
    log_categories  = optional(list(string), [])
    category_groups = optional(list(string), [])
  }))
  description = "Resources whose diagnostic logs go to Log Analytics, keyed by a stable name; list explicit categories or category groups (e.g. audit)."
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for target in values(var.diagnostic_targets) : length(target.log_categories) + length(target.category_groups) > 0])
    error_message = "Every diagnostic target needs at least one log category or category group."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (from the conventions module)."
}
