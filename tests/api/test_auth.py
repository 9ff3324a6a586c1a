"""Bearer tokens end to end: a real issuer (keys and JWKS over HTTP), the API as a process,
PostgreSQL behind it. Every token here is signed, forged or broken for real."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from inventory_api.auth.guard import REALM, required_role
from inventory_api.auth.settings import load_auth_settings
from inventory_api.handlers.base import SECURITY_HEADERS
from inventory_api.routes import ROUTES
from openapi_spec_validator import validate

from tests.api.apiprocess import ApiProcess, api_env, run_cli, start_api
from tests.api.helpers import PRODUCTS, error_code, unique_sku
from tests.support.postgres import PostgresServer, free_port
from tests.support.token_issuer import (
    READ_ROLE,
    WRITE_ROLE,
    SigningKey,
    TokenIssuer,
    running_issuer,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def issuer() -> Iterator[TokenIssuer]:
    """The test issuer for this module's API."""
    with running_issuer() as issuer:
        yield issuer


@pytest.fixture(scope="module")
def start_auth_api(
    postgres_server: PostgresServer, template_db: str, log_dir: Path
) -> Iterator[Callable[..., ApiProcess]]:
    """Start API processes on their own migrated databases; all stopped at module end."""
    started: list[ApiProcess] = []

    def start(**env: str) -> ApiProcess:
        database = postgres_server.create_database(template=template_db)
        process = start_api(api_env(database, **env), log_dir)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="module")
def secured(issuer: TokenIssuer, start_auth_api: Callable[..., ApiProcess]) -> ApiProcess:
    """The API trusting `issuer`; the key set may be refreshed at most once an hour."""
    return start_auth_api(**issuer.api_env(AUTH_JWKS_REFRESH_INTERVAL_SECONDS="3600"))


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for `token`."""
    return {"Authorization": f"Bearer {token}"}


def product() -> dict[str, Any]:
    """A valid product body."""
    return {"sku": unique_sku("AUTH"), "name": "Guarded widget", "price_cents": 100}


def assert_challenge(response: requests.Response, status: int, error: str | None) -> str:
    """The status, the JSON error body and an RFC 6750 challenge naming `error`; returns the
    body's error code."""
    assert response.status_code == status, response.text
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer realm="{REALM}"'), challenge
    if error is None:
        assert "error=" not in challenge, challenge
    else:
        assert f'error="{error}"' in challenge, challenge
    assert response.headers["Content-Type"].startswith("application/json")
    return error_code(response)


def test_valid_tokens_read_and_write(secured: ApiProcess, issuer: TokenIssuer) -> None:
    created = secured.request(
        "POST", PRODUCTS, json=product(), headers=bearer(issuer.token(roles=(WRITE_ROLE,)))
    )
    assert created.status_code == 201, created.text
    path = f"{PRODUCTS}/{created.json()['id']}"
    read = secured.request("GET", path, headers=bearer(issuer.token(roles=(READ_ROLE,))))
    assert read.status_code == 200, read.text
    assert read.json()["sku"] == created.json()["sku"]


