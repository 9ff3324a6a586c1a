"""Alembic migrations shipped inside the package (run with `python -m inventory_api migrate`)."""
