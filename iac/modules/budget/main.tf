# Monthly cost budgets, one per resource group (the platform's and the cluster's node group,
# where the VMs and disks are billed): actual-cost alerts at the given percentages and one
# forecast alert, so overspend is seen before the invoice.
resource "azurerm_consumption_budget_resource_group" "this" {
  for_each = var.budgets

  name              = "${var.name_prefix}-${each.key}"
  resource_group_id = each.value.resource_group_id
  amount            = each.value.monthly_amount
  time_grain        = "Monthly"

  time_period {
    start_date = "${var.start_month}-01T00:00:00Z"
  }

  dynamic "notification" {
    for_each = toset(var.actual_thresholds)
    content {
      operator       = "GreaterThanOrEqualTo"
      threshold      = notification.value
      threshold_type = "Actual"
      contact_emails = var.contact_emails
      contact_groups = var.action_group_ids
    }
  }

  notification {
    operator       = "GreaterThan"
    threshold      = 100
    threshold_type = "Forecasted"
    contact_emails = var.contact_emails
    contact_groups = var.action_group_ids
  }

  lifecycle {
    # Azure rejects a start date in the past on update; the budget keeps its first month.
    ignore_changes = [time_period]
  }
}
