"""The API's error type: every failure a client can cause maps to a status and a stable code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tornado.web import HTTPError


class ApiError(HTTPError):
    """An error answered as {"error": {"code", "message", "details"?}} with `status_code`.

    A tornado HTTPError subclass so tornado routes it to write_error without logging a stack
    trace: these are the client's mistakes, not the server's.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status)
        self.code = code
        self.message = message
        self.details = details
        self.headers = dict(headers or {})  # sent with the error (e.g. WWW-Authenticate)

    def __str__(self) -> str:
        return f"{self.status_code} {self.code}: {self.message}"

    def body(self) -> dict[str, Any]:
        """The JSON document sent to the client."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


def not_found(what: str) -> ApiError:
    """404 for a resource that does not exist."""
    return ApiError(404, "not_found", f"{what} not found")
