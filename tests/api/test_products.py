"""Product CRUD and keyset pagination through HTTP."""

from __future__ import annotations

from typing import Any

from tests.api.apiprocess import ApiProcess
from tests.api.helpers import PRODUCTS, create_product, error_code, unique_sku


def test_create_returns_201_with_the_stored_product(api: ApiProcess) -> None:
    sku = unique_sku()
    body = {"sku": sku, "name": "Blue mug", "description": "350 ml", "price_cents": 1250}
    response = api.request("POST", PRODUCTS, json=body)
    assert response.status_code == 201
    product = response.json()
    assert {k: product[k] for k in body} == body
    assert product["quantity"] == 0
    assert product["id"] >= 1
    assert response.headers["Location"] == f"{PRODUCTS}/{product['id']}"
    assert api.request("GET", f"{PRODUCTS}/{product['id']}").json() == product


def test_duplicate_sku_is_409(api: ApiProcess) -> None:
    product = create_product(api)
    response = api.request(
        "POST", PRODUCTS, json={"sku": product["sku"], "name": "Other", "price_cents": 1}
    )
    assert response.status_code == 409
    assert error_code(response) == "duplicate_sku"


def test_patch_changes_only_the_given_fields(api: ApiProcess) -> None:
    product = create_product(api, quantity=3)
    response = api.request(
        "PATCH", f"{PRODUCTS}/{product['id']}", json={"name": "Renamed", "price_cents": 0}
    )
    assert response.status_code == 200
    changed = response.json()
    assert changed["name"] == "Renamed"
    assert changed["price_cents"] == 0
    assert changed["sku"] == product["sku"]
    assert changed["quantity"] == 3
    assert changed["updated_at"] >= product["updated_at"]


def test_patch_cannot_set_quantity_or_take_a_used_sku(api: ApiProcess) -> None:
    first, second = create_product(api), create_product(api)
    path = f"{PRODUCTS}/{second['id']}"
    quantity = api.request("PATCH", path, json={"quantity": 10})
    assert quantity.status_code == 400
    assert "quantity: unknown field" in quantity.json()["error"]["details"]
    taken = api.request("PATCH", path, json={"sku": first["sku"]})
    assert taken.status_code == 409
    empty = api.request("PATCH", path, json={})
    assert empty.status_code == 400


def test_delete_is_204_then_404(api: ApiProcess) -> None:
    product = create_product(api)
    path = f"{PRODUCTS}/{product['id']}"
    response = api.request("DELETE", path)
    assert response.status_code == 204
    assert response.content == b""
    assert api.request("GET", path).status_code == 404
    assert api.request("DELETE", path).status_code == 404


def test_unknown_or_impossible_ids_are_404(api: ApiProcess) -> None:
    for raw in ("987654321", "0", "-1", "abc", "99999999999999999999", "1.5", "%D9%A3"):
        for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)):
            response = api.request(method, f"{PRODUCTS}/{raw}", json=body)
            assert response.status_code == 404, (method, raw, response.text)
            assert error_code(response) == "not_found"


def _all_pages(api: ApiProcess, **params: Any) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = api.request("GET", PRODUCTS, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_keyset_pagination_visits_every_match_once_in_id_order(api: ApiProcess) -> None:
    marker = unique_sku("PAGE").lower()
    created = [create_product(api, sku=f"{marker}-{i}", name=f"Paged {i}") for i in range(7)]
    pages = _all_pages(api, q=marker, limit=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    ids = [item["id"] for page in pages for item in page]
    assert ids == [p["id"] for p in created]


def test_q_matches_name_or_sku_case_insensitively_and_treats_wildcards_literally(
    api: ApiProcess,
) -> None:
    marker = unique_sku("Q")
    by_name = create_product(api, name=f"Teapot {marker} 100%_off")
    by_sku = create_product(api, sku=f"{marker}-X")
    found = [item["id"] for page in _all_pages(api, q=marker.lower()) for item in page]
    assert found == [by_name["id"], by_sku["id"]]
    literal = [item["id"] for page in _all_pages(api, q=f"{marker} 100%_") for item in page]
    assert literal == [by_name["id"]]
    assert _all_pages(api, q=f"{marker}%") == [[]]


def test_bad_list_parameters_are_400(api: ApiProcess) -> None:
    for params in ({"limit": "0"}, {"limit": "201"}, {"limit": "ten"}, {"q": "x" * 101}):
        response = api.request("GET", PRODUCTS, params=params)
        assert response.status_code == 400, params
        assert error_code(response) == "invalid_parameter"


def test_altered_or_foreign_cursor_is_400(api: ApiProcess) -> None:
    marker = unique_sku("CUR").lower()
    for i in range(3):
        create_product(api, sku=f"{marker}-{i}")
    cursor = api.request("GET", PRODUCTS, params={"q": marker, "limit": 1}).json()["next_cursor"]
    assert cursor
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    for bad, q in ((flipped, marker), ("not-a-cursor!", marker), (cursor, "other"), ("", marker)):
        response = api.request("GET", PRODUCTS, params={"q": q, "cursor": bad, "limit": 1})
        if bad == "":
            assert response.status_code == 200  # an empty cursor means the first page
            continue
        assert response.status_code == 400, (bad, q)
        assert error_code(response) == "invalid_cursor"
