"""The base handler: request ids, JSON bodies and errors, limits, metrics and access logs."""

from __future__ import annotations

import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from tornado.web import HTTPError, RequestHandler, stream_request_body

from inventory_api.domain import Conflict, DomainError, KeyReused, NotFound
from inventory_api.errors import ApiError
from inventory_api.logs import request_id_var
from inventory_api.state import AppState
from inventory_api.unavailable import (
    RETRY_AFTER_SECONDS,
    is_database_unavailable,
    unavailable_error,
)

T = TypeVar("T")

access_log = logging.getLogger("inventory_api.access")
error_log = logging.getLogger("inventory_api.error")

MAX_BODY_BYTES = 64 * 1024
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Generated ids: a random per-process prefix plus a counter (unique without a syscall each).
_ID_PREFIX = secrets.token_hex(8)
_ID_COUNTER = itertools.count(1)
# On every answer, errors included (OWASP's REST headers): an API answer is data for one client,
# never a page to cache, sniff as HTML, frame or follow links from. HSTS is the TLS edge's.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
    503: "unavailable",
}
HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
# The HTTP meaning of each domain refusal (most specific class first).
DOMAIN_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (KeyReused, 422),
)


def http_error(exc: DomainError) -> ApiError:
    """The HTTP answer to a domain refusal."""
    for kind, status in DOMAIN_STATUS:
        if isinstance(exc, kind):
            return ApiError(status, exc.code, exc.message, exc.details)
    raise LookupError(f"no HTTP status for {type(exc).__name__}")


async def _in_http_terms(pending: Awaitable[T]) -> T:
    try:
        return await pending
    except DomainError as exc:
        raise http_error(exc) from None