def test_anonymous_requests_get_a_challenge_and_write_nothing(
    secured: ApiProcess, issuer: TokenIssuer
) -> None:
    body = product()
    refused = secured.request("POST", PRODUCTS, json=body)
    assert assert_challenge(refused, 401, None) == "unauthorized"
    assert assert_challenge(secured.request("GET", PRODUCTS), 401, None) == "unauthorized"
    listed = secured.request(
        "GET", PRODUCTS, params={"q": body["sku"]}, headers=bearer(issuer.token())
    )
    assert listed.status_code == 200
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    ("case", "claims"),
    [
        ("expired", {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
        ("not yet valid", {"nbf": int(time.time()) + 3600}),
        ("wrong issuer", {"iss": "https://login.microsoftonline.com/another-tenant/v2.0"}),
        ("wrong audience", {"aud": "api://some-other-api"}),
        ("no expiry", {"exp": None}),
    ],
)
def test_tokens_with_bad_claims_are_refused(
    secured: ApiProcess, issuer: TokenIssuer, case: str, claims: dict[str, Any]
) -> None:
    token = issuer.token(**claims)
    response = secured.request("POST", PRODUCTS, json=product(), headers=bearer(token))
    assert assert_challenge(response, 401, "invalid_token") == "invalid_token", case


def test_clock_skew_within_the_leeway_is_accepted(secured: ApiProcess, issuer: TokenIssuer) -> None:
    """Expired 10 s ago, or valid from 10 s in the future: inside the default 60 s leeway."""
    now = int(time.time())
    skewed: list[dict[str, Any]] = [{"exp": now - 10, "iat": now - 600}, {"nbf": now + 10}]
    for claims in skewed:
        response = secured.request("GET", PRODUCTS, headers=bearer(issuer.token(**claims)))
        assert response.status_code == 200, (claims, response.text)


def test_forged_algorithms_are_refused(secured: ApiProcess, issuer: TokenIssuer) -> None:
    for token in (issuer.unsigned_token(), issuer.hmac_confusion_token()):
        response = secured.request("POST", PRODUCTS, json=product(), headers=bearer(token))
        assert assert_challenge(response, 401, "invalid_token") == "invalid_token"
        assert "algorithm" in response.json()["error"]["message"]


def test_a_signature_by_another_key_is_refused(secured: ApiProcess, issuer: TokenIssuer) -> None:
    """A stranger's key under the issuer's key id: the signature does not verify."""
    with running_issuer() as stranger:
        token = stranger.token(kid=issuer.keys[0].kid, iss=issuer.issuer, aud=issuer.audience)
    response = secured.request("GET", PRODUCTS, headers=bearer(token))
    assert assert_challenge(response, 401, "invalid_token") == "invalid_token"
    assert "Signature" in response.json()["error"]["message"]


def test_a_valid_token_without_the_role_is_forbidden(
    secured: ApiProcess, issuer: TokenIssuer
) -> None:
    write = secured.request(
        "POST", PRODUCTS, json=product(), headers=bearer(issuer.token(roles=(READ_ROLE,)))
    )
    assert assert_challenge(write, 403, "insufficient_scope") == "forbidden"
    assert f'scope="{WRITE_ROLE}"' in write.headers["WWW-Authenticate"]
    read = secured.request("GET", PRODUCTS, headers=bearer(issuer.token(roles=())))
    assert assert_challenge(read, 403, "insufficient_scope") == "forbidden"
    assert f'scope="{READ_ROLE}"' in read.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("header", "status", "error"),
    [
        ("Bearer", 400, "invalid_request"),
        ("Bearer two tokens", 400, "invalid_request"),
        ("Bearer not@a-jwt", 400, "invalid_request"),
        ("Bearer not.a.jwt", 401, "invalid_token"),
        ("Bearer eyJhbGciOiJSUzI1NiJ9", 401, "invalid_token"),
        ("Basic dXNlcjpwYXNz", 401, None),
    ],
)
def test_malformed_authorization_headers(
    secured: ApiProcess, header: str, status: int, error: str | None
) -> None:
    response = secured.request("GET", PRODUCTS, headers={"Authorization": header})
    assert_challenge(response, status, error)


def test_unknown_key_ids_refresh_the_keys_at_most_once_per_interval(
    secured: ApiProcess, issuer: TokenIssuer
) -> None:
    assert secured.request("GET", PRODUCTS, headers=bearer(issuer.token())).status_code == 200
    before = issuer.jwks_requests
    for _ in range(5):
        response = secured.request("GET", PRODUCTS, headers=bearer(issuer.token(kid="made-up")))
        assert assert_challenge(response, 401, "invalid_token") == "invalid_token"
    assert "unknown signing key" in response.json()["error"]["message"]
    assert issuer.jwks_requests == before, "key set refetched inside the refresh interval"


