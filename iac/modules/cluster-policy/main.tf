locals {
  # Built-in definitions (Azure Policy for Kubernetes). The restricted initiative contains
  # "Kubernetes cluster should not allow privileged containers" (95edb821-...), no privilege
  # escalation, no host network/PID/IPC, dropped capabilities, non-root users, allowed volume
  # types and seccomp profiles: the Pod Security Standards' restricted profile.
  restricted_pod_security = "/providers/Microsoft.Authorization/policySetDefinitions/42b8ef37-b724-4e24-bbc8-7a7708edfe00"
  allowed_images          = "/providers/Microsoft.Authorization/policyDefinitions/febd0533-8e55-448f-b837-bd0e06f16469"

  # Images only from the listed registries: ^(reg1|reg2)/.+$ with dots escaped.
  allowed_images_regex = "^(${join("|", [for registry in var.allowed_registries : replace(registry, ".", "\\.")])})/.+$"

  assignments = {
    restricted-pod-security = {
      definition   = local.restricted_pod_security
      display_name = "Pods meet the restricted Pod Security Standard"
      parameters = {
        effect             = { value = var.effect }
        excludedNamespaces = { value = var.excluded_namespaces }
      }
    }
    allowed-registries = {
      definition   = local.allowed_images
      display_name = "Containers come only from the allowed registries"
      parameters = {
        effect                      = { value = var.effect }
        excludedNamespaces          = { value = var.excluded_namespaces }
        allowedContainerImagesRegex = { value = local.allowed_images_regex }
      }
    }
  }
}

# Assigned on the cluster itself (the Azure Policy add-on turns them into Gatekeeper constraints);
# the effect is the environment's: Deny refuses a non-compliant pod, Audit only reports it.
resource "azurerm_resource_policy_assignment" "this" {
  for_each = local.assignments

  name                 = "${var.name_prefix}-${each.key}"
  resource_id          = var.cluster_id
  policy_definition_id = each.value.definition
  display_name         = each.value.display_name
  description          = "${each.value.display_name} (effect ${var.effect}); managed by Terraform."
  enforce              = true
  parameters           = jsonencode(each.value.parameters)

  non_compliance_message {
    content = "${each.value.display_name}: run as non-root without privileges, from an allowed registry (effect ${var.effect})."
  }
}
