"""Where the deploy stages deploy to: the target's cluster, registry and ingress, the Terraform
of an Azure environment, and the local target's stand-ins for the Azure platform."""
