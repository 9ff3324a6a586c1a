"""Operational endpoints, request ids, structured logs and metrics, through HTTP."""

from __future__ import annotations

import re
import uuid

from tests.api.apiprocess import ApiProcess


def test_healthz_answers_without_the_database(api: ApiProcess) -> None:
    response = api.request("GET", "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_200_when_the_database_answers(api: ApiProcess) -> None:
    response = api.request("GET", "/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_request_id_is_echoed_and_logged_as_json(api: ApiProcess) -> None:
    request_id = f"test-{uuid.uuid4().hex}"
    response = api.request(
        "GET", "/api/v1/products/999999999", headers={"X-Request-ID": request_id}
    )
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == request_id
    lines = api.wait_for_logs(request_id)
    assert len(lines) == 1
    access = lines[0]
    assert access["message"] == "request"
    assert access["status"] == 404
    assert access["route"] == "/api/v1/products/{id}"
    assert access["method"] == "GET"
    assert access["duration_ms"] >= 0


def test_unsafe_request_id_is_replaced_by_a_generated_one(api: ApiProcess) -> None:
    response = api.request("GET", "/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    generated = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]+", generated)
    again = api.request("GET", "/healthz").headers["X-Request-ID"]
    assert again != generated


def test_metrics_count_requests_by_route_and_status(api: ApiProcess) -> None:
    api.request("GET", "/api/v1/products/123456789")
    response = api.request("GET", "/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = response.text
    assert 'http_requests_total{method="GET",route="/api/v1/products/{id}",status="404"}' in text
    assert "http_request_duration_seconds_bucket{" in text
    for gauge in ("pool_size", "pool_checked_out", "pool_overflow", "pool_capacity"):
        assert f"inventory_db_{gauge} " in text
    assert "inventory_db_pool_capacity 4.0" in text
