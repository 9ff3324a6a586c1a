"""Domain errors: what the service layer reports, in its own terms. The handlers choose the
HTTP status (handlers/base.py), so business code stays free of transport concerns."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request the business rules refuse; `code` is stable, `message` is for people."""

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class NotFound(DomainError):
    """The resource does not exist."""

    def __init__(self, what: str) -> None:
        super().__init__("not_found", f"{what} not found")


class Conflict(DomainError):
    """The request contradicts the current state (a duplicate key, not enough stock)."""


class KeyReused(DomainError):
    """An idempotency key came back with a different request."""
