"""Operational endpoints: liveness, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

from typing import Any, ClassVar

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from inventory_api.errors import ApiError
from inventory_api.handlers.base import BaseHandler

STATUS_SCHEMA = {"$ref": "#/components/schemas/Status"}


def _status(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": STATUS_SCHEMA}}}


class HealthzHandler(BaseHandler):
    """Liveness: the process answers; never touches the database."""

    public = True
    operations: ClassVar[dict[str, dict[str, Any]]] = {
        "get": {
            "operationId": "healthz",
            "summary": "Liveness (no database access)",
            "responses": {"200": _status("Alive")},
        }
    }

    def get(self) -> None:
        """Always 200 while the IOLoop runs."""
        self.send_json(200, {"status": "ok"})


class ReadyzHandler(BaseHandler):
    """Readiness: what this process can do. Not draining: ready, whatever the shared database
    does (every replica shares it, so failing readiness on it would empty the Service and the
    ingress would answer 404; clients get this API's 503 + Retry-After instead). The body says
    `degraded` while the database does not answer in time."""

    public = True
    operations: ClassVar[dict[str, dict[str, Any]]] = {
        "get": {
            "operationId": "readyz",
            "summary": "Readiness (not shutting down; `degraded` while the database is down)",
            "responses": {
                "200": _status("Ready"),
                "503": {"$ref": "#/components/responses/Error503"},
            },
        }
    }

    async def get(self) -> None:
        """200 (ready or degraded) unless draining, then 503 with the reason."""
        if self.state.shutting_down:
            raise ApiError(503, "shutting_down", "the server is draining and will stop")
        database_up = await self.state.database_ready()
        self.send_json(200, {"status": "ready" if database_up else "degraded"})


class MetricsHandler(BaseHandler):
    """Prometheus text exposition of the private registry."""

    public = True
    operations: ClassVar[dict[str, dict[str, Any]]] = {
        "get": {
            "operationId": "metrics",
            "summary": "Prometheus metrics",
            "responses": {
                "200": {
                    "description": "Prometheus text format",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        }
    }

    def get(self) -> None:
        """The current metric values."""
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(self.state.metrics.registry))


class OpenApiHandler(BaseHandler):
    """The OpenAPI 3.1 document, built from the route table at start."""

    public = True
    operations: ClassVar[dict[str, dict[str, Any]]] = {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "responses": {
                "200": {
                    "description": "OpenAPI 3.1 document",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    }

    def get(self) -> None:
        """The document."""
        self.send_json(200, self.state.openapi)
