"""Process-wide state shared by the handlers of one Application."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from inventory_api.auth.guard import Guard
from inventory_api.config import Settings
from inventory_api.db import Database
from inventory_api.metrics import Metrics


@dataclass
class AppState:
    """Settings, database, metrics, the auth guard and the shutdown/readiness bookkeeping."""

    settings: Settings
    database: Database
    metrics: Metrics
    guard: Guard
    openapi: dict[str, Any] = field(default_factory=dict)
    shutting_down: bool = False
    in_flight: int = 0
    _ping: asyncio.Future[None] | None = None

    async def database_ready(self) -> bool:
        """True when one round trip to the database succeeds within the readiness timeout.

        Concurrent probes share one ping (single flight), so a hanging database cannot pile up
        probe work on the DB threads.
        """
        if self._ping is None or self._ping.done():
            self._ping = asyncio.ensure_future(self.database.call(self.database.ping))
            # A ping that fails after its waiters timed out must not log "never retrieved".
            self._ping.add_done_callback(lambda done: done.cancelled() or done.exception())
        try:
            await asyncio.wait_for(
                asyncio.shield(self._ping), self.settings.readiness_timeout_seconds
            )
        except Exception:  # any failure means "not ready"
            return False
        return True
