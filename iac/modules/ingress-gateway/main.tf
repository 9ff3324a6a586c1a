locals {
  frontend = "public"
  pool     = "ingress"
  https    = "https"
  http     = "http"
}

# The gateway's own subnet. It gets no route table: a 0.0.0.0/0 route to the egress firewall
# would send the replies to Internet clients through the firewall (asymmetric, dropped) and
# cut the gateway off from its management plane, which Azure then reports as failed.
resource "azurerm_subnet" "gateway" {
  name                 = var.names.subnet
  resource_group_name  = var.resource_group_name
  virtual_network_name = var.virtual_network_name
  address_prefixes     = [var.subnet_cidr]
}

# What Application Gateway v2 needs and nothing more: its management plane (GatewayManager on
# 65200-65535), Azure's health probes (AzureLoadBalancer) and the clients on 80/443; every other
# inbound packet is denied explicitly.
resource "azurerm_network_security_group" "gateway" {
  name                = var.names.nsg
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags

  security_rule {
    name                       = "allow-gateway-manager"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "65200-65535"
    source_address_prefix      = "GatewayManager"
    destination_address_prefix = "*"
  }

  security_rule {
    name                       = "allow-azure-load-balancer"
    priority                   = 110
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "AzureLoadBalancer"
    destination_address_prefix = "*"
  }

  security_rule {
    name                       = "allow-internet-http"
    priority                   = 200
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_ranges    = ["80", "443"]
    source_address_prefix      = "Internet"
    destination_address_prefix = "*"
  }

  security_rule {
    name                       = "deny-all-inbound"
    priority                   = 4096
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "*"
    destination_address_prefix = "*"
  }
}

resource "azurerm_subnet_network_security_group_association" "gateway" {
  subnet_id                 = azurerm_subnet.gateway.id
  network_security_group_id = azurerm_network_security_group.gateway.id
}

resource "azurerm_public_ip" "gateway" {
  name                = var.names.public_ip
  resource_group_name = var.resource_group_name
  location            = var.location
  allocation_method   = "Static"
  sku                 = "Standard"
  # The address must span every zone the gateway runs in.
  zones = var.zones
  tags  = var.tags
}

resource "azurerm_web_application_firewall_policy" "this" {
  name                = var.names.waf_policy
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags

  policy_settings {
    enabled                     = true
    mode                        = var.waf.mode
    request_body_check          = true
    max_request_body_size_in_kb = 128
  }

  managed_rules {
    managed_rule_set {
      type    = var.waf.rule_set_type
      version = var.waf.rule_set_version
    }
  }
}

# The gateway reads the TLS certificate from Key Vault as this identity, allowed to read that
# one certificate's secret and nothing else in the vault.
resource "azurerm_user_assigned_identity" "gateway" {
  name                = var.names.identity
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

resource "azurerm_role_assignment" "certificate_reader" {
  scope                = "${var.tls_certificate.key_vault_id}/secrets/${var.tls_certificate.name}"
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.gateway.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_application_gateway" "this" {
  name                = var.names.gateway
  resource_group_name = var.resource_group_name
  location            = var.location
  zones               = var.zones
  firewall_policy_id  = azurerm_web_application_firewall_policy.this.id
  http2_enabled       = true
  tags                = var.tags

  sku {
    name = "WAF_v2"
    tier = "WAF_v2"
  }

  autoscale_configuration {
    min_capacity = var.autoscale.min_capacity
    max_capacity = var.autoscale.max_capacity
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.gateway.id]
  }

  ssl_policy {
    policy_type = "Predefined"
    policy_name = "AppGwSslPolicy20220101S" # TLS 1.2 and 1.3 only, strong ciphers
  }

  gateway_ip_configuration {
    name      = "gateway"
    subnet_id = azurerm_subnet.gateway.id
  }

  frontend_ip_configuration {
    name                 = local.frontend
    public_ip_address_id = azurerm_public_ip.gateway.id
  }

  frontend_port {
    name = local.https
    port = 443
  }

  frontend_port {
    name = local.http
    port = 80
  }

  # Versionless: the gateway picks up a renewed certificate from the vault by itself.
  ssl_certificate {
    name                = var.tls_certificate.name
    key_vault_secret_id = "${var.tls_certificate.key_vault_uri}secrets/${var.tls_certificate.name}"
  }

  http_listener {
    name                           = local.https
    frontend_ip_configuration_name = local.frontend
    frontend_port_name             = local.https
    protocol                       = "Https"
    ssl_certificate_name           = var.tls_certificate.name
    host_names                     = [var.host_name]
    require_sni                    = true
  }

  # Port 80 reaches the ingress controller too: it answers ACME HTTP-01 challenges and
  # redirects every other request to HTTPS.
  http_listener {
    name                           = local.http
    frontend_ip_configuration_name = local.frontend
    frontend_port_name             = local.http
    protocol                       = "Http"
    host_names                     = [var.host_name]
  }

  backend_address_pool {
    name         = local.pool
    ip_addresses = [var.backend_ip_address]
  }

  # TLS again from the gateway to the ingress controller, which presents the host's
  # certificate (SNI and the certificate's name are the host name).
  backend_http_settings {
    name                  = local.https
    protocol              = "Https"
    port                  = 443
    host_name             = var.host_name
    cookie_based_affinity = "Disabled"
    request_timeout       = 30
    probe_name            = local.https
  }

  backend_http_settings {
    name                  = local.http
    protocol              = "Http"
    port                  = 80
    host_name             = var.host_name
    cookie_based_affinity = "Disabled"
    request_timeout       = 30
    probe_name            = local.http
  }

  probe {
    name                = local.https
    protocol            = "Https"
    host                = var.host_name
    path                = var.health_path
    interval            = 15
    timeout             = 10
    unhealthy_threshold = 3

    match {
      status_code = ["200"]
    }
  }

  # Over plain HTTP the ingress controller redirects the probe to HTTPS: a redirect means the
  # controller answered for the host.
  probe {
    name                = local.http
    protocol            = "Http"
    host                = var.host_name
    path                = var.health_path
    interval            = 15
    timeout             = 10
    unhealthy_threshold = 3

    match {
      status_code = ["200-399"]
    }
  }

  request_routing_rule {
    name                       = local.https
    priority                   = 100
    rule_type                  = "Basic"
    http_listener_name         = local.https
    backend_address_pool_name  = local.pool
    backend_http_settings_name = local.https
  }

  request_routing_rule {
    name                       = local.http
    priority                   = 200
    rule_type                  = "Basic"
    http_listener_name         = local.http
    backend_address_pool_name  = local.pool
    backend_http_settings_name = local.http
  }

  # The identity must be able to read the certificate before the gateway first loads it.
  depends_on = [azurerm_role_assignment.certificate_reader, azurerm_subnet_network_security_group_association.gateway]
}
