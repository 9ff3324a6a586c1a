"""Configuration from environment variables, validated once at start.

Why: a misconfigured pod must fail fast with one line that names the bad variable, not half-start
and fail on the first request. Every value has a type, a range and a default where one is safe.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DRIVER = "postgresql+pg8000"


class ConfigError(ValueError):
    """A configuration variable is missing or invalid; str() is the one-line explanation."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"invalid configuration: {variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    """Validated runtime settings of the API process."""

    database_url: URL
    database_password_file: Path | None
    port: int = 8080
    host: str = "0.0.0.0"  # noqa: S104 - all interfaces of the pod
    pool_size: int = 4
    max_overflow: int = 0
    pool_timeout_seconds: float = 5.0
    connect_timeout_seconds: float = 5.0
    statement_timeout_ms: int = 5000
    transaction_pooler: bool = False
    readiness_timeout_seconds: float = 2.0
    shutdown_timeout_seconds: float = 20.0
    log_level: str = "INFO"

    @property
    def db_workers(self) -> int:
        """Threads for database work: one per connection the pool may hand out."""
        return self.pool_size + self.max_overflow


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise ConfigError(name, f"expected an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(name, f"must be between {low} and {high}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw not in ("", "true", "false"):
        raise ConfigError(name, f"must be true or false, got {raw!r}")
    return raw == "true"


def _seconds(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"expected a number of seconds, got {raw!r}") from None
    if not low <= value <= high:  # also rejects nan
        raise ConfigError(name, f"must be between {low:g} and {high:g} seconds, got {raw}")
    return value


def _database_url(env: Mapping[str, str]) -> URL:
    raw = env.get("DATABASE_URL", "")
    if not raw:
        raise ConfigError("DATABASE_URL", "is required (postgresql+pg8000://USER@HOST:PORT/DB)")
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError("DATABASE_URL", "is not a database URL") from None
    if url.drivername not in ("postgresql", DRIVER):
        raise ConfigError("DATABASE_URL", f"scheme must be {DRIVER}://, got {url.drivername}://")
    if not url.host or not url.database or not url.username:
        raise ConfigError("DATABASE_URL", "must name a user, a host and a database")
    return url.set(drivername=DRIVER)


def _password_file(env: Mapping[str, str], url: URL) -> Path | None:
    raw = env.get("DATABASE_PASSWORD_FILE", "")
    if not raw:
        return None
    if url.password is not None:
        raise ConfigError("DATABASE_PASSWORD_FILE", "set, but DATABASE_URL already has a password")
    path = Path(raw)
    try:
        read_password(path)
    except OSError as exc:
        raise ConfigError("DATABASE_PASSWORD_FILE", f"cannot read {raw}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError("DATABASE_PASSWORD_FILE", str(exc)) from None
    return path


def read_password(path: Path) -> str:
    """The password in `path` without its trailing newline; read again on every new connection
    so a rotated secret (Key Vault CSI driver) is picked up without a restart."""
    password = path.read_text(encoding="utf-8").rstrip("\r\n")
    if not password:
        raise ValueError(f"{path} is empty")
    return password


def _host(env: Mapping[str, str]) -> str:
    raw = env.get("HOST", "") or "0.0.0.0"  # noqa: S104 - all interfaces of the pod
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        raise ConfigError("HOST", f"must be an IP address to listen on, got {raw!r}") from None
    return raw


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every variable; raises ConfigError naming the first bad one."""
    env = os.environ if env is None else env
    url = _database_url(env)
    log_level = env.get("LOG_LEVEL", "INFO").upper() or "INFO"
    if log_level not in LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}")
    statement_timeout_ms = _int(env, "DB_STATEMENT_TIMEOUT_MS", 5000, 100, 600_000)
    return Settings(
        database_url=url,
        database_password_file=_password_file(env, url),
        port=_int(env, "PORT", 8080, 1, 65535),
        host=_host(env),
        # Few threads: under the GIL more DB threads mean slower, not faster (benchmarks/api).
        pool_size=_int(env, "DB_POOL_SIZE", 4, 1, 100),
        max_overflow=_int(env, "DB_MAX_OVERFLOW", 0, 0, 100),
        pool_timeout_seconds=_seconds(env, "DB_POOL_TIMEOUT_SECONDS", 5.0, 0.1, 60),
        connect_timeout_seconds=_seconds(env, "DB_CONNECT_TIMEOUT_SECONDS", 5.0, 0.1, 60),
        statement_timeout_ms=statement_timeout_ms,
        transaction_pooler=_bool(env, "DB_TRANSACTION_POOLER"),
        readiness_timeout_seconds=_seconds(env, "READINESS_TIMEOUT_SECONDS", 2.0, 0.1, 30),
        shutdown_timeout_seconds=_seconds(env, "SHUTDOWN_TIMEOUT_SECONDS", 20.0, 0, 300),
        log_level=log_level,
    )