def test_a_rotated_key_is_picked_up(start_auth_api: Callable[..., ApiProcess]) -> None:
    with running_issuer() as issuer:
        api = start_auth_api(**issuer.api_env(AUTH_JWKS_REFRESH_INTERVAL_SECONDS="0.5"))
        assert api.request("GET", PRODUCTS, headers=bearer(issuer.token())).status_code == 200
        new_key = SigningKey("not-yet-published")
        early = api.request("GET", PRODUCTS, headers=bearer(issuer.token(key=new_key)))
        assert assert_challenge(early, 401, "invalid_token") == "invalid_token"
        rotated = issuer.rotate()
        time.sleep(0.6)  # past the refresh interval: the next unknown kid may refetch
        fetches = issuer.jwks_requests
        response = api.request("GET", PRODUCTS, headers=bearer(issuer.token(key=rotated)))
        assert response.status_code == 200, response.text
        assert issuer.jwks_requests == fetches + 1
        old = api.request("GET", PRODUCTS, headers=bearer(issuer.token()))
        assert old.status_code == 200, "the key still published must keep working"


def test_unreachable_keys_answer_503_within_the_timeout(
    start_auth_api: Callable[..., ApiProcess],
) -> None:
    with running_issuer(delay_seconds=5) as issuer:
        api = start_auth_api(**issuer.api_env(AUTH_JWKS_TIMEOUT_SECONDS="0.5"))
        started = time.monotonic()
        response = api.request("GET", PRODUCTS, headers=bearer(issuer.token()))
        elapsed = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert error_code(response) == "auth_unavailable"
        assert elapsed < 4, f"key fetch not bounded by its timeout: {elapsed:.1f} s"


def test_operational_endpoints_stay_open(secured: ApiProcess) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"):
        assert secured.request("GET", path).status_code == 200, path


def test_unknown_paths_are_404_without_a_token(secured: ApiProcess) -> None:
    assert error_code(secured.request("GET", "/api/v1/nothing-here")) == "not_found"


def test_public_reads_still_guard_writes(
    issuer: TokenIssuer, start_auth_api: Callable[..., ApiProcess]
) -> None:
    api = start_auth_api(**issuer.api_env(AUTH_PUBLIC_READS="true"))
    assert api.request("GET", PRODUCTS).status_code == 200
    assert_challenge(api.request("POST", PRODUCTS, json=product()), 401, None)


def test_openapi_declares_what_the_guard_enforces(secured: ApiProcess, issuer: TokenIssuer) -> None:
    document = secured.request("GET", "/api/v1/openapi.json").json()
    validate(document)
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    settings = load_auth_settings(issuer.api_env(AUTH_JWKS_REFRESH_INTERVAL_SECONDS="3600"))
    protected = 0
    for route in ROUTES:
        for method, operation in document["paths"][route.path].items():
            role = required_role(settings, route.handler.public, method)
            expected = [] if role is None else [{"bearerAuth": [role]}]
            assert operation["security"] == expected, (route.path, method)
            if role is not None:
                protected += 1
                assert {"401", "403"} <= set(operation["responses"]), (route.path, method)
    assert protected >= 5  # list, create, get, patch, delete, adjust stock


def test_the_api_refuses_to_start_without_an_issuer(postgres_server: PostgresServer) -> None:
    """Authentication is on by default: no AUTH_* at all is a start-up error, not an open API."""
    env = api_env(postgres_server.create_database(), PORT=str(free_port()))
    del env["AUTH_MODE"]
    result = run_cli(env)
    assert result.returncode == 2
    assert "AUTH_ISSUER" in result.stderr


