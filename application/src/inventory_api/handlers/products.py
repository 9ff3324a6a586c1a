"""Products and stock adjustments under /api/v1.

Query parameters and headers are declared as typed fields, like bodies: the same object checks
the value and writes its schema into the OpenAPI document.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from inventory_api import service
from inventory_api.cursor import decode_cursor, encode_cursor
from inventory_api.domain import DomainError
from inventory_api.errors import ApiError, not_found
from inventory_api.handlers.base import BaseHandler, http_error
from inventory_api.idempotency import Answer, Outcome, answer_once, request_fingerprint
from inventory_api.resources import PRODUCT
from inventory_api.schemas import STOCK_ADJUSTMENT, Field, FieldProblem, IntegerField, StringField

DEFAULT_LIMIT = 50
MAX_ID = 2**63 - 1
DIGITS = re.compile(r"[0-9]{1,19}")  # MAX_ID has 19 digits
INTEGER = re.compile(r"-?[0-9]+")
LIMIT = IntegerField("limit", 1, 200, required=False, description=f"Default {DEFAULT_LIMIT}")
QUERY = StringField(
    "q",
    100,
    min_length=0,
    pattern=r"[^\u0000]*",
    required=False,
    description="Case-insensitive substring of name or sku",
)
IDEMPOTENCY_KEY = StringField(
    "Idempotency-Key",
    255,
    pattern=r"[!-~]+",
    required=False,
    description="Retries with the same key and body apply once and get the same answer; the "
    "same key with another request gets 422",
)
CURSOR_SCHEMA = {
    "type": "string",
    "pattern": "^[A-Za-z0-9_-]*$",
    "description": "Opaque: a next_cursor this API returned, with the same q",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": f"#/components/responses/Error{status}"} for status in statuses}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


def _parameter(spec: Field, where: str) -> dict[str, Any]:
    return {"name": spec.name, "in": where, "required": spec.required, "schema": spec.json_schema()}


def _checked(spec: Field, value: Any, code: str = "invalid_parameter") -> Any:
    try:
        return spec.convert(value)
    except FieldProblem as problem:
        raise ApiError(400, code, str(problem)) from None


ID_PARAMETER = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}


def parse_id(raw: str) -> int:
    """A path id; anything that cannot be a product id is simply not found."""
    if not DIGITS.fullmatch(raw) or not 1 <= int(raw) <= MAX_ID:
        raise not_found("product")
    return int(raw)


class ProductsHandler(BaseHandler):
    """GET: keyset-paginated list; POST: create."""

    operations: ClassVar[dict[str, dict[str, Any]]] = {
        "get": {
            "operationId": "listProducts",
            "summary": "List products in id order, one page at a time",
            "parameters": [
                _parameter(LIMIT, "query"),
                {"name": "cursor", "in": "query", "required": False, "schema": CURSOR_SCHEMA},
                _parameter(QUERY, "query"),
            ],
            "responses": {"200": _json("ProductPage", "One page"), **_errors(400)},
        },
        "post": {
            "operationId": "createProduct",
            "summary": "Create a product",
            "requestBody": _body(PRODUCT.create.name),
            "responses": {
                "201": _json(PRODUCT.name, "Created"),
                **_errors(400, 409, 413, 415),
            },
        },
    }

    def _limit(self) -> int:
        raw = self.query_value(LIMIT.name)
        if raw is None:
            return DEFAULT_LIMIT
        # Decimal: exact at any length (int() refuses over 4300 digits), range-checked first.
        return int(_checked(LIMIT, Decimal(raw) if INTEGER.fullmatch(raw) else raw))

    async def get(self) -> None:
        """One page of products."""
        limit = self._limit()
        query = _checked(QUERY, self.query_value(QUERY.name) or "") or None
        cursor = self.query_value("cursor")
        after_id = decode_cursor(cursor, query) if cursor else None
        items, next_after = await self.read(
            functools.partial(service.list_products, limit=limit, after_id=after_id, query=query)
        )
        next_cursor = encode_cursor(next_after, query) if next_after is not None else None
        self.send_json(200, {"items": items, "next_cursor": next_cursor})

    async def post(self) -> None:
        """Create a product; 409 when the sku is taken."""
        fields = PRODUCT.create.parse(self.json_body())
        product = await self.run(functools.partial(service.create_product, fields=fields))
        self.set_header("Location", f"/api/v1/products/{product['id']}")
        self.send_json(201, product)


class ProductHandler(BaseHandler):
    """One product: read, change, delete."""

    operations: ClassVar[dict[str, dict[str, Any]]] = {
        "get": {
            "operationId": "getProduct",
            "summary": "Read one product",
            "parameters": [ID_PARAMETER],
            "responses": {"200": _json(PRODUCT.name, "The product"), **_errors(404)},
        },
        "patch": {
            "operationId": "updateProduct",
            "summary": f"Change {', '.join(PRODUCT.patch.by_name)} (stock: use stock adjustments)",
            "parameters": [ID_PARAMETER],
            "requestBody": _body(PRODUCT.patch.name),
            "responses": {
                "200": _json(PRODUCT.name, "The changed product"),
                **_errors(400, 404, 409, 413, 415),
            },
        },
        "delete": {
            "operationId": "deleteProduct",
            "summary": "Delete a product (its ledger entries stay)",
            "parameters": [ID_PARAMETER],
            "responses": {"204": {"description": "Deleted"}, **_errors(404)},
        },
    }

    async def get(self, raw_id: str) -> None:
        """The product, or 404."""
        product_id = parse_id(raw_id)
        product = await self.read(functools.partial(service.get_product, product_id=product_id))
        self.send_json(200, product)

    async def patch(self, raw_id: str) -> None:
        """Change fields; 404 unknown id, 409 duplicate sku."""
        product_id = parse_id(raw_id)
        fields = PRODUCT.patch.parse(self.json_body())
        product = await self.run(
            functools.partial(service.patch_product, product_id=product_id, fields=fields)
        )
        self.send_json(200, product)

    async def delete(self, raw_id: str) -> None:
        """Delete; 404 unknown id."""
        product_id = parse_id(raw_id)
        await self.run(functools.partial(service.delete_product, product_id=product_id))
        self.set_status(204)
        self.clear_header("Content-Type")
        self.finish()


class StockAdjustmentsHandler(BaseHandler):
    """POST a signed delta; the quantity changes atomically and the ledger records it."""

    operations: ClassVar[dict[str, dict[str, Any]]] = {
        "post": {
            "operationId": "adjustStock",
            "summary": "Add or remove stock atomically; a result below zero changes nothing",
            "parameters": [
                ID_PARAMETER,
                _parameter(IDEMPOTENCY_KEY, "header"),
            ],
            "requestBody": _body(STOCK_ADJUSTMENT.name),
            "responses": {
                "200": _json("StockAdjustmentResult", "Applied; the new quantity"),
                **_errors(400, 404, 409, 413, 415, 422),
            },
        }
    }

    async def post(self, raw_id: str) -> None:
        """Apply the adjustment (once per Idempotency-Key)."""
        product_id = parse_id(raw_id)
        fields = STOCK_ADJUSTMENT.parse(self.json_body())
        key = self.request.headers.get(IDEMPOTENCY_KEY.name)

        def adjust(session: Session) -> Answer:
            try:
                return Answer(200, service.adjust_stock(session, product_id, **fields))
            except DomainError as exc:
                error = http_error(exc)
                return Answer(error.status_code, error.body())

        if key is None:
            outcome = Outcome(await self.state.database.run(adjust))
        else:
            _checked(IDEMPOTENCY_KEY, key, "invalid_idempotency_key")
            fingerprint = request_fingerprint("POST", self.request.path, fields)
            try:
                outcome = await self.run(
                    functools.partial(answer_once, key=key, fingerprint=fingerprint, work=adjust)
                )
            except ApiError as exc:
                self.state.metrics.adjustments.labels(exc.code).inc()
                raise
        answer = outcome.answer
        if outcome.replayed:
            label = "replayed"
        else:
            label = "applied" if answer.status == 200 else answer.body["error"]["code"]
        self.state.metrics.adjustments.labels(label).inc()
        self.send_json(answer.status, answer.body)
