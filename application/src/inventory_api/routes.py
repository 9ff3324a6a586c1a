"""The route table: the single source of both tornado's URL patterns and the OpenAPI paths."""

from __future__ import annotations

import re
from dataclasses import dataclass

from inventory_api.handlers.base import BaseHandler
from inventory_api.handlers.ops import HealthzHandler, MetricsHandler, OpenApiHandler, ReadyzHandler
from inventory_api.handlers.products import (
    ProductHandler,
    ProductsHandler,
    StockAdjustmentsHandler,
)


@dataclass(frozen=True)
class Route:
    """An OpenAPI-style path template ("/x/{id}") served by `handler`."""

    path: str
    handler: type[BaseHandler]

    @property
    def pattern(self) -> str:
        """The tornado regex: each {param} matches one path segment."""
        return re.sub(r"\{[a-z_]+\}", "([^/]+)", self.path) + "$"

    @property
    def methods(self) -> list[str]:
        """HTTP methods the handler implements."""
        return self.handler.implemented_methods()


ROUTES = (
    Route("/healthz", HealthzHandler),
    Route("/readyz", ReadyzHandler),
    Route("/metrics", MetricsHandler),
    Route("/api/v1/openapi.json", OpenApiHandler),
    Route("/api/v1/products", ProductsHandler),
    Route("/api/v1/products/{id}", ProductHandler),
    Route("/api/v1/products/{id}/stock-adjustments", StockAdjustmentsHandler),
)
