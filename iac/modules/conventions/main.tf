# The one place where names and tags are decided. Every other module receives its names and
# tags from here through the platform root, so a convention change is a one-file change.
locals {
  region_codes = {
    westeurope         = "weu"
    northeurope        = "neu"
    swedencentral      = "sdc"
    germanywestcentral = "gwc"
    francecentral      = "frc"
    uksouth            = "uks"
  }
  region = local.region_codes[var.location]

  # <abbreviation>-<workload>-<environment>-<region>, after the Cloud Adoption Framework.
  suffix = "${var.workload}-${var.environment}-${local.region}"
  # Storage accounts and registries allow neither hyphens nor more than 24 characters.
  compact = "${var.workload}${var.environment}${local.region}"

  standard_tags = {
    environment   = var.environment
    owner         = var.owner
    "cost-center" = var.cost_center
    "managed-by"  = "terraform"
    workload      = var.workload
  }
}
