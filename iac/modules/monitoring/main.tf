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

# One action group per alert severity: critical alerts page the on-call addresses, warnings go to
# the warning addresses (the on-call ones unless set).
resource "azurerm_monitor_action_group" "by_severity" {
  for_each = local.action_group_addresses

  name                = "${var.names.action_group}-${each.key}"
  resource_group_name = var.resource_group_name
  short_name          = "${substr(var.names.action_group_short, 0, 10)}-${upper(substr(each.key, 0, 1))}"
  tags                = var.tags

  dynamic "email_receiver" {
    for_each = each.value
    content {
      name                    = "email-${email_receiver.key}"
      email_address           = email_receiver.value
      use_common_alert_schema = true
    }
  }
}

# The single action group that came before the per-severity ones carries on as the critical one.
moved {
  from = azurerm_monitor_action_group.this
  to   = azurerm_monitor_action_group.by_severity["critical"]
}

locals {
  action_group_addresses = {
    critical = var.alert_email_addresses
    warning  = coalescelist(var.warning_email_addresses, var.alert_email_addresses)
  }
  # The node-pressure and log alerts notify the group matching their Azure severity.
  platform_action_group_id = azurerm_monitor_action_group.by_severity[var.alert_severity <= 1 ? "critical" : "warning"].id

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
    action_group_id = local.platform_action_group_id
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
    action_groups = [local.platform_action_group_id]
  }
}

# The Prometheus rules of the charts' rule files, evaluated by Azure Monitor over the workspace the
# cluster's managed Prometheus writes to (it evaluates no PrometheusRule objects). The files are
# the ones the charts render as PrometheusRule for a Prometheus Operator: one source, two readers.
locals {
  # Synchronous standbys the database rules expect: the chart's figure (postgresql.valueRuleParameters),
  # synchronousNodeCount capped at the standbys there are (members - 1).
  sync_standbys = min(var.database_alerts.synchronous_node_count, var.database_alerts.members - 1)
  rule_sources = {
    postgresql = {
      file  = "${path.module}/../../../helm-charts/postgresql/rules/postgresql.yaml"
      names = { namespace = var.workload_names.namespace, database = var.workload_names.database }
      # The parameters the chart sets from its values (those the file marks "from values"), as
      # strings the way the chart prints them.
      from_values = {
        ha_members             = tostring(var.database_alerts.members)
        patroni_lag_bytes      = tostring(var.database_alerts.lag_bytes)
        sync_standbys_expected = tostring(local.sync_standbys)
        pooler_pool_size       = tostring(var.database_alerts.pool_size)
      }
    }
    inventory-api = {
      file        = "${path.module}/../../../helm-charts/inventory-api/rules/inventory-api.yaml"
      names       = { namespace = var.workload_names.namespace, api = var.workload_names.api }
      from_values = {}
    }
  }
  # The file's own parameters fill its placeholders, the database chart's values those marked
  # "from values", the release's names namespace/database/api.
  rule_documents = {
    for source, rule_source in local.rule_sources : source => yamldecode(templatefile(
      rule_source.file,
      merge(yamldecode(file(rule_source.file)).parameters, rule_source.from_values, rule_source.names)
    ))
  }
  # The groups the chart renders for the same values: backups where they are on (repo2's where
  # the second repository is), Patroni's under ha, the synchronous ones where its mode is on or
  # strict with a standby to wait for, the pooler's where it runs.
  prometheus_rule_groups = merge([
    for source, document in local.rule_documents : {
      for group in concat(
        document.groups,
        [for group in try(document.backup_groups, []) : group if var.backup_alerts_enabled],
        [for group in try(document.repo2_backup_groups, []) : group if var.backup_alerts_enabled && var.backup_repo2_alerts_enabled],
        [for group in try(document.ha_groups, []) : group if var.database_alerts.ha_enabled],
        [for group in try(document.ha_sync_groups, []) : group if var.database_alerts.ha_enabled && var.database_alerts.synchronous_mode != "off" && local.sync_standbys > 0],
        [for group in try(document.pooler_groups, []) : group if var.database_alerts.pooler_enabled],
      ) : group.name => group
    }
  ]...)
  # Azure severity of each rule severity label (0 critical .. 4 verbose).
  azure_severity = {
    critical = 1
    warning  = 2
  }
  # Each group's rules as the rule group resource takes them: `for` as an ISO 8601 duration
  # (5m -> PT5M), the severity label as an Azure severity and the action group it notifies.
  # The resource is in prometheus_rules.tf.json: its block has an attribute named `for`, a word
  # the policy gate's HCL parser takes for the start of a for-expression.
  prometheus_rules = {
    for name, group in local.prometheus_rule_groups : name => [
      for rule in group.rules : {
        alert            = try(rule.alert, null)
        record           = try(rule.record, null)
        expression       = rule.expr
        pending          = try("PT${upper(rule["for"])}", null)
        severity         = try(local.azure_severity[rule.labels.severity], null)
        labels           = try(rule.labels, null)
        annotations      = try(rule.annotations, null)
        action_group_ids = can(rule.alert) && contains(keys(local.azure_severity), try(rule.labels.severity, "")) ? [azurerm_monitor_action_group.by_severity[rule.labels.severity].id] : []
        resolution       = can(rule.alert) ? ["PT10M"] : []
      }
    ]
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
