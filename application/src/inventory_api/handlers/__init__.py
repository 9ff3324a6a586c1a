"""HTTP handlers: the shared base, products and operations endpoints."""
