"""A database outage: readiness stays up (degraded), requests get 503 + Retry-After, and the API
recovers by itself; SIGTERM drains in-flight requests (bounded)."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator

import pg8000.native
import pytest
import requests
from inventory_api.migrate import upgrade
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from tests.api.apiprocess import ApiProcess
from tests.api.helpers import create_product
from tests.support.postgres import Database, PostgresServer, running_postgres


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server this test may stop and start."""
    with running_postgres() as server:
        yield server


def test_a_database_outage_answers_503_with_retry_after_and_recovers_by_itself(
    own_server: PostgresServer, api_factory: Callable[..., ApiProcess]
) -> None:
    database = own_server.create_database()
    engine = create_engine(database.sqlalchemy_url, poolclass=NullPool)
    upgrade(engine)
    api = api_factory(database, READINESS_TIMEOUT_SECONDS="1")
    product = create_product(api)
    assert api.request("GET", "/readyz").json() == {"status": "ready"}

    own_server.stop()
    _wait_for(lambda: api.request("GET", "/readyz").json()["status"] == "degraded", 30, "degraded")
    ready = api.request("GET", "/readyz")
    assert ready.status_code == 200, "readiness must not empty the Service on a shared outage"
    assert api.request("GET", "/healthz").status_code == 200  # liveness never needs the DB
    read = api.request("GET", f"/api/v1/products/{product['id']}")
    assert read.status_code == 503
    assert read.json()["error"]["code"] == "database_unavailable"
    assert int(read.headers["Retry-After"]) > 0
    write = api.request(
        "POST",
        f"/api/v1/products/{product['id']}/stock-adjustments",
        json={"delta": 1, "reason": "failover"},
    )
    assert write.status_code == 503
    assert write.headers["Retry-After"] == read.headers["Retry-After"]

    own_server.start()
    _wait_for(lambda: api.request("GET", "/readyz").json() == {"status": "ready"}, 60, "ready")
    assert api.request("GET", f"/api/v1/products/{product['id']}").status_code == 200


def _in_flight(api: ApiProcess) -> float:
    text = api.request("GET", "/metrics").text
    match = re.search(r"^http_requests_in_flight (\S+)$", text, re.MULTILINE)
    assert match
    return float(match.group(1)) - 1  # minus this scrape


def _blocked_adjustment(
    api: ApiProcess, database: Database, product_id: int
) -> tuple[threading.Thread, list[requests.Response], pg8000.native.Connection]:
    """Lock the product row, then send an adjustment that waits on the lock."""
    locker = database.connect()
    locker.run("BEGIN")
    locker.run("SELECT id FROM products WHERE id = :id FOR UPDATE", id=product_id)
    answers: list[requests.Response] = []

    def send() -> None:
        with contextlib.suppress(requests.ConnectionError):  # when the drain times out
            answers.append(
                requests.post(
                    api.url(f"/api/v1/products/{product_id}/stock-adjustments"),
                    json={"delta": 1, "reason": "in flight during shutdown"},
                    timeout=30,
                )
            )

    thread = threading.Thread(target=send)
    thread.start()
    _wait_for(lambda: _in_flight(api) >= 1, 30, "the adjustment to be in flight")
    return thread, answers, locker


def test_sigterm_finishes_the_in_flight_request_then_exits_0(
    fresh_db: Database, api_factory: Callable[..., ApiProcess]
) -> None:
    api = api_factory(fresh_db, SHUTDOWN_TIMEOUT_SECONDS="20")
    product = create_product(api, quantity=1)
    thread, answers, locker = _blocked_adjustment(api, fresh_db, product["id"])

    api.process.terminate()  # SIGTERM
    _wait_for(_refuses_connections(api), 30, "the listener to close")
    assert api.process.poll() is None, "exited while a request was in flight"

    locker.run("COMMIT")
    locker.close()
    thread.join(30)
    assert answers[0].status_code == 200
    assert answers[0].json()["quantity"] == 2
    assert api.process.wait(60) == 0
    records = api.log_records()
    events = [(r["message"], r.get("method"), r.get("status")) for r in records]
    shutdown = events.index(("shutdown requested", None, None))
    assert events.index(("request", "POST", 200), shutdown) < len(events) - 1
    assert records[-1]["message"] == "stopped"
    assert records[-1]["abandoned_requests"] == 0


def test_sigterm_drain_is_bounded_by_the_shutdown_timeout(
    fresh_db: Database, api_factory: Callable[..., ApiProcess]
) -> None:
    api = api_factory(fresh_db, SHUTDOWN_TIMEOUT_SECONDS="1")
    product = create_product(api, quantity=1)
    thread, _answers, locker = _blocked_adjustment(api, fresh_db, product["id"])
    started = time.monotonic()
    api.process.terminate()
    assert api.process.wait(15) == 0
    assert time.monotonic() - started < 10
    stopped = [r for r in api.log_records() if r["message"] == "stopped"]
    assert [r["abandoned_requests"] for r in stopped] == [1]
    locker.run("ROLLBACK")
    locker.close()
    thread.join(30)


def _refuses_connections(api: ApiProcess) -> Callable[[], bool]:
    def check() -> bool:
        try:
            requests.get(api.url("/healthz"), timeout=10)
        except requests.Timeout:
            return False  # accepted or queued but slow: still listening (a loaded machine)
        except requests.ConnectionError:
            return True
        return False

    return check
