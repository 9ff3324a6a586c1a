"""Small helpers shared by the API tests."""

from __future__ import annotations

import uuid
from typing import Any

from tests.api.apiprocess import ApiProcess

PRODUCTS = "/api/v1/products"


def unique_sku(prefix: str = "SKU") -> str:
    """A sku no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create_product(api: ApiProcess, **fields: Any) -> dict[str, Any]:
    """POST a product (defaults filled in) and return it; fails the test unless 201."""
    body = {"sku": unique_sku(), "name": "Widget", "price_cents": 1999, **fields}
    response = api.request("POST", PRODUCTS, json=body)
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    return product


def error_code(response: Any) -> str:
    """The error code of a JSON error response (asserts the documented shape)."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    code: str = body["error"]["code"]
    return code
