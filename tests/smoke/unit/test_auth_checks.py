"""The smoke suite's authentication checks bite on crafted answers (no cluster needed)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from tests.smoke.auth_checks import challenge_problems, deployed_settings, rate_limit_problems

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="inventory-api"'}
UNAUTHORIZED = json.dumps({"error": {"code": "unauthorized", "message": "token required"}})
LIMITED = json.dumps({"error": {"code": "rate_limited", "message": "slow down"}})


@dataclass(frozen=True)
class EnvVar:
    """The shape of a kubernetes V1EnvVar."""

    name: str
    value: str | None


def test_a_proper_challenge_passes() -> None:
    assert challenge_problems(401, CHALLENGE, UNAUTHORIZED) == []


@pytest.mark.parametrize(
    ("status", "headers", "body", "problem"),
    [
        (201, CHALLENGE, UNAUTHORIZED, "status 201"),
        (401, {}, UNAUTHORIZED, "WWW-Authenticate"),
        (401, {"WWW-Authenticate": "Basic"}, UNAUTHORIZED, "WWW-Authenticate"),
        (401, CHALLENGE, "<html>401</html>", "JSON error"),
    ],
)
def test_a_bad_challenge_is_named(
    status: int, headers: dict[str, str], body: str, problem: str
) -> None:
    assert any(problem in p for p in challenge_problems(status, headers, body))


def test_a_proper_rate_limit_answer_passes() -> None:
    assert rate_limit_problems(429, {"Retry-After": "2"}, LIMITED) == []


@pytest.mark.parametrize(
    ("status", "headers", "body", "problem"),
    [
        (503, {"Retry-After": "2"}, LIMITED, "status 503"),
        (429, {}, LIMITED, "Retry-After"),
        (429, {"Retry-After": "0"}, LIMITED, "Retry-After"),
        (429, {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, LIMITED, "Retry-After"),
        (429, {"Retry-After": "1"}, "Too Many Requests", "JSON error"),
    ],
)
def test_a_bad_rate_limit_answer_is_named(
    status: int, headers: dict[str, str], body: str, problem: str
) -> None:
    assert any(problem in p for p in rate_limit_problems(status, headers, body))


def test_deployed_settings_are_judged_by_the_api() -> None:
    env = [
        EnvVar("AUTH_MODE", "off"),
        EnvVar("RATE_LIMIT_PER_SECOND", "5"),
        EnvVar("RATE_LIMIT_BURST", "7"),
        EnvVar("DATABASE_PASSWORD_FILE", None),
    ]
    settings = deployed_settings(env)
    assert not settings.enabled
    assert (settings.rate_limit_per_second, settings.rate_limit_burst) == (5, 7)
    with pytest.raises(ValueError, match="AUTH_ISSUER"):
        deployed_settings([EnvVar("AUTH_MODE", "jwt")])
