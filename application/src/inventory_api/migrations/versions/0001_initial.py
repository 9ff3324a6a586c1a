"""Products, the append-only stock ledger and idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MAX_QUANTITY = 10**12  # frozen copy of schemas.MAX_QUANTITY at this revision

APPEND_ONLY_FUNCTION = """
CREATE FUNCTION stock_movements_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'stock_movements is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def _timestamp(name: str) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    """Create the three tables, their constraints and the ledger's append-only triggers."""
    op.create_table(
        "products",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, server_default="", nullable=False),
        sa.Column("price_cents", sa.BigInteger, nullable=False),
        sa.Column("quantity", sa.BigInteger, server_default="0", nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint("price_cents >= 0", name="ck_products_price_cents_nonnegative"),
        sa.CheckConstraint(
            f"quantity >= 0 AND quantity <= {MAX_QUANTITY}", name="ck_products_quantity_range"
        ),
        sa.UniqueConstraint("sku", name="products_sku_key"),
    )
    op.create_table(
        "stock_movements",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("product_id", sa.BigInteger, nullable=False),
        sa.Column("delta", sa.BigInteger, nullable=False),
        sa.Column("quantity_after", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        _timestamp("created_at"),
        sa.CheckConstraint("delta <> 0", name="ck_stock_movements_delta_nonzero"),
    )
    op.create_index("ix_stock_movements_product_id_id", "stock_movements", ["product_id", "id"])
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER stock_movements_no_update_delete BEFORE UPDATE OR DELETE "
        "ON stock_movements FOR EACH ROW EXECUTE FUNCTION stock_movements_append_only()"
    )
    op.execute(
        "CREATE TRIGGER stock_movements_no_truncate BEFORE TRUNCATE "
        "ON stock_movements FOR EACH STATEMENT EXECUTE FUNCTION stock_movements_append_only()"
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("response", JSONB, nullable=True),
        _timestamp("created_at"),
    )


def downgrade() -> None:
    """Drop everything upgrade() created."""
    op.drop_table("idempotency_keys")
    op.drop_table("stock_movements")
    op.execute("DROP FUNCTION stock_movements_append_only()")
    op.drop_table("products")
