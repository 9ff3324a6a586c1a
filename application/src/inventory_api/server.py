"""Serving with graceful shutdown.

On SIGTERM (or SIGINT): readiness turns 503, the listening socket closes, in-flight requests get
up to SHUTDOWN_TIMEOUT_SECONDS to finish, then remaining connections and the pool are closed.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time

from tornado.httpserver import HTTPServer

from inventory_api.app import make_app
from inventory_api.auth.guard import Guard
from inventory_api.auth.openapi import secure_document
from inventory_api.auth.settings import AuthSettings
from inventory_api.config import Settings
from inventory_api.db import Database, make_engine
from inventory_api.metrics import Metrics
from inventory_api.openapi import build_document
from inventory_api.state import AppState

log = logging.getLogger("inventory_api.server")

# Hard cap enforced by tornado (larger: connection closed). Up to it, handlers read and drop
# whatever exceeds 64 KiB and answer 413.
SERVER_MAX_BODY_BYTES = 16 * 1024 * 1024
SERVER_MAX_BUFFER_BYTES = 1024 * 1024


def build_state(settings: Settings, auth: AuthSettings) -> AppState:
    """Database, metrics, auth guard and OpenAPI document for one process."""
    database = Database(
        make_engine(settings), settings.db_workers, transaction_pooler=settings.transaction_pooler
    )
    document = secure_document(build_document(), auth)
    return AppState(settings, database, Metrics(database), Guard.from_settings(auth), document)


async def drain(state: AppState, server: HTTPServer) -> int:
    """Stop accepting, wait for in-flight requests (bounded), close connections and the pool.
    Returns how many requests were still running when the time ran out."""
    state.shutting_down = True
    server.stop()
    deadline = time.monotonic() + state.settings.shutdown_timeout_seconds
    while state.in_flight > 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    abandoned = state.in_flight
    await server.close_all_connections()
    if abandoned:
        state.database.executor.shutdown(wait=False, cancel_futures=True)
        state.database.engine.dispose()
    else:
        await asyncio.get_running_loop().run_in_executor(None, state.database.close)
    return abandoned


async def serve(settings: Settings, auth: AuthSettings) -> None:
    """Serve until SIGTERM/SIGINT, then drain."""
    # The IOLoop thread gives up the GIL on every socket call; with DB threads busy, the default
    # 5 ms switch interval makes it wait that long to get it back (a convoy). 1 ms keeps the
    # loop responsive, measured in benchmarks/api.
    sys.setswitchinterval(0.001)
    state = build_state(settings, auth)
    server = HTTPServer(
        make_app(state),
        max_body_size=SERVER_MAX_BODY_BYTES,
        max_buffer_size=SERVER_MAX_BUFFER_BYTES,
        idle_connection_timeout=75,
        body_timeout=30,
        # The client address as the ingress controller saw it (X-Real-IP / the last
        # X-Forwarded-For hop): the per-client rate limit's key. Only the controller can reach
        # the pods (NetworkPolicy), so nobody else can set these headers.
        xheaders=True,
    )
    server.listen(settings.port, address=settings.host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info("listening", extra={"port": settings.port, "db_workers": settings.db_workers})
    await stop.wait()
    log.info("shutdown requested", extra={"in_flight": state.in_flight})
    abandoned = await drain(state, server)
    log.info("stopped", extra={"abandoned_requests": abandoned})
