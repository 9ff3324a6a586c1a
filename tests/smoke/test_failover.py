"""Losing the primary, a planned switchover and a rolling update, under a writer through the
ingress.

Runs only with SMOKE_FAILOVER=run (it disrupts the database on purpose) against a release whose
database runs under Patroni with at least two members (postgresql.ha.enabled). Each phase:
every acknowledged adjustment is still there afterwards; the write outage is measured and
reported as a JUnit property; clients saw only successes and the API's own 503s.
"""

from __future__ import annotations

import collections
import json
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import requests

from tests.smoke.failover import (
    Members,
    Writer,
    replay_acknowledgements,
    unexpected_statuses,
    wait_for,
)
from tests.smoke.kube import Kube
from tests.smoke.settings import SmokeSettings
from tests.smoke.test_api import PRODUCTS, TIMEOUT

pytestmark = pytest.mark.failover
SETTLE_SECONDS = 5.0
RECOVERY_TIMEOUT = 180.0


@pytest.fixture(scope="module")
def members(kube: Kube, settings: SmokeSettings) -> Members:
    found = Members(kube, settings.namespace, settings.release)
    if len(found.pods()) < 2 or found.primary() is None:
        pytest.fail(
            "the failover test needs the database under Patroni with at least two members "
            "(postgresql.ha.enabled: true, ha.members >= 2)",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="module")
def session(settings: SmokeSettings, api_host: str | None) -> requests.Session:
    """Requests through the ingress: its Host header and, where the API checks them, a token."""
    return _session(api_host, settings.api_token)


