"""Every client error is JSON with the right status; hostile input is stored or refused exactly."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator

import pytest
from inventory_api.routes import ROUTES, Route

from tests.api.apiprocess import ApiProcess
from tests.api.helpers import PRODUCTS, create_product, error_code, unique_sku
from tests.support.postgres import Database, PostgresServer

JSON = {"Content-Type": "application/json"}


def _post_raw(api: ApiProcess, body: bytes, headers: dict[str, str] | None = None) -> int:
    response = api.request("POST", PRODUCTS, data=body, headers=headers or JSON)
    assert response.headers["Content-Type"].startswith("application/json")
    error_code(response)
    return response.status_code


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"",
        b"[]",
        b'"just a string"',
        b'{"sku": "A", "name": "x", "price_cents": NaN}',
        b'{"sku": "A", "sku": "B", "name": "x", "price_cents": 1}',
        b"\xff\xfe not utf-8",
        b"[" * 30_000 + b"]" * 30_000,
        b'{"sku": "A", "name": "x", "price_cents": 1' + b"0" * 5000 + b"}",
    ],
    ids=[
        "truncated",
        "empty",
        "array",
        "string",
        "nan",
        "duplicate-key",
        "not-utf8",
        "deep-nesting",
        "5000-digit-number",
    ],
)
def test_malformed_json_is_400(api: ApiProcess, body: bytes) -> None:
    assert _post_raw(api, body) == 400


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"name": "x", "price_cents": 1}, "sku: is required"),
        ({"sku": "A", "name": "x", "price_cents": "1"}, "price_cents: must be an integer"),
        ({"sku": "A", "name": "x", "price_cents": 1.5}, "price_cents: must be an integer"),
        ({"sku": "A", "name": "x", "price_cents": True}, "price_cents: must be an integer"),
        ({"sku": "A", "name": "x", "price_cents": -1}, "price_cents: must be between"),
        ({"sku": "A", "name": "x", "price_cents": 2**53}, "price_cents: must be between"),
        ({"sku": "A", "name": "x", "price_cents": 10**30}, "price_cents: must be between"),
        ({"sku": "A", "name": "x", "price_cents": 1, "color": "red"}, "color: unknown field"),
        ({"sku": "A B", "name": "x", "price_cents": 1}, "sku: must match"),
        ({"sku": "A", "name": "", "price_cents": 1}, "name: length must be"),
        ({"sku": "A", "name": "x" * 201, "price_cents": 1}, "name: length must be"),
        ({"sku": "A", "name": "nul\x00byte", "price_cents": 1}, "name: contains control"),
        ({"sku": "A", "name": "x", "price_cents": 1, "quantity": -5}, "quantity: must be"),
    ],
)
def test_wrong_fields_are_400_with_the_problem_named(
    api: ApiProcess, body: dict[str, object], problem: str
) -> None:
    response = api.request("POST", PRODUCTS, json=body)
    assert response.status_code == 400
    assert error_code(response) == "validation_failed"
    assert any(detail.startswith(problem) for detail in response.json()["error"]["details"])


@pytest.mark.parametrize("number", ["1999.0", "1.999e3", "19990E-1"])
def test_integral_numbers_are_integers_as_json_schema_says(api: ApiProcess, number: str) -> None:
    """JSON Schema's `integer` is a value, not a spelling: 1999.0 is the integer 1999."""
    body = f'{{"sku": "{unique_sku()}", "name": "x", "price_cents": {number}}}'
    response = api.request("POST", PRODUCTS, data=body.encode(), headers=JSON)
    assert response.status_code == 201, response.text
    assert response.json()["price_cents"] == 1999


def test_a_fraction_beyond_double_precision_is_still_not_an_integer(api: ApiProcess) -> None:
    body = b'{"sku": "A", "name": "x", "price_cents": 1.0000000000000001}'
    assert _post_raw(api, body) == 400


def test_unpaired_surrogate_is_400_not_500(api: ApiProcess) -> None:
    body = b'{"sku": "A", "name": "\\ud800", "price_cents": 1}'
    assert _post_raw(api, body) == 400


def test_body_over_64_kib_is_413(api: ApiProcess) -> None:
    body = json.dumps({"sku": "A", "name": "x", "price_cents": 1, "description": "d" * 70_000})
    assert _post_raw(api, body.encode()) == 413


def test_multi_megabyte_and_chunked_bodies_are_413_not_a_reset(api: ApiProcess) -> None:
    """Bodies are read and dropped past 64 KiB, so even large ones get a clean JSON 413."""
    assert _post_raw(api, b"x" * 3_000_000) == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"y" * 4096  # 160 KiB without a Content-Length (chunked transfer)

    response = api.request("POST", PRODUCTS, data=chunks(), headers=JSON)
    assert response.status_code == 413
    assert error_code(response) == "payload_too_large"
    assert api.request("GET", "/healthz").status_code == 200


