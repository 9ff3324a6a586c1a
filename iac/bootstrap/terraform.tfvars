# Public egress of the CI agents and the operators' VPN (TEST-NET ranges stand in here).
allowed_ip_ranges = ["203.0.113.0/28", "198.51.100.0/28"]

# Each environment's subscription: the same value as subscription_id in
# ../environments/<env>/terraform.tfvars (tests/terraform/test_bootstrap.py compares them).
environments = {
  dev     = { subscription_id = "1d0a5b2e-6c3f-4e8a-9b1d-2f7c8e9a0d01" }
  staging = { subscription_id = "5a7e2c1b-3d4f-4a6b-8c9d-0e1f2a3b4c02" }
  prod    = { subscription_id = "9c4b8e7d-2a1f-4c3e-8d5b-6a7f8e9c0b03" }
}

# The Jenkins agents' ServiceAccount on the CI cluster (pipelines/jenkins/agent-pod.yaml).
ci_federation = {
  issuer  = "https://westeurope.oic.prod-aks.azure.com/00000000-0000-4000-8000-000000000000/00000000-0000-4000-8000-000000000001/"
  subject = "system:serviceaccount:jenkins:inventory-platform-pipeline"
}
