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

  # Registry, storage account and Key Vault names are global across Azure, so they end in a
  # suffix derived from where the environment lives: the same inputs always give the same names,
  # another subscription deploying the same workload, environment and region gets other ones.
  # Four hex digits (65,536 values) is what the tightest rule leaves: a storage account name has
  # at most 24 characters, and st + workload (9) + environment code (3) + region (3) + bak take 20.
  unique_suffix = substr(sha256(join("/", [var.subscription_id, var.workload, var.environment, var.location])), 0, 4)
  environment_codes = {
    dev     = "dev"
    staging = "stg"
    prod    = "prd"
  }
  # The global names' stem, without hyphens (registries and storage accounts allow none).
  unique = "${var.workload}${local.environment_codes[var.environment]}${local.region}${local.unique_suffix}"

  standard_tags = {
    environment   = var.environment
    owner         = var.owner
    "cost-center" = var.cost_center
    "managed-by"  = "terraform"
    workload      = var.workload
  }
}
