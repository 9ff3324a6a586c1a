output "log_analytics_workspace_id" {
  description = "Resource ID of the Log Analytics workspace (Container Insights, diagnostics, log alerts)."
  value       = azurerm_log_analytics_workspace.this.id
}

output "monitor_workspace_id" {
  description = "Resource ID of the Azure Monitor workspace (managed Prometheus)."
  value       = azurerm_monitor_workspace.this.id
}

output "action_group_id" {
  description = "Resource ID of the action group every alert notifies."
  value       = azurerm_monitor_action_group.this.id
}

output "alert_names" {
  description = "Names of the platform alerts (metric and log)."
  value = concat(
    [for alert in azurerm_monitor_metric_alert.node_pressure : alert.name],
    [for alert in azurerm_monitor_scheduled_query_rules_alert_v2.this : alert.name],
  )
}
