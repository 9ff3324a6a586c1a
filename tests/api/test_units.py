"""Pure logic without a server: body schemas, cursors, the route table."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from inventory_api.cursor import decode_cursor, encode_cursor
from inventory_api.errors import ApiError
from inventory_api.resources import PRODUCT
from inventory_api.routes import ROUTES, Route
from inventory_api.schemas import STOCK_ADJUSTMENT, FieldProblem, IntegerField, StringField


def test_create_accepts_a_valid_body_and_reports_every_problem_at_once() -> None:
    body = {"sku": "A-1", "name": "x", "price_cents": 0}
    assert PRODUCT.create.parse(body) == body
    with pytest.raises(ApiError) as raised:
        PRODUCT.create.parse({"sku": "", "price_cents": -1, "extra": 1})
    assert raised.value.status_code == 400
    assert sorted(raised.value.details) == [
        "extra: unknown field",
        "name: is required",
        "price_cents: must be between 0 and 9007199254740991",
        "sku: length must be 1..64",
    ]


def test_patch_needs_at_least_one_field_and_never_quantity() -> None:
    with pytest.raises(ApiError, match="invalid"):
        PRODUCT.patch.parse({})
    with pytest.raises(ApiError):
        PRODUCT.patch.parse({"quantity": 1})
    assert PRODUCT.patch.parse({"description": "multi\nline\ttabs"})


def test_adjustment_delta_is_a_nonzero_integer() -> None:
    for delta in (0, 1.5, True, None, "3"):
        with pytest.raises(ApiError):
            STOCK_ADJUSTMENT.parse({"delta": delta, "reason": "r"})
    assert STOCK_ADJUSTMENT.parse({"delta": -3, "reason": "r"})["delta"] == -3


def test_cursor_round_trips_and_binds_to_the_query() -> None:
    cursor = encode_cursor(42, "mug")
    assert decode_cursor(cursor, "mug") == 42
    with pytest.raises(ApiError, match="different query"):
        decode_cursor(cursor, None)


@pytest.mark.parametrize("cursor", ["", "@@@", "YWJj", "A" * 40])
def test_garbage_cursors_are_400(cursor: str) -> None:
    with pytest.raises(ApiError) as raised:
        decode_cursor(cursor, None)
    assert raised.value.status_code == 400


def test_route_patterns_match_one_segment_per_parameter() -> None:
    route = Route("/api/v1/products/{id}/stock-adjustments", ROUTES[0].handler)
    assert route.pattern == "/api/v1/products/([^/]+)/stock-adjustments$"
    assert {r.path for r in ROUTES} >= {"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("2.0"), 2), (Decimal("2E+1"), 20), (2.0, 2), (7, 7)],
)
def test_integers_are_judged_by_value_as_json_schema_does(value: object, expected: int) -> None:
    assert IntegerField("n", 0, 100).convert(value) == expected


@pytest.mark.parametrize(
    "value", [Decimal("2.5"), Decimal("1E+999999999"), Decimal("-0.0"), True, "3", None]
)
def test_non_integers_huge_exponents_and_zero_are_refused(value: object) -> None:
    """A huge exponent is refused by range before any conversion (no billion-digit int)."""
    with pytest.raises(FieldProblem):
        IntegerField("n", -100, 100, nonzero=True).convert(value)


def test_a_string_field_documents_exactly_the_pattern_it_checks() -> None:
    field = StringField("s", 10)
    pattern = field.json_schema()["pattern"]
    for value in ("ok", "tab\tno", "nul\x00", "c1\x85"):
        documented = re.search(pattern, value) is not None
        try:
            field.convert(value)
            checked = True
        except FieldProblem:
            checked = False
        assert documented == checked, value
