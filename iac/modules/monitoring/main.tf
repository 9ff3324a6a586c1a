resource "azurerm_log_analytics_workspace" "this" {
  name                         = var.names.log_analytics
  resource_group_name          = var.resource_group_name
  location                     = var.location
  sku                          = "PerGB2018"
  retention_in_days            = var.log_retention_days
  daily_quota_gb               = var.daily_quota_gb
  local_authentication_enabled = false
  tags                         = var.tags
}

# Managed Prometheus stores cluster metrics here (see the aks module's data collection rule).
resource "azurerm_monitor_workspace" "this" {
  name                = var.names.monitor_workspace
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

resource "azurerm_monitor_action_group" "this" {
  name                = var.names.action_group
  resource_group_name = var.resource_group_name
  short_name          = var.names.action_group_short
  tags                = var.tags

  dynamic "email_receiver" {
    for_each = var.alert_email_addresses
    content {
      name                    = "email-${email_receiver.key}"
      email_address           = email_receiver.value
      use_common_alert_schema = true
    }
  }
}

locals {
  node_pressure = {
    cpu = {
      metric      = "node_cpu_usage_percentage"
      threshold   = var.node_pressure_thresholds.cpu_percent
      description = "Average node CPU above ${var.node_pressure_thresholds.cpu_percent}% for 15 minutes: scale the user pool or find the noisy workload."
    }
    memory = {
      metric      = "node_memory_working_set_percentage"
      threshold   = var.node_pressure_thresholds.memory_percent
      description = "Average node memory working set above ${var.node_pressure_thresholds.memory_percent}% for 15 minutes: evictions are near."
    }
    disk = {
      metric      = "node_disk_usage_percentage"
      threshold   = var.node_pressure_thresholds.disk_percent
      description = "Average node disk usage above ${var.node_pressure_thresholds.disk_percent}% for 15 minutes: image or log growth."
    }
  }

  log_alerts = {
    pod-restarts = {
      description = "A pod restarted more than ${var.pod_restart_threshold} times in 15 minutes (crash loop or OOM kill)."
      query       = <<-KQL
        KubePodInventory
        | where ContainerRestartCount > 0
        | summarize Restarts = max(ContainerRestartCount) - min(ContainerRestartCount) by Namespace, Name
        | where Restarts > ${var.pod_restart_threshold}
      KQL
    }
    failed-backups = {
      description = "A database backup Job (${var.backup_job_prefix}*) failed: the restore point objective is at risk."
      query       = <<-KQL
        KubeEvents
        | where ObjectKind == "Job" and Name startswith "${var.backup_job_prefix}"
        | where Reason in ("BackoffLimitExceeded", "DeadlineExceeded", "Failed")
      KQL
    }
  }
}

resource "azurerm_monitor_metric_alert" "node_pressure" {
  for_each = local.node_pressure

  name                = "alert-node-${each.key}-pressure-${var.names.alert_suffix}"
  resource_group_name = var.resource_group_name
  scopes              = [var.aks_cluster_id]
  description         = each.value.description
  severity            = var.alert_severity
  frequency           = "PT5M"
  window_size         = "PT15M"
  tags                = var.tags

  criteria {
    metric_namespace = "Microsoft.ContainerService/managedClusters"
    metric_name      = each.value.metric
    aggregation      = "Average"
    operator         = "GreaterThan"
    threshold        = each.value.threshold
  }

  action {
    action_group_id = azurerm_monitor_action_group.this.id
  }
}

resource "azurerm_monitor_scheduled_query_rules_alert_v2" "this" {
  for_each = local.log_alerts

  name                 = "alert-${each.key}-${var.names.alert_suffix}"
  resource_group_name  = var.resource_group_name
  location             = var.location
  scopes               = [azurerm_log_analytics_workspace.this.id]
  description          = each.value.description
  severity             = var.alert_severity
  evaluation_frequency = "PT5M"
  window_duration      = "PT15M"
  tags                 = var.tags

  criteria {
    query                   = each.value.query
    time_aggregation_method = "Count"
    operator                = "GreaterThan"
    threshold               = 0

    failing_periods {
      minimum_failing_periods_to_trigger_alert = 1
      number_of_evaluation_periods             = 1
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.this.id]
  }
}

resource "azurerm_monitor_diagnostic_setting" "this" {
  for_each = var.diagnostic_targets

  name                       = "diag-to-${var.names.log_analytics}"
  target_resource_id         = each.value.resource_id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.this.id

  dynamic "enabled_log" {
    for_each = each.value.log_categories
    content {
      category = enabled_log.value
    }
  }

  dynamic "enabled_log" {
    for_each = each.value.category_groups
    content {
      category_group = enabled_log.value
    }
  }
}
