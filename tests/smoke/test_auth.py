"""Through the public ingress: an anonymous write is refused and one with the suite's token goes
through, the per-client limit answers 429 with Retry-After, and /metrics is not routed at all.

What to expect is read from the deployed API's own settings (its Deployment's environment,
judged by the API's validation), so the suite tests the release as configured.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from inventory_api.auth.settings import AuthSettings

from tests.smoke.auth_checks import challenge_problems, deployed_settings, rate_limit_problems
from tests.smoke.kube import API_NAME, INSTANCE, NAME, Kube, selector
from tests.smoke.settings import SmokeSettings
from tests.smoke.test_api import PRODUCTS, TIMEOUT, Api, explain

CLIENTS = 16
LIMIT_WAIT_SECONDS = 30.0


@pytest.fixture(scope="module")
def api_deployment(kube: Kube, settings: SmokeSettings) -> Any:
    """The release's API Deployment."""
    labels = selector({NAME: API_NAME, INSTANCE: settings.release})
    found = kube.apps.list_namespaced_deployment(settings.namespace, label_selector=labels).items
    assert len(found) == 1, f"expected one Deployment labelled {labels}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def auth(api_deployment: Any) -> AuthSettings:
    """The deployed API's authentication and rate-limit settings."""
    container = next(c for c in api_deployment.spec.template.spec.containers if c.name == "api")
    return deployed_settings(container.env or [])


@pytest.fixture
def anonymous(settings: SmokeSettings, api_host: str | None) -> Iterator[Api]:
    """The API through the ingress without a token."""
    client = Api(settings.ingress_url, api_host)
    yield client
    client.session.close()


def test_an_anonymous_write_is_refused_and_an_authorised_one_succeeds(
    anonymous: Api, auth: AuthSettings, settings: SmokeSettings
) -> None:
    assert auth.enabled, "the API does not check tokens (AUTH_MODE=off): every write is open"
    body = {"sku": f"smoke-auth-{uuid.uuid4().hex[:12]}", "name": "Authorised", "price_cents": 1}
    response = anonymous.call("POST", PRODUCTS, json=body)
    problems = challenge_problems(response.status_code, response.headers, response.text)
    assert problems == [], f"{explain(response)}: {'; '.join(problems)}"
    if not settings.api_token:
        pytest.fail(
            "the API checks tokens: set SMOKE_API_TOKEN to a token with the "
            f"{auth.read_role} and {auth.write_role} roles so the authorised writes can run",
            pytrace=False,
        )
    authorised = Api(settings.ingress_url, anonymous.host, settings.api_token)
    with authorised.session:
        created = authorised.call("POST", PRODUCTS, json=body)
        assert created.status_code == 201, explain(created)
        deleted = authorised.call("DELETE", f"{PRODUCTS}/{created.json()['id']}")
        assert deleted.status_code == 204, explain(deleted)


def test_metrics_are_not_routed_by_the_public_ingress(anonymous: Api) -> None:
    response = anonymous.call("GET", "/metrics")
    assert response.status_code == 404, explain(response)
    assert "http_requests_total" not in response.text


def test_the_per_client_limit_answers_429_with_retry_after(
    anonymous: Api, auth: AuthSettings
) -> None:
    assert auth.rate_limit_per_second > 0, "RATE_LIMIT_PER_SECOND is 0: no per-client limit"
    limited = first_rate_limited(anonymous)
    assert limited is not None, (
        f"no 429 within {LIMIT_WAIT_SECONDS:.0f} s of {CLIENTS} parallel requests "
        f"(limit {auth.rate_limit_per_second}/s, burst {auth.rate_limit_burst} per pod)"
    )
    problems = rate_limit_problems(limited.status_code, limited.headers, limited.text)
    assert problems == [], f"{explain(limited)}: {'; '.join(problems)}"
    time.sleep(int(limited.headers["Retry-After"]))  # the bucket refills: later tests unaffected
    again = anonymous.call("GET", PRODUCTS, params={"limit": 1})
    assert again.status_code != 429, f"still limited after Retry-After: {explain(again)}"


def first_rate_limited(api: Api) -> requests.Response | None:
    """Send reads from CLIENTS threads (one client address) until one answer is 429."""
    deadline = time.monotonic() + LIMIT_WAIT_SECONDS
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        while time.monotonic() < deadline:
            batch = [pool.submit(_read, api) for _ in range(CLIENTS * 4)]
            for response in (future.result() for future in batch):
                if response.status_code == 429:
                    return response
    return None


def _read(api: Api) -> requests.Response:
    """One read without the shared session (requests' sessions are not thread-safe)."""
    headers = {"Host": api.host} if api.host else {}
    return requests.get(
        f"{api.base_url}{PRODUCTS}", params={"limit": 1}, headers=headers, timeout=TIMEOUT
    )
