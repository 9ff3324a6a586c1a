"""Business operations on one database session; each runs inside one transaction on a DB thread.

They return JSON-ready values so no ORM object crosses back to the IOLoop.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inventory_api.errors import ApiError, not_found
from inventory_api.models import IdempotencyKey, Product, StockMovement
from inventory_api.schemas import MAX_QUANTITY

PRODUCT_COLUMNS = (
    Product.id,
    Product.sku,
    Product.name,
    Product.description,
    Product.price_cents,
    Product.quantity,
    Product.created_at,
    Product.updated_at,
)


def product_json(row: Any) -> dict[str, Any]:
    """A product row as its API representation."""
    return {
        "id": row.id,
        "sku": row.sku,
        "name": row.name,
        "description": row.description,
        "price_cents": row.price_cents,
        "quantity": row.quantity,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def _duplicate_sku(exc: IntegrityError) -> ApiError | None:
    """409 when `exc` is the sku unique constraint, else None (re-raise the original)."""
    if "products_sku_key" in str(exc.orig):
        return ApiError(409, "duplicate_sku", "a product with this sku already exists")
    return None


def create_product(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """Insert a product; its initial quantity (if any) is recorded in the ledger too."""
    quantity = fields.get("quantity", 0)
    values = {**fields, "quantity": quantity}
    try:
        row = session.execute(insert(Product).values(values).returning(*PRODUCT_COLUMNS)).one()
    except IntegrityError as exc:
        conflict = _duplicate_sku(exc)
        if conflict is None:
            raise
        raise conflict from None
    if quantity:
        session.add(
            StockMovement(
                product_id=row.id, delta=quantity, quantity_after=quantity, reason="initial stock"
            )
        )
    return product_json(row)


# Built once: constructing a statement per request costs more CPU than executing it.
GET_PRODUCT = select(*PRODUCT_COLUMNS).where(Product.id == bindparam("product_id"))


def get_product(connection: Connection, product_id: int) -> dict[str, Any]:
    """One product by id, or 404."""
    row = connection.execute(GET_PRODUCT, {"product_id": product_id}).one_or_none()
    if row is None:
        raise not_found("product")
    return product_json(row)


def _like_pattern(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_products(
    connection: Connection, *, limit: int, after_id: int | None, query: str | None
) -> tuple[list[dict[str, Any]], int | None]:
    """One page in id order and the id to continue after (None on the last page)."""
    statement = select(*PRODUCT_COLUMNS).order_by(Product.id).limit(limit + 1)
    if after_id is not None:
        statement = statement.where(Product.id > after_id)
    if query:
        pattern = _like_pattern(query)
        statement = statement.where(
            or_(Product.name.ilike(pattern, escape="\\"), Product.sku.ilike(pattern, escape="\\"))
        )
    rows = connection.execute(statement).all()
    items = [product_json(row) for row in rows[:limit]]
    next_after = rows[limit - 1].id if len(rows) > limit else None
    return items, next_after


def patch_product(session: Session, product_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    """Change the given fields (never quantity: that goes through the ledger), or 404/409."""
    try:
        row = session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(**fields, updated_at=func.now())
            .returning(*PRODUCT_COLUMNS)
        ).one_or_none()
    except IntegrityError as exc:
        conflict = _duplicate_sku(exc)
        if conflict is None:
            raise
        raise conflict from None
    if row is None:
        raise not_found("product")
    return product_json(row)


def delete_product(session: Session, product_id: int) -> None:
    """Delete a product, or 404. Its ledger rows stay (the ledger is append-only)."""
    deleted = session.execute(
        delete(Product).where(Product.id == product_id).returning(Product.id)
    ).one_or_none()
    if deleted is None:
        raise not_found("product")


@dataclass(frozen=True)
class Answer:
    """A stored response: status code and JSON body."""

    status: int
    body: dict[str, Any]


_NEW_QUANTITY = Product.quantity + bindparam("delta")
ADJUST_QUANTITY = (
    update(Product)
    .where(Product.id == bindparam("product_id"), _NEW_QUANTITY >= 0, _NEW_QUANTITY <= MAX_QUANTITY)
    .values(quantity=_NEW_QUANTITY, updated_at=func.now())
    .returning(Product.quantity)
)


def _adjust(session: Session, product_id: int, delta: int, reason: str) -> Answer:
    row = session.execute(ADJUST_QUANTITY, {"product_id": product_id, "delta": delta}).one_or_none()
    if row is None:
        current = session.execute(
            select(Product.quantity).where(Product.id == product_id)
        ).scalar_one_or_none()
        if current is None:
            return Answer(404, not_found("product").body())
        limit = "below zero" if current + delta < 0 else f"above {MAX_QUANTITY}"
        error = ApiError(
            409,
            "insufficient_stock" if current + delta < 0 else "quantity_limit",
            f"adjustment would take the quantity {limit}; nothing changed",
            {"quantity": current, "delta": delta},
        )
        return Answer(error.status_code, error.body())
    movement = StockMovement(
        product_id=product_id, delta=delta, quantity_after=row.quantity, reason=reason
    )
    session.add(movement)
    session.flush()
    return Answer(
        200,
        {
            "product_id": product_id,
            "delta": delta,
            "quantity": row.quantity,
            "movement_id": movement.id,
        },
    )


def request_fingerprint(method: str, path: str, body: dict[str, Any]) -> str:
    """Hash identifying a request independent of JSON key order and whitespace."""
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def adjust_stock(
    session: Session,
    product_id: int,
    delta: int,
    reason: str,
    idempotency: tuple[str, str] | None,
) -> Answer:
    """Apply `delta` atomically (a single conditional UPDATE) and append to the ledger.

    With an idempotency (key, fingerprint), the key row is inserted first in the same
    transaction: a concurrent request with the same key blocks on the unique index until this
    one commits, then reads the stored answer instead of applying the delta twice.
    """
    if idempotency is None:
        return _adjust(session, product_id, delta, reason)
    key, fingerprint = idempotency
    claimed = session.execute(
        insert(IdempotencyKey)
        .values(key=key, fingerprint=fingerprint)
        .on_conflict_do_nothing(index_elements=[IdempotencyKey.key])
        .returning(IdempotencyKey.key)
    ).one_or_none()
    if claimed is None:
        stored = session.get_one(IdempotencyKey, key)
        if stored.fingerprint != fingerprint:
            error = ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was already used with a different request",
            )
            return Answer(error.status_code, error.body())
        if stored.status_code is None or stored.response is None:
            raise RuntimeError(f"idempotency key {key!r} was stored without an answer")
        return Answer(stored.status_code, dict(stored.response))
    answer = _adjust(session, product_id, delta, reason)
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.key == key)
        .values(status_code=answer.status, response=answer.body)
    )
    return answer
