"""Pure checks of the smoke suite's authentication and rate-limit tests.

Why apart: tests/smoke/unit proves on crafted answers that each check bites, without a cluster.
The deployed API's settings are read back from its Deployment and judged by the API's own
validation (inventory_api.auth.settings), so the suite expects what the release configured.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from inventory_api.auth.guard import REALM
from inventory_api.auth.settings import AuthSettings, load_auth_settings


def deployed_settings(env_vars: Iterable[Any]) -> AuthSettings:
    """The API's auth settings from its container's env entries (objects with name/value)."""
    return load_auth_settings({var.name: var.value or "" for var in env_vars})


def _error_code(body: str) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def challenge_problems(status: int, headers: Mapping[str, str], body: str) -> list[str]:
    """What is wrong with the answer to an anonymous write (must be 401 with a challenge)."""
    problems = []
    if status != 401:
        problems.append(f"status {status}, expected 401")
    challenge = headers.get("WWW-Authenticate", "")
    if not challenge.startswith(f'Bearer realm="{REALM}"'):
        problems.append(f'WWW-Authenticate is {challenge!r}, expected Bearer realm="{REALM}"')
    if _error_code(body) != "unauthorized":
        problems.append(f"body is not the JSON error `unauthorized`: {body[:120]!r}")
    return problems


def rate_limit_problems(status: int, headers: Mapping[str, str], body: str) -> list[str]:
    """What is wrong with a rate-limited answer (429, integer Retry-After >= 1, JSON error)."""
    problems = []
    if status != 429:
        problems.append(f"status {status}, expected 429")
    retry_after = headers.get("Retry-After", "")
    if not retry_after.isdigit() or int(retry_after) < 1:
        problems.append(f"Retry-After is {retry_after!r}, expected whole seconds >= 1")
    if _error_code(body) != "rate_limited":
        problems.append(f"body is not the JSON error `rate_limited`: {body[:120]!r}")
    return problems
