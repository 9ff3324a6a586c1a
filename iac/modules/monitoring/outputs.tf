output "log_analytics_workspace_id" {
  description = "Resource ID of the Log Analytics workspace (Container Insights, diagnostics, log alerts)."
  value       = azurerm_log_analytics_workspace.this.id
}

output "monitor_workspace_id" {
  description = "Resource ID of the Azure Monitor workspace (managed Prometheus)."
  value       = azurerm_monitor_workspace.this.id
}

output "action_group_ids" {
  description = "Resource IDs of the action groups, by alert severity (critical, warning)."
  value       = { for severity, group in azurerm_monitor_action_group.by_severity : severity => group.id }
}

output "prometheus_rule_group_names" {
  description = "Names of the Azure Monitor Prometheus rule groups made from the charts' rule files."
  value       = [for group in azurerm_monitor_alert_prometheus_rule_group.this : group.name]
}

output "alert_names" {
  description = "Names of the platform alerts (metric and log)."
  value = concat(
    [for alert in azurerm_monitor_metric_alert.node_pressure : alert.name],
    [for alert in azurerm_monitor_scheduled_query_rules_alert_v2.this : alert.name],
  )
}
