"""Products and stock adjustments under /api/v1."""

from __future__ import annotations

import functools
import re
from typing import Any, ClassVar

from inventory_api import service
from inventory_api.cursor import decode_cursor, encode_cursor
from inventory_api.errors import ApiError, not_found
from inventory_api.handlers.base import BaseHandler
from inventory_api.schemas import PRODUCT_CREATE, PRODUCT_PATCH, STOCK_ADJUSTMENT

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_QUERY_LENGTH = 100
MAX_ID = 2**63 - 1
IDEMPOTENCY_KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": f"#/components/responses/Error{status}"} for status in statuses}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


ID_PARAMETER = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}


def parse_id(raw: str) -> int:
    """A path id; anything that cannot be a product id is simply not found."""
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise not_found("product")
    return int(raw)


class ProductsHandler(BaseHandler):
    """GET: keyset-paginated list; POST: create."""

    operations: ClassVar[dict[str, dict[str, Any]]] = {
        "get": {
            "operationId": "listProducts",
            "summary": "List products in id order, one page at a time",
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                },
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "q",
                    "in": "query",
                    "description": "Case-insensitive substring of name or sku",
                    "schema": {"type": "string", "maxLength": MAX_QUERY_LENGTH},
                },
            ],
            "responses": {"200": _json("ProductPage", "One page"), **_errors(400)},
        },
        "post": {
            "operationId": "createProduct",
            "summary": "Create a product",
            "requestBody": _body(PRODUCT_CREATE.name),
            "responses": {
                "201": _json("Product", "Created"),
                **_errors(400, 409, 413, 415),
            },
        },
    }

    def _limit(self) -> int:
        raw = self.get_query_argument("limit", str(DEFAULT_LIMIT))
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise ApiError(400, "invalid_parameter", f"limit must be an integer 1..{MAX_LIMIT}")
        return int(raw)

    async def get(self) -> None:
        """One page of products."""
        limit = self._limit()
        query = self.get_query_argument("q", None) or None
        if query is not None and len(query) > MAX_QUERY_LENGTH:
            raise ApiError(400, "invalid_parameter", f"q is longer than {MAX_QUERY_LENGTH}")
        if query is not None and "\x00" in query:
            raise ApiError(400, "invalid_parameter", "q contains a NUL character")
        cursor = self.get_query_argument("cursor", None)
        after_id = decode_cursor(cursor, query) if cursor else None
        items, next_after = await self.state.database.read(
            functools.partial(service.list_products, limit=limit, after_id=after_id, query=query)
        )
        next_cursor = encode_cursor(next_after, query) if next_after is not None else None
        self.send_json(200, {"items": items, "next_cursor": next_cursor})

    async def post(self) -> None:
        """Create a product; 409 when the sku is taken."""
        fields = PRODUCT_CREATE.parse(self.json_body())
        product = await self.state.database.run(
            functools.partial(service.create_product, fields=fields)
        )
        self.set_header("Location", f"/api/v1/products/{product['id']}")
        self.send_json(201, product)


class ProductHandler(BaseHandler):
    """One product: read, change, delete."""

    operations: ClassVar[dict[str, dict[str, Any]]] = {
        "get": {
            "operationId": "getProduct",
            "summary": "Read one product",
            "parameters": [ID_PARAMETER],
            "responses": {"200": _json("Product", "The product"), **_errors(404)},
        },
        "patch": {
            "operationId": "updateProduct",
            "summary": "Change sku, name, description or price (quantity: use stock adjustments)",
            "parameters": [ID_PARAMETER],
            "requestBody": _body(PRODUCT_PATCH.name),
            "responses": {
                "200": _json("Product", "The changed product"),
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
        product = await self.state.database.read(
            functools.partial(service.get_product, product_id=product_id)
        )
        self.send_json(200, product)

    async def patch(self, raw_id: str) -> None:
        """Change fields; 404 unknown id, 409 duplicate sku."""
        product_id = parse_id(raw_id)
        fields = PRODUCT_PATCH.parse(self.json_body())
        product = await self.state.database.run(
            functools.partial(service.patch_product, product_id=product_id, fields=fields)
        )
        self.send_json(200, product)

    async def delete(self, raw_id: str) -> None:
        """Delete; 404 unknown id."""
        product_id = parse_id(raw_id)
        await self.state.database.run(
            functools.partial(service.delete_product, product_id=product_id)
        )
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
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "description": "Retries with the same key and body apply once and get the "
                    "same answer; the same key with another request gets 422",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                },
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
        key = self.request.headers.get("Idempotency-Key")
        idempotency = None
        if key is not None:
            if IDEMPOTENCY_KEY_PATTERN.fullmatch(key) is None:
                raise ApiError(
                    400, "invalid_idempotency_key", "Idempotency-Key must be 1-255 visible ASCII"
                )
            fingerprint = service.request_fingerprint("POST", self.request.path, fields)
            idempotency = (key, fingerprint)
        answer = await self.state.database.run(
            functools.partial(
                service.adjust_stock,
                product_id=product_id,
                delta=fields["delta"],
                reason=fields["reason"],
                idempotency=idempotency,
            )
        )
        outcome = "applied" if answer.status == 200 else answer.body["error"]["code"]
        self.state.metrics.adjustments.labels(outcome).inc()
        self.send_json(answer.status, answer.body)
