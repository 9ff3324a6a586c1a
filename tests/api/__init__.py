"""API layer tests: the inventory API through HTTP against a real PostgreSQL 15."""
