"""Business operations on one database session; each runs inside one transaction on a DB thread.

They return JSON-ready values so no ORM object crosses back to the IOLoop, and report refusals
as domain errors (domain.py); the handlers decide what those mean in HTTP.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from inventory_api.dberrors import violated_unique_constraint
from inventory_api.domain import Conflict, NotFound
from inventory_api.models import Product, StockMovement
from inventory_api.resources import PRODUCT
from inventory_api.schemas import MAX_QUANTITY


def _conflict(exc: DBAPIError) -> Conflict:
    """Conflict for a unique violation on products; anything else is re-raised as it is.

    Any DBAPIError, not just IntegrityError: which exception class a driver picks for a SQLSTATE
    is its own choice (pg8000 reports a check violation as a ProgrammingError)."""
    columns = PRODUCT.unique.get(violated_unique_constraint(exc) or "")
    if columns is None:
        raise exc
    return Conflict(
        f"duplicate_{'_'.join(columns)}",
        f"a product with this {', '.join(columns)} already exists",
    )


def create_product(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """Insert a product; its initial quantity (if any) is recorded in the ledger too."""
    quantity = fields.get("quantity", 0)
    values = {**fields, "quantity": quantity}
    try:
        row = session.execute(insert(Product).values(values).returning(*PRODUCT.columns)).one()
    except DBAPIError as exc:
        raise _conflict(exc) from None
    if quantity:
        session.add(
            StockMovement(
                product_id=row.id, delta=quantity, quantity_after=quantity, reason="initial stock"
            )
        )
    return PRODUCT.to_json(row)


# Built once: constructing a statement per request costs more CPU than executing it.
GET_PRODUCT = select(*PRODUCT.columns).where(Product.id == bindparam("product_id"))


def get_product(connection: Connection, product_id: int) -> dict[str, Any]:
    """One product by id."""
    row = connection.execute(GET_PRODUCT, {"product_id": product_id}).one_or_none()
    if row is None:
        raise NotFound("product")
    return PRODUCT.to_json(row)


def _like_pattern(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_products(
    connection: Connection, *, limit: int, after_id: int | None, query: str | None
) -> tuple[list[dict[str, Any]], int | None]:
    """One page in id order and the id to continue after (None on the last page)."""
    statement = select(*PRODUCT.columns).order_by(Product.id).limit(limit + 1)
    if after_id is not None:
        statement = statement.where(Product.id > after_id)
    if query:
        pattern = _like_pattern(query)
        statement = statement.where(
            or_(Product.name.ilike(pattern, escape="\\"), Product.sku.ilike(pattern, escape="\\"))
        )
    rows = connection.execute(statement).all()
    items = [PRODUCT.to_json(row) for row in rows[:limit]]
    next_after = rows[limit - 1].id if len(rows) > limit else None
    return items, next_after


def patch_product(session: Session, product_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    """Change the given fields (never quantity: that goes through the ledger)."""
    try:
        row = session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(**fields, updated_at=func.now())
            .returning(*PRODUCT.columns)
        ).one_or_none()
    except DBAPIError as exc:
        raise _conflict(exc) from None
    if row is None:
        raise NotFound("product")
    return PRODUCT.to_json(row)


def delete_product(session: Session, product_id: int) -> None:
    """Delete a product. Its ledger rows stay (the ledger is append-only)."""
    deleted = session.execute(
        delete(Product).where(Product.id == product_id).returning(Product.id)
    ).one_or_none()
    if deleted is None:
        raise NotFound("product")


_NEW_QUANTITY = Product.quantity + bindparam("delta")
ADJUST_QUANTITY = (
    update(Product)
    .where(Product.id == bindparam("product_id"), _NEW_QUANTITY >= 0, _NEW_QUANTITY <= MAX_QUANTITY)
    .values(quantity=_NEW_QUANTITY, updated_at=func.now())
    .returning(Product.quantity)
)


def adjust_stock(session: Session, product_id: int, delta: int, reason: str) -> dict[str, Any]:
    """Apply `delta` atomically (a single conditional UPDATE) and append to the ledger.

    A refusal changes nothing and leaves the transaction usable (the caller may still record
    the answer under an idempotency key)."""
    row = session.execute(ADJUST_QUANTITY, {"product_id": product_id, "delta": delta}).one_or_none()
    if row is None:
        current = session.execute(
            select(Product.quantity).where(Product.id == product_id)
        ).scalar_one_or_none()
        if current is None:
            raise NotFound("product")
        below = current + delta < 0
        limit = "below zero" if below else f"above {MAX_QUANTITY}"
        raise Conflict(
            "insufficient_stock" if below else "quantity_limit",
            f"adjustment would take the quantity {limit}; nothing changed",
            {"quantity": current, "delta": delta},
        )
    movement = StockMovement(
        product_id=product_id, delta=delta, quantity_after=row.quantity, reason=reason
    )
    session.add(movement)
    session.flush()
    return {
        "product_id": product_id,
        "delta": delta,
        "quantity": row.quantity,
        "movement_id": movement.id,
    }
