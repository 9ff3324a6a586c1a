"""The tornado Application wired from the route table."""

from __future__ import annotations

from tornado.web import Application

from inventory_api.handlers.base import NotFoundHandler
from inventory_api.routes import ROUTES
from inventory_api.state import AppState


def make_app(state: AppState) -> Application:
    """Every route plus a JSON 404 for anything else; no tornado debug features."""
    handlers = [(route.pattern, route.handler, {"route": route.path}) for route in ROUTES]
    return Application(
        handlers,
        default_handler_class=NotFoundHandler,
        state=state,
        compress_response=False,
        serve_traceback=False,
        log_function=lambda _handler: None,  # the base handler writes the structured access log
    )
