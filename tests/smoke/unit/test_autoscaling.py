"""The autoscaling tests' helpers on crafted HPA documents and a fake clock: the condition check
bites, and the load never exceeds its rate, its request count or its duration."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.smoke.autoscaling import (
    RATE_SHARE,
    Load,
    Pacer,
    current_cpu_utilization,
    load_rate,
    scaling_active_problem,
)


def _hpa(active: str | None = "True", utilization: int | None = 12) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": [{"type": "AbleToScale", "status": "True"}]}
    if active is not None:
        status["conditions"].append(
            {"type": "ScalingActive", "status": active, "reason": "ValidMetricFound"
             if active == "True" else "FailedGetResourceMetric", "message": "m"}
        )  # fmt: skip
    current: dict[str, Any] = {} if utilization is None else {"averageUtilization": utilization}
    status["currentMetrics"] = [
        {"type": "Resource", "resource": {"name": "memory", "current": {"averageUtilization": 99}}},
        {"type": "Resource", "resource": {"name": "cpu", "current": current}},
    ]
    return {"spec": {"minReplicas": 2}, "status": status}


def test_a_live_cpu_metric_is_scaling_active() -> None:
    assert scaling_active_problem(_hpa()) is None
    assert current_cpu_utilization(_hpa(utilization=37)) == 37  # cpu, not the memory metric


@pytest.mark.parametrize(
    ("hpa", "problem"),
    [
        (_hpa(active=None), "no ScalingActive condition yet"),
        (_hpa(active="False"), "ScalingActive=False (FailedGetResourceMetric: m)"),
        (_hpa(utilization=None), "no current CPU utilisation"),
        ({"spec": {}}, "no ScalingActive condition yet"),
    ],
)
def test_no_metric_is_a_problem_that_says_why(hpa: dict[str, Any], problem: str) -> None:
    found = scaling_active_problem(hpa)
    assert found is not None
    assert problem in found


def test_the_load_stays_under_the_per_client_limit() -> None:
    assert load_rate(20) == 20 * RATE_SHARE < 20
    with pytest.raises(ValueError, match="no per-client limit"):
        load_rate(0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_pacer_spaces_requests_at_its_rate() -> None:
    clock = FakeClock()
    pacer = Pacer(rate=10, max_requests=1000, duration=60, clock=clock)
    slots = [pacer.next_slot() for _ in range(5)]
    assert slots == pytest.approx([100.0, 100.1, 100.2, 100.3, 100.4])


def test_the_pacer_stops_at_its_request_count() -> None:
    pacer = Pacer(rate=1000, max_requests=3, duration=60, clock=FakeClock())
    assert [pacer.next_slot() is not None for _ in range(5)] == [True, True, True, False, False]


def test_the_pacer_stops_at_its_duration() -> None:
    clock = FakeClock()
    pacer = Pacer(rate=2, max_requests=1000, duration=1.5, clock=clock)
    slots = [pacer.next_slot() for _ in range(4)]
    assert slots[:3] == pytest.approx([100.0, 100.5, 101.0])
    assert slots[3] is None  # 101.5 is the end
    clock.now = 200.0  # late callers get nothing either
    assert pacer.next_slot() is None


def test_a_late_slot_is_now_not_a_burst_to_catch_up() -> None:
    clock = FakeClock()
    pacer = Pacer(rate=1, max_requests=10, duration=60, clock=clock)
    assert pacer.next_slot() == 100.0
    clock.now = 105.0
    assert pacer.next_slot() == 105.0  # its slot (101) is past: sent now
    assert pacer.next_slot() == 105.0  # slot 102, still past: the catch-up is bounded by count


@pytest.mark.parametrize(("rate", "count", "duration"), [(0, 1, 1), (1, 0, 1), (1, 1, 0)])
def test_an_unbounded_pacer_is_refused(rate: float, count: int, duration: float) -> None:
    with pytest.raises(ValueError, match="positive rate, count and duration"):
        Pacer(rate=rate, max_requests=count, duration=duration)


def test_the_load_sends_at_most_its_count_from_every_thread_and_counts_answers() -> None:
    sent = []
    lock = threading.Lock()

    def send() -> int:
        with lock:
            sent.append(1)
            if len(sent) % 5 == 0:
                raise ConnectionError("refused")
        return 200

    load = Load(send, Pacer(rate=500, max_requests=25, duration=30), threads=4)
    load.start()
    load.wait(timeout=10)
    assert not load.running
    assert len(sent) == 25
    assert load.statuses == {"200": 20, "ConnectionError": 5}
    assert load.sent == 25


def test_stopping_the_load_ends_it_early() -> None:
    load = Load(lambda: 200, Pacer(rate=5, max_requests=10_000, duration=600), threads=2)
    load.start()
    load.stop()
    assert load.sent < 10
    assert not load.running
