"""The API answers through the public ingress: readiness, and a product's whole life."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.smoke.settings import SmokeSettings

PRODUCTS = "/api/v1/products"
TIMEOUT = 10.0
READY_WAIT_SECONDS = 30.0


@dataclass
class Api:
    """HTTP calls to INGRESS_URL with the Ingress host as Host header; remembers what it made."""

    base_url: str
    host: str | None
    token: str = ""
    session: requests.Session = field(default_factory=requests.Session)
    created_skus: list[str] = field(default_factory=list)

    def call(self, method: str, path: str, **options: Any) -> requests.Response:
        """One request; a connection error fails the test saying where it went."""
        headers = dict(options.pop("headers", {}))
        if self.host:
            headers["Host"] = self.host
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        url = self.base_url + path
        try:
            return self.session.request(method, url, headers=headers, timeout=TIMEOUT, **options)
        except requests.RequestException as error:
            pytest.fail(f"{method} {url} (Host: {self.host}) failed: {error}", pytrace=False)

    def product_ids(self, sku: str) -> list[int]:
        """Ids of products whose sku is exactly `sku` (search is a substring match)."""
        found = self.call("GET", PRODUCTS, params={"q": sku, "limit": 200})
        found.raise_for_status()
        return [item["id"] for item in found.json()["items"] if item["sku"] == sku]


def explain(response: requests.Response) -> str:
    """Status and body start, for assertion messages."""
    return (
        f"{response.request.method} {response.url} -> {response.status_code}: {response.text[:300]}"
    )


@pytest.fixture
def api(settings: SmokeSettings, api_host: str | None) -> Iterator[Api]:
    """The API through the ingress; deletes every product the test created, even on failure."""
    client = Api(settings.ingress_url, api_host, settings.api_token)
    yield client
    leftovers = [pid for sku in client.created_skus for pid in client.product_ids(sku)]
    for product_id in leftovers:
        client.call("DELETE", f"{PRODUCTS}/{product_id}")
    client.session.close()


def test_readyz_is_200_through_the_ingress(api: Api) -> None:
    """/readyz says the API reaches its database; retried briefly after a fresh rollout."""
    deadline = time.monotonic() + READY_WAIT_SECONDS
    response = api.call("GET", "/readyz")
    while response.status_code != 200 and time.monotonic() < deadline:
        time.sleep(2)
        response = api.call("GET", "/readyz")
    assert response.status_code == 200, (
        f"API not ready through the ingress after {READY_WAIT_SECONDS:.0f} s: {explain(response)}"
    )


def test_product_create_read_adjust_delete(api: Api) -> None:
    """Create, read, adjust stock (idempotently), delete, and see it gone."""
    sku = f"smoke-{uuid.uuid4().hex[:16]}"
    api.created_skus.append(sku)
    body = {"sku": sku, "name": "Smoke test product", "price_cents": 199, "quantity": 5}
    created = api.call("POST", PRODUCTS, json=body)
    assert created.status_code == 201, explain(created)
    product = created.json()
    assert {k: product[k] for k in body} == body, f"created product differs: {product}"

    url = f"{PRODUCTS}/{product['id']}"
    read = api.call("GET", url)
    assert read.status_code == 200, explain(read)
    assert read.json()["sku"] == sku

    key = {"Idempotency-Key": f"smoke-{uuid.uuid4().hex}"}
    adjustment = {"delta": 3, "reason": "smoke test"}
    adjusted = api.call("POST", f"{url}/stock-adjustments", json=adjustment, headers=key)
    assert adjusted.status_code == 200, explain(adjusted)
    assert adjusted.json()["quantity"] == 8, f"5 + 3 should be 8: {adjusted.json()}"
    retried = api.call("POST", f"{url}/stock-adjustments", json=adjustment, headers=key)
    assert (retried.status_code, retried.json()) == (200, adjusted.json()), (
        f"a retry with the same Idempotency-Key must get the stored answer: {explain(retried)}"
    )
    assert api.call("GET", url).json()["quantity"] == 8, "the retry was applied twice"

    deleted = api.call("DELETE", url)
    assert deleted.status_code == 204, explain(deleted)
    gone = api.call("GET", url)
    assert gone.status_code == 404, f"deleted product still readable: {explain(gone)}"
