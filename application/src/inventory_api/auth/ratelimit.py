"""Per-client request limits: a token bucket per client address, answered with 429 and
Retry-After when empty.

Why in the API as well as at the ingress: the ingress controller's limits differ per controller
(and answer 503 on AKS's nginx), while this one gives every client the same documented answer.
It runs before token validation, so a flood of forged tokens is refused before it costs a
signature check. Buckets live per pod: N replicas allow N times the rate in all.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from inventory_api.errors import ApiError

MAX_CLIENTS = 10_000  # least recently seen clients beyond this are forgotten (bounded memory)


@dataclass
class RateLimiter:
    """`rate` requests per second per client, bursts up to `burst`; rate 0 turns it off."""

    rate: float
    burst: int
    buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def check(self, client: str) -> None:
        """Take one token from `client`'s bucket; 429 with Retry-After when there is none."""
        if self.rate <= 0:
            return
        now = time.monotonic()
        tokens, seen = self.buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - seen) * self.rate)
        if tokens < 1:
            self._remember(client, tokens, now)
            retry_after = max(1, math.ceil((1 - tokens) / self.rate))
            raise ApiError(
                429,
                "rate_limited",
                f"more than {self.rate:g} requests per second from {client}; retry later",
                headers={"Retry-After": str(retry_after)},
            )
        self._remember(client, tokens - 1, now)

    def _remember(self, client: str, tokens: float, now: float) -> None:
        self.buckets[client] = (tokens, now)
        while len(self.buckets) > MAX_CLIENTS:
            self.buckets.popitem(last=False)
