"""Authentication settings from environment variables, validated once at start.

Why: a pod that would trust the wrong issuer, accept an HMAC algorithm or fetch keys over plain
HTTP must refuse to start with one line naming the variable, not fail open on the first request.
Authentication is on unless AUTH_MODE=off says otherwise, so forgetting it cannot open the API.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from inventory_api.config import ConfigError, _bool, _int, _seconds

MODES = ("jwt", "off")
# Asymmetric algorithms only: with a symmetric one (HS*) the public key would become a secret
# anybody can sign with, and `none` is no signature at all.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
REFUSED_ALGORITHMS = ("none", "HS256", "HS384", "HS512")


@dataclass(frozen=True)
class AuthSettings:
    """Who issues the tokens the API accepts, and which roles allow what."""

    mode: str = "jwt"
    issuer: str = ""
    audiences: tuple[str, ...] = ()
    jwks_url: str = ""
    algorithms: tuple[str, ...] = ("RS256",)
    read_role: str = "Inventory.Read"
    write_role: str = "Inventory.Write"
    public_reads: bool = False
    leeway_seconds: float = 60.0
    jwks_timeout_seconds: float = 5.0
    jwks_cache_seconds: float = 3600.0
    jwks_refresh_interval_seconds: float = 60.0
    rate_limit_per_second: int = 20
    rate_limit_burst: int = 40

    @property
    def enabled(self) -> bool:
        """False only when AUTH_MODE=off (local development and tests that do not test auth)."""
        return self.mode == "jwt"


def _required(env: Mapping[str, str], name: str, example: str) -> str:
    raw = env.get(name, "").strip()
    if not raw:
        raise ConfigError(name, f"is required when AUTH_MODE=jwt (e.g. {example})")
    return raw


def _url(env: Mapping[str, str], name: str, example: str, allow_http: bool) -> str:
    raw = _required(env, name, example)
    parts = urlsplit(raw)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        hint = "" if allow_http else " (http only with AUTH_JWKS_ALLOW_HTTP=true)"
        raise ConfigError(name, f"must be an https:// URL{hint}, got {raw!r}")
    return raw


def _role(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    if any(char.isspace() or char in '"\\,' for char in raw):
        raise ConfigError(name, f"must be one role name without spaces, quotes or commas: {raw!r}")
    return raw


def _algorithms(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("AUTH_ALGORITHMS", "").strip() or "RS256"
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    for name in names:
        if name not in ALGORITHMS:
            why = "is refused" if name in REFUSED_ALGORITHMS else "is unknown"
            raise ConfigError("AUTH_ALGORITHMS", f"{name} {why}; allowed: {', '.join(ALGORITHMS)}")
    return names


def load_auth_settings(env: Mapping[str, str] | None = None) -> AuthSettings:
    """Read and validate the AUTH_* variables; raises ConfigError naming the first bad one."""
    env = os.environ if env is None else env
    mode = env.get("AUTH_MODE", "").strip().lower() or "jwt"
    if mode not in MODES:
        raise ConfigError("AUTH_MODE", f"must be one of {', '.join(MODES)}, got {mode!r}")
    # 0 turns the per-client limit off (benchmarks, tests that are not about it).
    rate = _int(env, "RATE_LIMIT_PER_SECOND", AuthSettings.rate_limit_per_second, 0, 10_000)
    burst = _int(env, "RATE_LIMIT_BURST", AuthSettings.rate_limit_burst, 1, 100_000)
    if mode == "off":
        return AuthSettings(mode="off", rate_limit_per_second=rate, rate_limit_burst=burst)
    allow_http = _bool(env, "AUTH_JWKS_ALLOW_HTTP")
    issuer = _required(env, "AUTH_ISSUER", "https://login.microsoftonline.com/TENANT/v2.0")
    audiences = tuple(
        a.strip() for a in _required(env, "AUTH_AUDIENCE", "API-APP-ID").split(",") if a.strip()
    )
    read_role = _role(env, "AUTH_READ_ROLE", AuthSettings.read_role)
    write_role = _role(env, "AUTH_WRITE_ROLE", AuthSettings.write_role)
    if read_role == write_role:
        raise ConfigError("AUTH_WRITE_ROLE", "must differ from AUTH_READ_ROLE")
    return AuthSettings(
        mode=mode,
        issuer=issuer,
        audiences=audiences,
        jwks_url=_url(
            env,
            "AUTH_JWKS_URL",
            "https://login.microsoftonline.com/TENANT/discovery/v2.0/keys",
            allow_http,
        ),
        algorithms=_algorithms(env),
        read_role=read_role,
        write_role=write_role,
        public_reads=_bool(env, "AUTH_PUBLIC_READS"),
        leeway_seconds=_seconds(env, "AUTH_LEEWAY_SECONDS", 60.0, 0, 300),
        jwks_timeout_seconds=_seconds(env, "AUTH_JWKS_TIMEOUT_SECONDS", 5.0, 0.1, 30),
        jwks_cache_seconds=_seconds(env, "AUTH_JWKS_CACHE_SECONDS", 3600.0, 10, 86_400),
        jwks_refresh_interval_seconds=_seconds(
            env, "AUTH_JWKS_REFRESH_INTERVAL_SECONDS", 60.0, 0.1, 3600
        ),
        rate_limit_per_second=rate,
        rate_limit_burst=burst,
    )
