"""The suite's Alertmanager receiver, over real HTTP on the loopback address."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.smoke.alerts import AlertReceiver, parse_payload
from tests.smoke.incidents import BoundedLoad, alert_rule, notify_timeout, seconds

PAYLOAD = {
    "version": "4",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "PostgresExporterDown", "namespace": "inventory", "job": "db"},
            "annotations": {"runbook_url": "https://example.org/runbook.md"},
        }
    ],
}


@pytest.fixture
def receiver() -> Iterator[AlertReceiver]:
    started = AlertReceiver("127.0.0.1", 0).start()
    yield started
    started.close()


def url(receiver: AlertReceiver) -> str:
    assert receiver.server is not None
    host, port = receiver.server.server_address[:2]
    return f"http://{host!s}:{port}/alerts"


def test_a_posted_alert_is_found_by_name_status_and_labels(receiver: AlertReceiver) -> None:
    since = time.monotonic()
    assert requests.post(url(receiver), json=PAYLOAD, timeout=5).status_code == 200
    alert = receiver.log.wait_for(
        "PostgresExporterDown", "firing", {"namespace": "inventory"}, timeout=5, since=since
    )
    assert alert.annotations["runbook_url"] == "https://example.org/runbook.md"


def test_waiting_for_an_alert_that_never_came_lists_what_did(receiver: AlertReceiver) -> None:
    requests.post(url(receiver), json=PAYLOAD, timeout=5)
    with pytest.raises(AssertionError, match=r"no PostgresExporterDown\[resolved\].*received: "
                       r"PostgresExporterDown\[firing\]"):  # fmt: skip
        receiver.log.wait_for("PostgresExporterDown", "resolved", {}, timeout=1)


def test_an_alert_received_before_since_does_not_count(receiver: AlertReceiver) -> None:
    requests.post(url(receiver), json=PAYLOAD, timeout=5)
    with pytest.raises(AssertionError):
        receiver.log.wait_for("PostgresExporterDown", "firing", {}, 1, since=time.monotonic())


def test_a_body_that_is_no_webhook_payload_is_refused(receiver: AlertReceiver) -> None:
    response = requests.post(url(receiver), data=b'{"status": "firing"}', timeout=5)
    assert response.status_code == 400
    assert receiver.log.snapshot() == []
    with pytest.raises(ValueError, match="no `alerts` list"):
        parse_payload(json.dumps({"alerts": "x"}).encode(), 0.0)


def test_a_taken_address_fails_naming_it(receiver: AlertReceiver) -> None:
    assert receiver.server is not None
    port = receiver.server.server_address[1]
    with pytest.raises(AssertionError, match=f"cannot listen on 127.0.0.1:{port}"):
        AlertReceiver("127.0.0.1", port).start()


def test_waits_follow_the_rule_sources_for_durations() -> None:
    rule = alert_rule("PostgresExporterDown")
    assert notify_timeout(rule) > seconds(rule["for"]) == 300.0
    assert seconds("90s") == 90.0
    with pytest.raises(ValueError, match="single-unit"):
        seconds("${backup_full_max_age_hours}h")
    with pytest.raises(KeyError, match="NoSuchAlert"):
        alert_rule("NoSuchAlert")


def test_the_load_is_bounded_and_counts_server_errors() -> None:
    class Failing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        load = BoundedLoad(url=f"http://127.0.0.1:{port}/", headers={}, pause=0.0, limit=5)
        load.start()
        time.sleep(2)
        load.stop()
    finally:
        server.shutdown()
        server.server_close()
    assert dict(load.statuses) == {"503": 5}
    assert load.server_errors() == 5