def test_wrong_content_type_is_415(api: ApiProcess) -> None:
    body = json.dumps({"sku": unique_sku(), "name": "x", "price_cents": 1}).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
        assert _post_raw(api, body, {"Content-Type": content_type}) == 415
    assert _post_raw(api, body, {"Content-Type": "application/json; charset=latin-1"}) == 415
    accepted = api.request(
        "POST", PRODUCTS, data=body, headers={"Content-Type": "Application/JSON; charset=UTF-8"}
    )
    assert accepted.status_code == 201


def test_unknown_route_and_method_are_json(api: ApiProcess) -> None:
    response = api.request("GET", "/api/v2/nothing")
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    response = api.request("PUT", PRODUCTS, json={})
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.path)
def test_405_names_the_allowed_methods(api: ApiProcess, route: Route) -> None:
    """RFC 9110 15.5.6: a 405 carries Allow, listing what the resource does support."""
    allowed = {method.upper() for method in route.methods}
    refused = next(m for m in ("PUT", "PATCH", "DELETE", "POST") if m not in allowed)
    response = api.request(refused, route.path.replace("{id}", "1"), json={})
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed


def _exchange(sock: socket.socket, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send one HTTP/1.1 request on `sock` and read exactly one Content-Length response."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response; got {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the response body"
        body += chunk
    return status, headers, body


def test_404_keeps_the_keep_alive_connection_usable(api: ApiProcess) -> None:
    """A 404 (with or without a body) must not leave the connection closing under the client:
    a pooled client sends its next request on it and, racing the close, gets a reset."""
    with socket.create_connection(("127.0.0.1", api.port), timeout=10) as sock:
        status, headers, _ = _exchange(sock, b"GET /api/v2/nothing HTTP/1.1\r\nHost: t\r\n\r\n")
        assert status.startswith("HTTP/1.1 404")
        assert "connection" not in headers
        posted = b"POST /nothing HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n{}{}{"
        status, headers, body = _exchange(sock, posted)
        assert status.startswith("HTTP/1.1 404")
        assert "connection" not in headers
        assert json.loads(body)["error"]["code"] == "not_found"
        status, _, _ = _exchange(sock, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        assert status.startswith("HTTP/1.1 200")


def test_refusal_before_the_body_announces_the_close(api: ApiProcess) -> None:
    """A method tornado refuses before reading the body closes the connection: the answer says
    `Connection: close` so clients do not reuse it, and it is still a JSON 405."""
    with socket.create_connection(("127.0.0.1", api.port), timeout=10) as sock:
        request = b"BREW /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
        status, headers, body = _exchange(sock, request)
        assert status.startswith("HTTP/1.1 405")
        assert headers["connection"] == "close"
        assert json.loads(body)["error"]["code"] == "method_not_allowed"
        assert headers["allow"] == "GET"
        assert sock.recv(1) == b""


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE products; --",
        "Robert'); DELETE FROM stock_movements; --",
        "Zoë 北京 🚀 \u202e RTL",
        "%_\\ wildcards",
        "$1 $$ :name ?",
    ],
)
def test_hostile_strings_are_stored_exactly(api: ApiProcess, text: str) -> None:
    product = create_product(api, name=text, description=text + "\nsecond line")
    fetched = api.request("GET", f"{PRODUCTS}/{product['id']}").json()
    assert fetched["name"] == text
    assert fetched["description"] == text + "\nsecond line"
    assert api.request("GET", "/readyz").status_code == 200


def test_largest_allowed_numbers_round_trip(api: ApiProcess) -> None:
    product = create_product(api, price_cents=2**53 - 1, quantity=10**12)
    assert product["price_cents"] == 2**53 - 1
    assert product["quantity"] == 10**12


def test_unexpected_failure_is_500_without_a_stack_trace(
    postgres_server: PostgresServer,
    fresh_db: Database,
    api_factory: Callable[..., ApiProcess],
) -> None:
    api = api_factory(fresh_db)
    created = create_product(api)
    # Break the schema under the running API: the next read fails in a way no handler expects.
    postgres_server.superuser_sql(
        "ALTER TABLE products RENAME COLUMN name TO renamed", dbname=fresh_db.name
    )
    response = api.request("GET", f"{PRODUCTS}/{created['id']}", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error"
    assert error["request_id"] == "boom-1"
    assert "Traceback" not in response.text
    assert "renamed" not in response.text
    assert "column" not in response.text
    logged = api.wait_for_logs("boom-1")
    assert any(r["level"] == "ERROR" and "Traceback" in r.get("exception", "") for r in logged)
