"""Authorisation: which requests need which role, and the RFC 6750 answers when they lack it.

Why one place: the handlers, the OpenAPI document and the tests all ask `required_role`, so the
documented security of an operation is the enforced one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from inventory_api.auth.keys import KeySet, KeysUnavailable
from inventory_api.auth.ratelimit import RateLimiter
from inventory_api.auth.settings import AuthSettings
from inventory_api.auth.tokens import InvalidToken, Principal, TokenValidator
from inventory_api.errors import ApiError

REALM = "inventory-api"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# RFC 6750 section 2.1: "Bearer" 1*SP b64token
BEARER = re.compile(r"Bearer +([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)


def required_role(settings: AuthSettings, public: bool, method: str) -> str | None:
    """The role a request needs, or None when it needs no token at all."""
    if not settings.enabled or public:
        return None
    if method.upper() in READ_METHODS:
        return None if settings.public_reads else settings.read_role
    return settings.write_role


def challenge(**params: str) -> str:
    """A WWW-Authenticate value: Bearer realm="..." plus error, error_description, scope."""
    fields = {"realm": REALM, **params}
    return "Bearer " + ", ".join(f'{name}="{_quoted(value)}"' for name, value in fields.items())


def _quoted(value: str) -> str:
    """A quoted-string body: no quotes, backslashes or control characters."""
    return "".join(c for c in value if c.isprintable() and c not in '"\\')


def unauthorized(code: str, message: str, **params: str) -> ApiError:
    """401: no usable credentials (RFC 6750: no error attribute when none were sent)."""
    return ApiError(401, code, message, headers={"WWW-Authenticate": challenge(**params)})


def bearer_token(authorization: Sequence[str]) -> str:
    """The token of the one Authorization header; 401 without one, 400 when malformed."""
    if not authorization:
        raise unauthorized("unauthorized", "a bearer token is required")
    if len(authorization) > 1:
        raise _invalid_request("send exactly one Authorization header")
    scheme = authorization[0].split(" ", 1)[0]
    if scheme.lower() != "bearer":
        raise unauthorized("unauthorized", "a bearer token is required (Authorization: Bearer ...)")
    match = BEARER.fullmatch(authorization[0].strip())
    if match is None:
        raise _invalid_request("malformed Authorization header: expected 'Bearer <token>'")
    return match.group(1)


def _invalid_request(message: str) -> ApiError:
    headers = {"WWW-Authenticate": challenge(error="invalid_request", error_description=message)}
    return ApiError(400, "invalid_request", message, headers=headers)


@dataclass
class Guard:
    """Checks the caller of each request against the role its operation needs."""

    settings: AuthSettings
    validator: TokenValidator
    limiter: RateLimiter

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> Guard:
        """A guard with its own key cache and rate limits."""
        return cls(
            settings,
            TokenValidator(settings, KeySet(settings)),
            RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
        )

    async def admit(
        self, client: str, authorization: Sequence[str], public: bool, method: str
    ) -> Principal | None:
        """Rate-limit and authorise one request to an operation (`public`: probes, metrics and
        the document, neither limited nor authorised). Returns the verified caller, if any."""
        if public:
            return None
        self.limiter.check(client)
        return await self.authorize(authorization, required_role(self.settings, public, method))

    async def authorize(self, authorization: Sequence[str], role: str | None) -> Principal | None:
        """The verified caller; None when `role` is None (no token needed, none checked)."""
        if role is None:
            return None
        token = bearer_token(authorization)
        try:
            principal = await self.validator.validate(token)
        except InvalidToken as exc:
            raise unauthorized(
                "invalid_token", str(exc), error="invalid_token", error_description=str(exc)
            ) from None
        except KeysUnavailable:
            raise ApiError(
                503, "auth_unavailable", "the token issuer's signing keys are unavailable"
            ) from None
        if role not in principal.roles:
            message = f"the {role} role is required"
            raise ApiError(
                403,
                "forbidden",
                message,
                headers={
                    "WWW-Authenticate": challenge(
                        error="insufficient_scope", error_description=message, scope=role
                    )
                },
            )
        return principal
