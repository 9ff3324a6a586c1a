"""The failover test's bookkeeping, on crafted answers: outage, lost writes, bad statuses."""

from __future__ import annotations

import collections
import itertools
import json
import time

import pytest
import requests

from tests.smoke.failover import (
    Acknowledged,
    Replayed,
    Writer,
    replay_acknowledgements,
    unexpected_statuses,
)
from tests.smoke.settings import ConfigError, load_settings
from tests.support.outage import Distribution, longest_gap


def _response(status: int, body: dict[str, object] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body or {}).encode()
    return response


def test_longest_gap_counts_the_edges_of_the_window() -> None:
    assert longest_gap([1.0, 2.0, 6.5, 7.0], since=0.0, until=8.0) == 4.5
    assert longest_gap([], since=3.0, until=5.0) == 2.0
    assert longest_gap([0.5, 9.0], since=1.0, until=4.0) == 3.0  # outside the window: ignored
    with pytest.raises(ValueError, match="before since"):
        longest_gap([], since=5.0, until=1.0)


def test_distribution_summary() -> None:
    assert Distribution((3.0, 1.0, 2.0)).summary().startswith("n=3 min 1.0 median 2.0")
    assert Distribution(()).summary() == "n=0"


def test_a_replay_with_another_movement_is_a_lost_write() -> None:
    acks = [Acknowledged(key, 10 + n, 0.1 * n) for n, key in enumerate("abcd")]
    answers = {
        "a": _response(200, {"movement_id": 10}),
        "b": _response(200, {"movement_id": 99}),  # applied anew: the first commit was lost
        "c": _response(422, {"error": "invalid"}),  # refused what it once acknowledged
        "d": _response(200, {"movement_id": 13}),
    }
    replayed = replay_acknowledgements(acks, answers.__getitem__, interval=0)
    assert replayed.lost == ["b", "c"]
    assert replayed.unchecked == {}


def test_a_replay_answered_503_is_asked_again_not_counted_as_lost() -> None:
    """While the database settles the API answers 503: that proves neither way."""
    answers = {"a": [_response(503), _response(429), _response(200, {"movement_id": 10})]}

    def replay(key: str) -> requests.Response:
        return answers[key].pop(0)

    replayed = replay_acknowledgements([Acknowledged("a", 10, 0.0)], replay, interval=0)
    assert replayed == Replayed([], {})
    assert answers["a"] == []


def test_replays_still_unanswered_at_the_deadline_are_unchecked() -> None:
    def replay(key: str) -> requests.Response:
        if key == "b":
            raise requests.ConnectionError("reset")
        return _response(503)

    acks = [Acknowledged("a", 1, 0.0), Acknowledged("b", 2, 0.1)]
    replayed = replay_acknowledgements(acks, replay, patience=0.05, interval=0.01)
    assert replayed.lost == []
    assert replayed.unchecked == {"a": "503", "b": "ConnectionError"}


def test_replays_are_paced_across_retries_and_keys_alike() -> None:
    """The API rate-limits per client: every request, a retry or the next key's, waits out the
    interval since the one before, and the first goes at once."""
    answers = {"a": [_response(503), _response(200, {"movement_id": 1})]}
    answers["b"] = [_response(200, {"movement_id": 2})]
    sent: list[float] = []

    def replay(key: str) -> requests.Response:
        sent.append(time.monotonic())
        return answers[key].pop(0)

    started = time.monotonic()
    acks = [Acknowledged("a", 1, 0.0), Acknowledged("b", 2, 0.1)]
    replayed = replay_acknowledgements(acks, replay, interval=0.1)
    assert replayed == Replayed([], {})
    assert len(sent) == 3
    assert sent[0] - started < 0.1
    # a millisecond's slack: `sent` is taken in the replay, just after the pacer's own clock read
    assert all(later - earlier >= 0.099 for earlier, later in itertools.pairwise(sent))


def test_only_success_and_the_apis_503_are_expected() -> None:
    seen = collections.Counter({"200": 40, "503": 7, "404": 3, "ConnectionError": 1})
    assert unexpected_statuses(seen) == {"404": 3, "ConnectionError": 1}


def test_writer_records_acknowledgements_and_statuses() -> None:
    answers = iter([_response(503), _response(200, {"movement_id": 1})])

    def post(_key: str) -> requests.Response:
        try:
            return next(answers)
        except StopIteration:
            raise requests.ConnectionError("gone") from None

    writer = Writer(post)
    writer.start()
    deadline = time.monotonic() + 5
    while writer.statuses["ConnectionError"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.stop()
    assert [a.movement_id for a in writer.acknowledged] == [1]
    assert writer.statuses["503"] == 1
    assert writer.statuses["200"] == 1


def test_a_replay_is_the_acknowledged_request_itself() -> None:
    """The API answers a known key with another body with 409, so the check must resend the
    acknowledged request: through the writer's own `post` nothing counts as lost."""
    first: dict[str, int] = {}

    def post(key: str) -> requests.Response:
        movement = first.setdefault(key, len(first) + 1)
        return _response(200, {"movement_id": movement})

    writer = Writer(post)
    writer.start()
    deadline = time.monotonic() + 5
    while len(writer.acknowledged) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.stop()
    assert len(writer.acknowledged) >= 3
    assert replay_acknowledgements(writer.acknowledged, writer.post, interval=0).lost == []
    conflict = replay_acknowledgements(
        writer.acknowledged, lambda _key: _response(409, {}), interval=0
    )
    assert conflict.lost == [a.key for a in writer.acknowledged]


def test_smoke_failover_setting_is_validated() -> None:
    with pytest.raises(ConfigError, match="SMOKE_FAILOVER must be off or run"):
        load_settings({"SMOKE_FAILOVER": "yes"})
