"""The issuer's signing keys (JWKS), fetched over HTTP, cached and refreshed on demand.

Why: keys rotate. A token signed with a key id the cache does not know triggers one refresh,
but at most one per refresh interval, so a flood of tokens with made-up key ids cannot turn the
API into an amplifier against the issuer. Fetches have a bounded timeout and body size.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field

from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKError, PyJWKSetError
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from inventory_api.auth.settings import AuthSettings

log = logging.getLogger("inventory_api.auth")

MAX_JWKS_BYTES = 256 * 1024


class KeysUnavailable(Exception):
    """No key set could be fetched yet: tokens cannot be checked at all (answered as 503)."""


@dataclass
class KeySet:
    """Signing keys by key id, as last fetched from `settings.jwks_url`."""

    settings: AuthSettings
    keys: dict[str, PyJWK] = field(default_factory=dict)
    fetched_at: float | None = None
    attempted_at: float | None = None
    fetches: int = 0
    _refresh: asyncio.Future[None] | None = None

    async def key(self, kid: str) -> PyJWK | None:
        """The key `kid`, refreshing the set when it is unknown or stale and the rate allows."""
        now = time.monotonic()
        stale = self.fetched_at is None or now - self.fetched_at > self.settings.jwks_cache_seconds
        if self._refresh is not None and not self._refresh.done():
            await asyncio.shield(self._refresh)  # a fetch is under way: its answer counts
        elif (stale or kid not in self.keys) and self._may_refresh(now):
            await self._refresh_once()
        if self.fetched_at is None:
            raise KeysUnavailable(f"no signing keys fetched from {self.settings.jwks_url} yet")
        return self.keys.get(kid)

    def _may_refresh(self, now: float) -> bool:
        interval = self.settings.jwks_refresh_interval_seconds
        return self.attempted_at is None or now - self.attempted_at >= interval

    async def _refresh_once(self) -> None:
        """Concurrent callers share one fetch (single flight)."""
        if self._refresh is None or self._refresh.done():
            self.attempted_at = time.monotonic()
            self._refresh = asyncio.ensure_future(self._fetch())
        await asyncio.shield(self._refresh)

    async def _fetch(self) -> None:
        """Replace the keys with the issuer's current set; on failure keep the old ones."""
        self.fetches += 1
        timeout = self.settings.jwks_timeout_seconds
        request = HTTPRequest(
            self.settings.jwks_url,
            connect_timeout=timeout,
            request_timeout=timeout,
            follow_redirects=False,
            headers={"Accept": "application/json"},
        )
        try:
            response = await AsyncHTTPClient(max_body_size=MAX_JWKS_BYTES).fetch(request)
            self.keys = parse_key_set(response.body)
        except (HTTPClientError, OSError, ValueError) as exc:
            log.warning(
                "signing keys not refreshed",
                extra={
                    "jwks_url": self.settings.jwks_url,
                    "reason": str(exc) or type(exc).__name__,
                },
            )
            return
        self.fetched_at = time.monotonic()
        log.info("signing keys refreshed", extra={"key_ids": sorted(self.keys)})


def parse_key_set(body: bytes) -> dict[str, PyJWK]:
    """Signing keys by kid. Keys without a kid, for encryption, symmetric (`oct`) or of a type
    the library cannot use are left out: only an RSA or EC public key can verify a token."""
    try:
        document = json.loads(body)
        key_set = PyJWKSet.from_dict(document)
    except (PyJWKSetError, PyJWKError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a usable JWKS document: {exc}") from None
    return {
        key.key_id: key
        for key in key_set.keys
        if key.key_id and key.public_key_use in (None, "sig") and key.key_type in ("RSA", "EC")
    }