def test_per_client_rate_limit_answers_429_with_retry_after(
    issuer: TokenIssuer, start_auth_api: Callable[..., ApiProcess]
) -> None:
    api = start_auth_api(
        **issuer.api_env(RATE_LIMIT_PER_SECOND="1", RATE_LIMIT_BURST="3"),
    )
    client = {"X-Real-IP": "198.51.100.7", **bearer(issuer.token())}
    statuses = [api.request("GET", PRODUCTS, headers=client).status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200]
    limited = api.request("GET", PRODUCTS, headers=client)
    assert limited.status_code == 429, statuses
    assert error_code(limited) == "rate_limited"
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 3
    # Another client address has its own bucket; anonymous requests are counted before the
    # token is checked, and the probes are never limited.
    other = {"X-Real-IP": "198.51.100.8"}
    assert api.request("GET", PRODUCTS, headers={**other, **bearer(issuer.token())}).ok
    assert all(api.request("GET", "/healthz", headers=client).ok for _ in range(10))
    time.sleep(retry_after)
    assert api.request("GET", PRODUCTS, headers=client).status_code == 200


def test_concurrent_first_requests_share_one_key_fetch(
    start_auth_api: Callable[..., ApiProcess],
) -> None:
    """Requests arriving while the first fetch is under way wait for it, none answers 503."""
    with running_issuer(delay_seconds=1) as issuer:
        api = start_auth_api(**issuer.api_env())
        headers = bearer(issuer.token())
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(
                pool.map(
                    lambda _: api.request("GET", PRODUCTS, headers=headers).status_code, range(8)
                )
            )
        assert statuses == [200] * 8
        assert issuer.jwks_requests == 1


def test_a_remembered_token_still_expires(
    issuer: TokenIssuer, start_auth_api: Callable[..., ApiProcess]
) -> None:
    api = start_auth_api(**issuer.api_env(AUTH_LEEWAY_SECONDS="0"))
    token = issuer.token(exp=int(time.time()) + 2)
    assert api.request("GET", PRODUCTS, headers=bearer(token)).status_code == 200
    time.sleep(3)
    expired = api.request("GET", PRODUCTS, headers=bearer(token))
    assert assert_challenge(expired, 401, "invalid_token") == "invalid_token"
    assert "expired" in expired.json()["error"]["message"]


def test_a_withdrawn_key_stops_its_remembered_tokens(
    start_auth_api: Callable[..., ApiProcess],
) -> None:
    with running_issuer() as issuer:
        api = start_auth_api(**issuer.api_env(AUTH_JWKS_REFRESH_INTERVAL_SECONDS="0.5"))
        old_token = issuer.token()
        assert api.request("GET", PRODUCTS, headers=bearer(old_token)).status_code == 200
        withdrawn = issuer.keys.pop(0)
        new_key = issuer.rotate()
        time.sleep(0.6)
        new = api.request("GET", PRODUCTS, headers=bearer(issuer.token(key=new_key)))
        assert new.status_code == 200, new.text  # this fetch no longer lists the old key
        refused = api.request("GET", PRODUCTS, headers=bearer(old_token))
        assert assert_challenge(refused, 401, "invalid_token") == "invalid_token"
        assert withdrawn.kid in refused.json()["error"]["message"]


def test_security_headers_on_every_kind_of_answer(secured: ApiProcess, issuer: TokenIssuer) -> None:
    assert SECURITY_HEADERS["X-Content-Type-Options"] == "nosniff"
    assert SECURITY_HEADERS["Cache-Control"] == "no-store"
    answers = {
        "read": secured.request("GET", PRODUCTS, headers=bearer(issuer.token())),
        "refused": secured.request("POST", PRODUCTS, json=product()),
        "forbidden": secured.request(
            "POST", PRODUCTS, json=product(), headers=bearer(issuer.token(roles=()))
        ),
        "not found": secured.request("GET", "/api/v1/nothing-here"),
        "probe": secured.request("GET", "/healthz"),
        "metrics": secured.request("GET", "/metrics"),
    }
    for kind, response in answers.items():
        missing = {
            name: response.headers.get(name)
            for name, value in SECURITY_HEADERS.items()
            if response.headers.get(name) != value
        }
        assert missing == {}, (kind, response.status_code)
