variable "name_prefix" {
  type        = string
  description = "Prefix of the budget names (from the conventions module); each is <prefix>-<key>."
}

variable "budgets" {
  type = map(object({
    resource_group_id = string
    monthly_amount    = number
  }))
  description = "Budgets by key: the resource group whose cost is tracked and its monthly amount in the billing currency."

  validation {
    condition     = length(var.budgets) > 0 && alltrue([for budget in values(var.budgets) : budget.monthly_amount > 0])
    error_message = "budgets needs at least one entry, each with a positive monthly_amount."
  }
}

variable "start_month" {
  type        = string
  description = "First month the budget runs (YYYY-MM); Azure needs the first of a month, at most twelve months ahead."

  validation {
    condition     = can(regex("^20[2-9][0-9]-(0[1-9]|1[0-2])$", var.start_month))
    error_message = "start_month must be YYYY-MM, e.g. 2027-01."
  }
}

variable "actual_thresholds" {
  type        = list(number)
  description = "Percentages of the amount at which actual cost alerts (e.g. 80 and 100)."
  default     = [80, 100]
  nullable    = false

  validation {
    condition     = length(var.actual_thresholds) > 0 && alltrue([for threshold in var.actual_thresholds : threshold > 0 && threshold <= 1000])
    error_message = "actual_thresholds must hold at least one percentage in (0, 1000]."
  }
}

variable "contact_emails" {
  type        = list(string)
  description = "Who gets the budget alerts."

  validation {
    condition     = length(var.contact_emails) > 0 && alltrue([for address in var.contact_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", address))])
    error_message = "contact_emails must hold at least one e-mail address."
  }
}

variable "action_group_ids" {
  type        = list(string)
  description = "Action groups that also receive the alerts (the environment's on-call routing)."
  default     = []
  nullable    = false
}
