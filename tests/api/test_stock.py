"""Stock adjustments: atomic, never negative, recorded in the ledger, idempotent with a key."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pg8000.native
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.api.apiprocess import ApiProcess
from tests.api.helpers import create_product, error_code
from tests.support.postgres import PostgresServer


def _adjust(
    api: ApiProcess, product_id: int, delta: int, key: str | None = None, reason: str = "test"
) -> requests.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return api.request(
        "POST",
        f"/api/v1/products/{product_id}/stock-adjustments",
        json={"delta": delta, "reason": reason},
        headers=headers,
    )


def _ledger(server: PostgresServer, api_db: str, product_id: int) -> list[list[Any]]:
    conn = server.connect(api_db)
    try:
        return list(
            conn.run(
                "SELECT delta, quantity_after FROM stock_movements"
                " WHERE product_id = :p ORDER BY id",
                p=product_id,
            )
            or []
        )
    finally:
        conn.close()


@pytest.fixture(scope="module")
def api_db(api: ApiProcess) -> str:
    """The database name the session API serves (read from its environment)."""
    return _database_of(api)


def _database_of(api: ApiProcess) -> str:
    with open(f"/proc/{api.process.pid}/environ", "rb") as environ:
        for entry in environ.read().split(b"\0"):
            if entry.startswith(b"DATABASE_URL="):
                return entry.decode().rsplit("/", 1)[1]
    raise AssertionError("DATABASE_URL not in the API process environment")


def test_adjustment_returns_the_new_quantity_and_appends_to_the_ledger(
    api: ApiProcess, postgres_server: PostgresServer, api_db: str
) -> None:
    product = create_product(api, quantity=10)
    response = _adjust(api, product["id"], -4, reason="sold")
    assert response.status_code == 200
    body = response.json()
    assert body["quantity"] == 6
    assert body["delta"] == -4
    assert body["product_id"] == product["id"]
    assert api.request("GET", f"/api/v1/products/{product['id']}").json()["quantity"] == 6
    assert _ledger(postgres_server, api_db, product["id"]) == [[10, 10], [-4, 6]]


def test_going_below_zero_is_409_and_changes_nothing(
    api: ApiProcess, postgres_server: PostgresServer, api_db: str
) -> None:
    product = create_product(api, quantity=2)
    response = _adjust(api, product["id"], -3)
    assert response.status_code == 409
    assert error_code(response) == "insufficient_stock"
    assert response.json()["error"]["details"] == {"quantity": 2, "delta": -3}
    assert api.request("GET", f"/api/v1/products/{product['id']}").json()["quantity"] == 2
    assert _ledger(postgres_server, api_db, product["id"]) == [[2, 2]]


def test_adjusting_an_unknown_product_is_404(api: ApiProcess) -> None:
    assert _adjust(api, 987_654_321, 1).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"delta": 0, "reason": "x"},
        {"delta": 1},
        {"delta": "1", "reason": "x"},
        {"delta": 10**13, "reason": "x"},
    ],
)
def test_invalid_adjustments_are_400(api: ApiProcess, body: dict[str, Any]) -> None:
    product = create_product(api)
    response = api.request("POST", f"/api/v1/products/{product['id']}/stock-adjustments", json=body)
    assert response.status_code == 400


def test_idempotency_key_applies_once_and_replays_the_same_answer(api: ApiProcess) -> None:
    product = create_product(api, quantity=5)
    key = f"key-{uuid.uuid4()}"
    first = _adjust(api, product["id"], -2, key)
    second = _adjust(api, product["id"], -2, key)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert api.request("GET", f"/api/v1/products/{product['id']}").json()["quantity"] == 3


def test_idempotency_key_reused_with_another_request_is_422(api: ApiProcess) -> None:
    product = create_product(api, quantity=5)
    key = f"key-{uuid.uuid4()}"
    assert _adjust(api, product["id"], -1, key).status_code == 200
    response = _adjust(api, product["id"], -2, key)
    assert response.status_code == 422
    assert error_code(response) == "idempotency_key_reused"
    other = create_product(api, quantity=5)
    assert _adjust(api, other["id"], -1, key).status_code == 422
    assert api.request("GET", f"/api/v1/products/{product['id']}").json()["quantity"] == 4


def test_a_refused_adjustment_is_replayed_as_refused(api: ApiProcess) -> None:
    product = create_product(api, quantity=1)
    key = f"key-{uuid.uuid4()}"
    assert _adjust(api, product["id"], -5, key).status_code == 409
    assert _adjust(api, product["id"], 10).status_code == 200
    replay = _adjust(api, product["id"], -5, key)
    assert replay.status_code == 409
    assert api.request("GET", f"/api/v1/products/{product['id']}").json()["quantity"] == 11


def test_bad_idempotency_key_is_400(api: ApiProcess) -> None:
    product = create_product(api, quantity=1)
    response = _adjust(api, product["id"], 1, "x" * 256)
    assert response.status_code == 400
    assert error_code(response) == "invalid_idempotency_key"


def test_concurrent_adjustments_are_exact_and_never_negative(
    api: ApiProcess, postgres_server: PostgresServer, api_db: str
) -> None:
    """60 simultaneous decrements of 1 and 20 increments of 1 on a product holding 50.

    Whatever the interleaving, every increment applies, decrements apply only while stock
    remains, the final quantity equals 50 + applied increments - applied decrements, it is
    never negative, and the ledger agrees row by row.
    """
    product = create_product(api, quantity=50)
    deltas = [-1] * 60 + [1] * 20
    barrier = threading.Barrier(len(deltas))

    def send(delta: int) -> tuple[int, int]:
        session = requests.Session()
        barrier.wait()
        response = session.post(
            api.url(f"/api/v1/products/{product['id']}/stock-adjustments"),
            json={"delta": delta, "reason": "race"},
            timeout=30,
        )
        return delta, response.status_code

    with ThreadPoolExecutor(max_workers=len(deltas)) as pool:
        results = Counter(pool.map(send, deltas))
    assert set(results) <= {(-1, 200), (-1, 409), (1, 200)}, results
    assert results[(1, 200)] == 20
    assert results[(-1, 200)] >= 50  # 50 in stock before any increment
    final = api.request("GET", f"/api/v1/products/{product['id']}").json()["quantity"]
    assert final == 50 + 20 - results[(-1, 200)]
    assert final >= 0
    ledger = _ledger(postgres_server, api_db, product["id"])
    assert sum(delta for delta, _ in ledger) == final
    assert len(ledger) == 1 + 20 + results[(-1, 200)]
    assert all(after >= 0 for _, after in ledger)


def test_concurrent_retries_with_one_key_apply_once(api: ApiProcess) -> None:
    product = create_product(api, quantity=100)
    key = f"key-{uuid.uuid4()}"
    barrier = threading.Barrier(20)

    def send(_: int) -> tuple[int, str]:
        session = requests.Session()
        barrier.wait()
        response = session.post(
            api.url(f"/api/v1/products/{product['id']}/stock-adjustments"),
            json={"delta": -7, "reason": "retry storm"},
            headers={"Idempotency-Key": key},
            timeout=30,
        )
        return response.status_code, response.text

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = set(pool.map(send, range(20)))
    assert len(answers) == 1, answers
    assert next(iter(answers))[0] == 200
    assert api.request("GET", f"/api/v1/products/{product['id']}").json()["quantity"] == 93


def test_ledger_refuses_update_and_delete(postgres_server: PostgresServer, api_db: str) -> None:
    conn = postgres_server.connect(api_db)
    try:
        for statement in (
            "UPDATE stock_movements SET delta = 1000",
            "DELETE FROM stock_movements",
            "TRUNCATE stock_movements",
        ):
            with pytest.raises(pg8000.native.DatabaseError, match="append-only"):
                conn.run(statement)
    finally:
        conn.close()


def _adjustment_counts(api: ApiProcess) -> dict[str, float]:
    text = api.request("GET", "/metrics").text
    return {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "inventory_stock_adjustments"
        for sample in family.samples
        if sample.name == "inventory_stock_adjustments_total"
    }


def test_a_replay_is_counted_as_replayed_not_as_a_second_applied_adjustment(
    api: ApiProcess,
) -> None:
    product = create_product(api, quantity=5)
    key = f"key-{uuid.uuid4()}"
    before = Counter(_adjustment_counts(api))
    for _ in range(3):
        assert _adjust(api, product["id"], -1, key).status_code == 200
    after = Counter(_adjustment_counts(api))
    after.subtract(before)
    assert +after == {"applied": 1, "replayed": 2}
    assert api.request("GET", f"/api/v1/products/{product['id']}").json()["quantity"] == 4
