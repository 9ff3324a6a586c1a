"""A webhook receiver for Alertmanager, run by the smoke suite for the length of a test run.

Why in the test process: the alerts an incident must raise are read where they arrive, with no
receiver pod to deploy and no API to poll. Alertmanager posts its webhook payload (version 4:
`status`, `alerts` with `labels`, `annotations`, `startsAt`, `endsAt`) to any path; every alert
of every payload is kept in arrival order, and a test waits, bounded, for the one it expects.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

POLL_SECONDS = 1.0
MAX_BODY = 1 << 20


@dataclass(frozen=True)
class Alert:
    """One alert as a notification carried it."""

    status: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    received: float

    def matches(self, name: str, status: str, labels: Mapping[str, str]) -> bool:
        """Same alert name and status, and every label in `labels` equal."""
        return (
            self.labels.get("alertname") == name
            and self.status == status
            and all(self.labels.get(k) == v for k, v in labels.items())
        )

    def describe(self) -> str:
        """`Name[status] {labels}` for failure messages."""
        return f"{self.labels.get('alertname')}[{self.status}] {dict(self.labels)}"


def parse_payload(body: bytes, received: float) -> list[Alert]:
    """The alerts of one webhook payload; a body that is not one raises ValueError."""
    document = json.loads(body)
    if not isinstance(document, dict) or not isinstance(document.get("alerts"), list):
        raise ValueError("not an Alertmanager webhook payload (no `alerts` list)")
    return [
        Alert(
            status=str(alert.get("status", document.get("status", ""))),
            labels={str(k): str(v) for k, v in (alert.get("labels") or {}).items()},
            annotations={str(k): str(v) for k, v in (alert.get("annotations") or {}).items()},
            received=received,
        )
        for alert in document["alerts"]
    ]


@dataclass
class AlertLog:
    """Every alert received so far, safe to read while the server thread appends."""

    alerts: list[Alert] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, alerts: list[Alert]) -> None:
        with self.lock:
            self.alerts.extend(alerts)

    def snapshot(self) -> list[Alert]:
        with self.lock:
            return list(self.alerts)

    def wait_for(
        self,
        name: str,
        status: str,
        labels: Mapping[str, str],
        timeout: float,
        since: float = 0.0,
    ) -> Alert:
        """The first alert `name` with `status` and `labels` received after `since`; after
        `timeout` s, AssertionError listing what did arrive."""
        deadline = time.monotonic() + timeout
        while True:
            for alert in self.snapshot():
                if alert.received >= since and alert.matches(name, status, labels):
                    return alert
            if time.monotonic() > deadline:
                seen = "; ".join(a.describe() for a in self.snapshot()[-10:]) or "nothing"
                raise AssertionError(
                    f"no {name}[{status}] with labels {dict(labels)} within {timeout:.0f} s; "
                    f"received: {seen}"
                )
            time.sleep(POLL_SECONDS)


def _handler(log: AlertLog) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """POST: keep the payload's alerts, answer 200; a bad payload gets 400 and its reason."""

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY:
                self.send_error(400, f"Content-Length must be 1..{MAX_BODY}")
                return
            try:
                log.add(parse_payload(self.rfile.read(length), time.monotonic()))
            except ValueError as error:
                self.send_error(400, str(error))
                return
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the alerts themselves are what the tests report."""

    return Handler


@dataclass
class AlertReceiver:
    """The HTTP server on `host`:`port` in a daemon thread; `close()` stops it."""

    host: str
    port: int
    log: AlertLog = field(default_factory=AlertLog)
    server: ThreadingHTTPServer | None = None

    def start(self) -> AlertReceiver:
        """Bind and serve; a taken address fails here, naming it."""
        try:
            self.server = ThreadingHTTPServer((self.host, self.port), _handler(self.log))
        except OSError as error:
            raise AssertionError(
                f"cannot listen on {self.host}:{self.port} for Alertmanager (SMOKE_ALERTS): {error}"
            ) from None
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
