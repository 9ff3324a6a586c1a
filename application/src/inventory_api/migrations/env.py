"""Alembic environment: runs online only, on the connection handed over by inventory_api.migrate.

The same environment applies migrations (`migrate`) and autogenerates them (`revision`: the
models' metadata is compared with the connected, migrated database). A transaction-scoped
advisory lock serialises concurrent runs (two pods starting at once).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from inventory_api.models import Base

MIGRATION_LOCK_ID = 0x1A7E0001  # arbitrary, constant: "inventory migrations"

connection: Connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    compare_type=True,
    compare_server_default=True,
    process_revision_directives=context.config.attributes.get("process_revision_directives"),
)
with context.begin_transaction():
    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
    context.run_migrations()
