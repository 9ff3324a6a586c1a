# Public egress of the CI agents and the operators' VPN (TEST-NET ranges stand in here).
allowed_ip_ranges = ["203.0.113.0/28", "198.51.100.0/28"]
