"""Bearer-token validation: signature, algorithm, issuer, audience and lifetime.

Why: every check a forged, replayed or misdirected token could slip through is made by PyJWT
with an explicit allow-list; this module only chooses the key and turns failures into reasons.
A client sends the same token for up to an hour, so a verified token is remembered (keyed by
its exact text, signature included) until it expires or its key leaves the key set: a repeat
costs a dictionary lookup instead of a signature check (benchmarks/api/auth_cost.py).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt.exceptions import PyJWTError

from inventory_api.auth.keys import KeySet
from inventory_api.auth.settings import AuthSettings


class InvalidToken(Exception):
    """The token cannot be trusted; str() says why (safe to show: it names no secret)."""


@dataclass(frozen=True)
class Principal:
    """Who called, as the verified token says."""

    subject: str
    client: str
    roles: frozenset[str]


MAX_REMEMBERED = 10_000  # verified tokens kept; the least recently used are forgotten


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    kid: str
    not_before: float
    expires: float


@dataclass
class TokenValidator:
    """Verifies tokens of one issuer against its key set."""

    settings: AuthSettings
    keys: KeySet
    verified: OrderedDict[str, _Verified] = field(default_factory=OrderedDict)

    async def validate(self, token: str) -> Principal:
        """The caller of a valid token; raises InvalidToken otherwise."""
        known = self.verified.get(token)
        if known is not None:
            now, leeway = time.time(), self.settings.leeway_seconds
            fresh = known.not_before - leeway <= now <= known.expires + leeway
            if fresh and known.kid in self.keys.keys:
                self.verified.move_to_end(token)
                return known.principal
            del self.verified[token]  # expired or its key withdrawn: check it again, in full
        return self._remember(token, *await self._verify(token))

    def _remember(
        self, token: str, principal: Principal, kid: str, claims: dict[str, Any]
    ) -> Principal:
        nbf = claims.get("nbf")
        self.verified[token] = _Verified(
            principal,
            kid,
            float(nbf) if isinstance(nbf, int | float) else 0.0,
            float(claims["exp"]),
        )
        while len(self.verified) > MAX_REMEMBERED:
            self.verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, str, dict[str, Any]]:
        """Full verification: header, key, signature and claims."""
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from None
        algorithm = header.get("alg")
        if algorithm not in self.settings.algorithms:
            raise InvalidToken(f"algorithm {algorithm!r} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("token header has no key id (kid)")
        key = await self.keys.key(kid)
        if key is None:
            raise InvalidToken(f"unknown signing key {kid!r}")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=list(self.settings.algorithms),
                audience=list(self.settings.audiences),
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_seconds,
                options={"require": ["exp", "iss", "aud"], "enforce_minimum_key_length": True},
            )
        except PyJWTError as exc:
            raise InvalidToken(str(exc) or type(exc).__name__) from None
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise InvalidToken("roles claim must be a list of strings")
        principal = Principal(
            subject=str(claims.get("oid") or claims.get("sub") or ""),
            client=str(claims.get("azp") or claims.get("appid") or ""),
            roles=frozenset(roles),
        )
        return principal, kid, claims