@pytest.fixture(scope="module")
def product_url(settings: SmokeSettings, session: requests.Session) -> Iterator[str]:
    sku = f"smoke-failover-{uuid.uuid4().hex[:12]}"
    body = {"sku": sku, "name": "Failover writer", "price_cents": 1, "quantity": 0}
    created = session.post(settings.ingress_url + PRODUCTS, json=body, timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    url = f"{settings.ingress_url}{PRODUCTS}/{created.json()['id']}"
    yield url
    session.delete(url, timeout=TIMEOUT)


def _session(host: str | None, token: str) -> requests.Session:
    session = requests.Session()
    if host:
        session.headers["Host"] = host
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


def _writer(product_url: str, session: requests.Session) -> Writer:

    def post(key: str) -> requests.Response:
        """The same body for a key every time it is sent, so a replay is the same request."""
        return session.post(
            f"{product_url}/stock-adjustments", json={"delta": 1, "reason": f"write {key}"},
            headers={"Idempotency-Key": key}, timeout=TIMEOUT,
        )  # fmt: skip

    return Writer(post)


def _quantity(session: requests.Session, product_url: str) -> int:
    """The product's quantity as the primary has it (asked again while the API answers 503)."""
    answers: list[requests.Response] = []

    def answered() -> bool:
        answers.append(session.get(product_url, timeout=TIMEOUT))
        return answers[-1].status_code == 200

    wait_for(answered, RECOVERY_TIMEOUT, "the product's quantity")
    return int(answers[-1].json()["quantity"])


def _check(
    writer: Writer, product_url: str, session: requests.Session, *, phase: str, started: float,
    quantity_before: int, record: Callable[[str, object], None],
) -> None:  # fmt: skip
    """Every acknowledgement checked twice: the ledger's sum (each adjustment adds one, so the
    quantity rises at least by the number acknowledged), then each key's replay."""
    outage = writer.outage(started, time.monotonic())
    record(f"{phase}_write_outage_seconds", f"{outage:.1f}")
    record(f"{phase}_acknowledged", str(len(writer.acknowledged)))
    record(f"{phase}_statuses", json.dumps(dict(writer.statuses), sort_keys=True))
    gained = _quantity(session, product_url) - quantity_before
    record(f"{phase}_quantity_gained", str(gained))
    assert gained >= len(writer.acknowledged), (
        f"{phase}: the quantity rose by {gained} for {len(writer.acknowledged)} acknowledged "
        "adjustments of one each: committed adjustments are gone"
    )
    replayed = replay_acknowledgements(writer.acknowledged, writer.post)
    lost, unchecked = replayed.lost, replayed.unchecked
    assert not lost, f"{phase}: {len(lost)} acknowledged adjustments lost, e.g. {lost[:5]}"
    assert not unchecked, (
        f"{phase}: {len(unchecked)} acknowledged adjustments could not be checked: their replays "
        f"were answered {dict(collections.Counter(unchecked.values()))} until the deadline"
    )
    assert not unexpected_statuses(writer.statuses), (
        f"{phase}: clients saw {dict(writer.statuses)} (only 200 and the API's 503 are fine)"
    )


def _disrupted(
    writer: Writer, disrupt: Callable[[], object], settled: Callable[[], object]
) -> float:
    """Run `disrupt` under the writer, wait for `settled` and for writes after it; its start."""
    writer.start()
    try:
        time.sleep(SETTLE_SECONDS)
        started = time.monotonic()
        disrupt()
        settled()
        wait_for(
            lambda: bool(writer.acknowledged) and writer.acknowledged[-1].at > started,
            RECOVERY_TIMEOUT,
            "writes again",
        )
        time.sleep(SETTLE_SECONDS)
    finally:
        writer.stop()
    return started


def _all_members_back(members: Members) -> None:
    wait_for(
        lambda: (
            members.primary() is not None
            and len(members.with_role("replica")) == len(members.pods()) - 1
        ),
        RECOVERY_TIMEOUT,
        "one primary and every other member back as a replica",
    )


def test_deleting_the_primary_pod_loses_no_acknowledged_write(
    members: Members,
    product_url: str,
    session: requests.Session,
    record_testsuite_property: Callable[[str, object], None],
) -> None:
    old = members.primary()
    assert old is not None
    writer = _writer(product_url, session)
    before = _quantity(session, product_url)
    started = _disrupted(
        writer,
        lambda: members.delete(old),
        lambda: wait_for(
            lambda: members.primary() not in (None, old), RECOVERY_TIMEOUT, "a new primary"
        ),
    )
    _check(writer, product_url, session, phase="failover", started=started,
           quantity_before=before, record=record_testsuite_property)  # fmt: skip
    _all_members_back(members)


def test_a_planned_switchover_loses_no_acknowledged_write(
    members: Members,
    product_url: str,
    session: requests.Session,
    record_testsuite_property: Callable[[str, object], None],
) -> None:
    leader = members.primary()
    assert leader is not None
    candidate = members.with_role("replica")[0]
    writer = _writer(product_url, session)
    before = _quantity(session, product_url)
    started = _disrupted(
        writer,
        lambda: members.switchover(leader, candidate),
        lambda: wait_for(
            lambda: members.primary() == candidate, RECOVERY_TIMEOUT, f"{candidate} primary"
        ),
    )
    _check(writer, product_url, session, phase="switchover", started=started,
           quantity_before=before, record=record_testsuite_property)  # fmt: skip
    _all_members_back(members)


def test_a_rolling_update_of_the_members_loses_no_acknowledged_write(
    members: Members,
    product_url: str,
    session: requests.Session,
    record_testsuite_property: Callable[[str, object], None],
) -> None:
    """What every chart upgrade that changes the pod template does (a restart-only setting)."""
    writer = _writer(product_url, session)
    before = _quantity(session, product_url)
    started = _disrupted(
        writer,
        members.restart_all,
        lambda: wait_for(members.rolled_out, 2 * RECOVERY_TIMEOUT, "the rolling update"),
    )
    _check(writer, product_url, session, phase="rolling_update", started=started,
           quantity_before=before, record=record_testsuite_property)  # fmt: skip
    _all_members_back(members)
