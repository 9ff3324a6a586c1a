"""The OpenAPI 3.1 document, generated from the route table and the body schemas.

Why: a document assembled from the same objects that route and validate requests cannot list a
path, method or field the code does not serve. `build_document` refuses to build when a handler
documents a method it does not implement, or implements one it does not document.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from inventory_api import __version__
from inventory_api.resources import PRODUCT
from inventory_api.routes import ROUTES, Route
from inventory_api.schemas import MAX_QUANTITY, STOCK_ADJUSTMENT

ERROR_STATUSES = {
    400: "Invalid request (malformed JSON, wrong types, unknown fields, bad parameters)",
    404: "Not found",
    409: "Conflict (duplicate sku, or stock would go below zero)",
    413: "Request body larger than 64 KiB",
    415: "Content-Type is not application/json",
    422: "Idempotency-Key reused with a different request",
    503: "Not ready",
}

RESPONSE_SCHEMAS: dict[str, dict[str, Any]] = {
    "ProductPage": {
        "type": "object",
        "additionalProperties": False,
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{PRODUCT.name}"}},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Opaque; pass as `cursor` for the next page. null on the last page",
            },
        },
    },
    "StockAdjustmentResult": {
        "type": "object",
        "additionalProperties": False,
        "required": ["product_id", "delta", "quantity", "movement_id"],
        "properties": {
            "product_id": {"type": "integer"},
            "delta": {"type": "integer"},
            "quantity": {"type": "integer", "minimum": 0, "maximum": MAX_QUANTITY},
            "movement_id": {"type": "integer"},
        },
    },
    "Status": {
        "type": "object",
        "additionalProperties": False,
        "required": ["status"],
        "properties": {"status": {"type": "string"}},
    },
    "Error": {
        "type": "object",
        "additionalProperties": False,
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "additionalProperties": False,
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {},
                    "request_id": {"type": "string"},
                },
            }
        },
    },
}


def _paths(routes: Iterable[Route]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in routes:
        documented = set(route.handler.operations)
        implemented = set(route.methods)
        if documented != implemented:
            raise ValueError(
                f"{route.path}: documented methods {sorted(documented)} "
                f"!= implemented {sorted(implemented)}"
            )
        paths[route.path] = {method: route.handler.operations[method] for method in route.methods}
    return paths


def build_document(routes: Iterable[Route] = ROUTES) -> dict[str, Any]:
    """The complete OpenAPI 3.1 document for `routes`."""
    error_ref = {"$ref": "#/components/schemas/Error"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Inventory API",
            "version": __version__,
            "description": "Products and an append-only stock movement ledger. Every error "
            'is {"error": {"code", "message", "details"?}}.',
        },
        "paths": _paths(routes),
        "components": {
            "schemas": {
                **RESPONSE_SCHEMAS,
                **PRODUCT.schemas(),
                STOCK_ADJUSTMENT.name: STOCK_ADJUSTMENT.json_schema(),
            },
            "responses": {
                f"Error{status}": {
                    "description": description,
                    "content": {"application/json": {"schema": error_ref}},
                }
                for status, description in ERROR_STATUSES.items()
            },
        },
    }
