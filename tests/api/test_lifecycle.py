"""Readiness follows the database down and back up; SIGTERM drains in-flight requests (bounded)."""

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


def test_readiness_goes_503_when_the_database_stops_and_recovers_by_itself(
    own_server: PostgresServer, api_factory: Callable[..., ApiProcess]
) -> None:
    database = own_server.create_database()
    engine = create_engine(database.sqlalchemy_url, poolclass=NullPool)
    upgrade(engine)
    api = api_factory(database, READINESS_TIMEOUT_SECONDS="1")
    product = create_product(api)
    assert api.request("GET", "/readyz").status_code == 200

    own_server.stop()
    _wait_for(lambda: api.request("GET", "/readyz").status_code == 503, 30, "readyz 503")
    down = api.request("GET", "/readyz")
    assert down.json()["error"]["code"] == "database_unavailable"
    assert api.request("GET", "/healthz").status_code == 200  # liveness never needs the DB
    assert api.request("GET", f"/api/v1/products/{product['id']}").status_code == 500

    own_server.start()
    _wait_for(lambda: api.request("GET", "/readyz").status_code == 200, 60, "readyz 200")
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