def dumps(body: Any) -> str:
    """Compact JSON with sorted keys: byte-identical for equal values (idempotent replays)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


@stream_request_body
class BaseHandler(RequestHandler):
    """JSON in, JSON out; every error is {"error": {"code", "message", "details"?}}.

    Bodies are streamed: at most MAX_BODY_BYTES are kept, anything beyond is read and dropped,
    so an oversized request still gets a clean 413 (closing early would reset the connection
    while the client is still sending) and memory per request stays bounded.
    """

    # OpenAPI operation objects per implemented method; checked against the methods by openapi.py
    operations: ClassVar[dict[str, dict[str, Any]]] = {}
    # True: answered without a token (probes, metrics, the API document); else roles apply
    public: ClassVar[bool] = False

    @classmethod
    def implemented_methods(cls) -> list[str]:
        """HTTP methods this handler implements (overrides of RequestHandler's defaults)."""
        return [m for m in HTTP_METHODS if getattr(cls, m) is not getattr(BaseHandler, m)]

    def initialize(self, route: str = "unmatched") -> None:
        """Per-request setup: the route label, the request id and the start time."""
        self.route = route
        self.started = time.monotonic()
        supplied = self.request.headers.get("X-Request-ID", "")
        self.request_id = (
            supplied
            if REQUEST_ID_PATTERN.fullmatch(supplied)
            else f"{_ID_PREFIX}-{next(_ID_COUNTER):x}"
        )
        request_id_var.set(self.request_id)
        self.set_header("X-Request-ID", self.request_id)
        self.state.in_flight += 1
        self.state.metrics.in_flight.inc()

    @property
    def state(self) -> AppState:
        """The application's shared state."""
        state: AppState = self.application.settings["state"]
        return state

    def set_default_headers(self) -> None:
        """JSON, never cached, sniffed, framed or referred; the request id echoed back."""
        self.set_header("Content-Type", "application/json")
        for name, value in SECURITY_HEADERS.items():
            self.set_header(name, value)
        if hasattr(self, "request_id"):
            self.set_header("X-Request-ID", self.request_id)

    async def prepare(self) -> None:
        """Rate-limit and authorise the caller, then start an empty body buffer (called when the
        headers are in, before the body: a refused request's body is never buffered)."""
        self.principal = await self.state.guard.admit(
            self.request.remote_ip or "",
            self.request.headers.get_list("Authorization"),
            self.public,
            self.request.method or "",
        )
        self.body = bytearray()
        self.body_too_large = False

    def data_received(self, chunk: bytes) -> None:
        """Keep the body while it fits; past the limit, drop it and remember why."""
        if self.body_too_large or len(self.body) + len(chunk) > MAX_BODY_BYTES:
            self.body_too_large = True
            self.body.clear()
        else:
            self.body += chunk

    async def run(self, work: Callable[[Session], T]) -> T:
        """`work(session)` in one transaction on a DB thread; domain refusals become HTTP."""
        return await _in_http_terms(self.state.database.run(work))

    async def read(self, work: Callable[[Connection], T]) -> T:
        """A single-statement read on a DB thread; domain refusals become HTTP."""
        return await _in_http_terms(self.state.database.read(work))

    def query_value(self, name: str) -> str | None:
        """The last value of query parameter `name` exactly as sent (tornado's own accessors
        strip whitespace and replace control characters, which the document does not say)."""
        values = self.request.query_arguments.get(name)
        if not values:
            return None
        try:
            return values[-1].decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "invalid_parameter", f"{name} is not UTF-8") from None

    def json_body(self) -> Any:
        """The parsed request body: 413 too large, 415 not JSON, 400 not strict JSON.

        Numbers with a fraction or an exponent arrive as exact Decimals (2.0 and 2e0 are the
        integer 2 to JSON Schema, 2.0000000000000001 is not)."""
        if self.body_too_large:
            raise ApiError(413, "payload_too_large", f"request body exceeds {MAX_BODY_BYTES} bytes")
        content_type = self.request.headers.get("Content-Type", "")
        media_type, _, params = content_type.partition(";")
        charset = params.strip().lower()
        if media_type.strip().lower() != "application/json" or charset not in (
            "",
            "charset=utf-8",
        ):
            raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
        try:
            text = self.body.decode("utf-8")
            return json.loads(
                text,
                parse_float=Decimal,
                parse_constant=_reject_constant,
                object_pairs_hook=_unique_keys,
            )
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ApiError(
                400, "malformed_json", "request body is not valid JSON", str(exc)
            ) from None

    def send_json(self, status: int, body: Any) -> None:
        """Finish the request with `body` as JSON."""
        self.set_status(status)
        self.finish(dumps(body))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error as JSON; never a stack trace in the body."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if is_database_unavailable(exc):  # a failover or restart, not a bug: retry shortly
            exc = unavailable_error()
            status_code = exc.status_code
            self.set_status(status_code)
            self.set_header("Retry-After", str(RETRY_AFTER_SECONDS))
        if isinstance(exc, ApiError):
            body = exc.body()
            for name, value in exc.headers.items():
                self.set_header(name, value)
        else:
            if isinstance(exc, HTTPError) and status_code < 500:
                message = exc.log_message or self._reason
            elif status_code >= 500:
                message = "internal server error; quote the request id when reporting it"
            else:
                message = self._reason
            body = {"error": {"code": ERROR_CODES.get(status_code, "error"), "message": message}}
        if status_code >= 500:
            body["error"]["request_id"] = self.request_id
        if status_code == 405:
            self.set_header("Allow", ", ".join(m.upper() for m in self.implemented_methods()))
        if not hasattr(self, "body"):
            # Refused before prepare() (a method tornado does not route): the body is never read,
            # so tornado closes the connection after this answer; say so, or the client reuses it.
            self.set_header("Connection", "close")
        self.set_header("Content-Type", "application/json")
        self.finish(dumps(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Client errors are not logged as failures; everything else is, with its traceback."""
        if isinstance(value, HTTPError):
            return
        if is_database_unavailable(value):
            error_log.warning("database unavailable: %s", value.__class__.__name__)
            return
        error_log.error(
            "unhandled exception",
            exc_info=(typ, value, tb),
            extra={"method": self.request.method, "path": self.request.path},
        )

    def on_finish(self) -> None:
        """Count the request and write the access log line."""
        seconds = time.monotonic() - self.started
        status = self.get_status()
        self.state.in_flight -= 1
        self.state.metrics.in_flight.dec()
        self.state.metrics.observe(self.route, self.request.method or "", status, seconds)
        access_log.info(
            "request",
            extra={
                "method": self.request.method,
                "path": self.request.path,
                "route": self.route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "remote_ip": self.request.remote_ip,
            },
        )


class NotFoundHandler(BaseHandler):
    """Every unmatched path: a JSON 404 for any method.

    The answer comes from the method, not from prepare(): answering before the body is read
    makes tornado close the keep-alive connection after the response without a
    `Connection: close` header, and a client reusing it races the close into a reset.
    """

    def _not_found(self, *_args: str) -> None:
        raise ApiError(404, "not_found", f"no route for {self.request.path}")

    public = True  # an unknown path holds no data: 404 for everybody
    get = post = put = patch = delete = head = options = _not_found
