"""The served OpenAPI document is valid, lists exactly the served routes, describes real answers."""

from __future__ import annotations

from typing import Any, ClassVar

import jsonschema  # type: ignore[import-untyped]  # no types-jsonschema in the lock yet
import pytest
from inventory_api.handlers.base import HTTP_METHODS, BaseHandler
from inventory_api.openapi import build_document
from inventory_api.routes import ROUTES, Route
from openapi_spec_validator import validate

from tests.api.apiprocess import ApiProcess
from tests.api.helpers import create_product

PROBE_BODY = {"probe": True}


@pytest.fixture(scope="module")
def document(api: ApiProcess) -> dict[str, Any]:
    response = api.request("GET", "/api/v1/openapi.json")
    assert response.status_code == 200
    served: dict[str, Any] = response.json()
    return served


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_document_paths_and_methods_are_the_route_table(document: dict[str, Any]) -> None:
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    routed = {(route.path, method) for route in ROUTES for method in route.methods}
    assert documented == routed


def test_every_documented_operation_is_served_and_nothing_else(
    api: ApiProcess, document: dict[str, Any]
) -> None:
    """Documented method: the route answers (anything but 404-no-route and 405). Any other
    method on the same path: 405."""
    product = create_product(api, quantity=1)
    for path, item in document["paths"].items():
        url = path.replace("{id}", str(product["id"]))
        for method in HTTP_METHODS:
            if method in ("head", "options"):
                continue
            response = api.request(method.upper(), url, json=PROBE_BODY)
            if method in item:
                assert response.status_code != 405, (method, path)
                if response.status_code == 404:
                    assert response.json()["error"]["message"] != f"no route for {url}"
            else:
                assert response.status_code == 405, (method, path, response.status_code)


def _validator(document: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema.Draft202012Validator(schema)


def test_real_answers_match_their_documented_schemas(
    api: ApiProcess, document: dict[str, Any]
) -> None:
    product = create_product(api, quantity=3, description="checked against the document")
    _validator(document, "Product").validate(product)
    page = api.request("GET", "/api/v1/products", params={"limit": 2}).json()
    _validator(document, "ProductPage").validate(page)
    adjusted = api.request(
        "POST",
        f"/api/v1/products/{product['id']}/stock-adjustments",
        json={"delta": -1, "reason": "schema"},
    ).json()
    _validator(document, "StockAdjustmentResult").validate(adjusted)
    error = api.request("POST", "/api/v1/products", json={"nope": 1}).json()
    _validator(document, "Error").validate(error)
    _validator(document, "Status").validate(api.request("GET", "/readyz").json())


def test_request_body_schemas_agree_with_the_validator(
    api: ApiProcess, document: dict[str, Any]
) -> None:
    """A body the document rejects is rejected by the API, and one it accepts is accepted."""
    create = _validator(document, "ProductCreate")
    bad = {"sku": "-starts-with-dash", "name": "x", "price_cents": 1}
    assert not create.is_valid(bad)
    assert api.request("POST", "/api/v1/products", json=bad).status_code == 400
    good = {"sku": "Doc-Valid.1", "name": "x", "price_cents": 0, "quantity": 0}
    assert create.is_valid(good)
    assert api.request("POST", "/api/v1/products", json=good).status_code in (201, 409)


class _UndocumentedPut(BaseHandler):
    operations: ClassVar[dict[str, dict[str, Any]]] = {"get": {"responses": {}}}

    def get(self) -> None:
        """Documented."""

    def put(self) -> None:
        """Not documented: the generator must refuse."""


def test_generator_refuses_a_handler_whose_methods_are_not_documented() -> None:
    with pytest.raises(ValueError, match=r"documented methods \['get'\] != implemented"):
        build_document([Route("/x", _UndocumentedPut)])
