"""Helpers of the autoscaling smoke tests: reading the HPA's status, and a bounded load.

Why apart: tests/smoke/unit proves on crafted HPA documents that the condition checks bite,
and on a fake clock that the load never exceeds its rate, its request count or its duration
(a load test that ran unbounded against a shared environment would be an incident of its own).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# A share of the API's per-client rate: every request of the suite comes from one client
# address (the ingress controller's view of this host), so the load must stay under that
# limit to be served, not answered 429.
RATE_SHARE = 0.75


def condition(hpa: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    """The HPA status condition of type `kind` (as the API serialises it), or None."""
    for found in hpa.get("status", {}).get("conditions") or []:
        if found.get("type") == kind:
            return dict(found)
    return None


def current_cpu_utilization(hpa: Mapping[str, Any]) -> int | None:
    """The average CPU utilisation (percent of requests) the HPA last read, or None."""
    for metric in hpa.get("status", {}).get("currentMetrics") or []:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            value = (resource.get("current") or {}).get("averageUtilization")
            return int(value) if value is not None else None
    return None


def scaling_active_problem(hpa: Mapping[str, Any]) -> str | None:
    """Why the HPA does not scale on a live CPU metric, or None.

    ScalingActive=True means the controller could fetch the metric (metrics.k8s.io answered for
    every pod); the current utilisation must be there too, or it scales on nothing."""
    active = condition(hpa, "ScalingActive")
    if active is None:
        return "no ScalingActive condition yet"
    if active.get("status") != "True":
        detail = f"{active.get('reason')}: {active.get('message')}"
        return f"ScalingActive={active.get('status')} ({detail})"
    if current_cpu_utilization(hpa) is None:
        return "ScalingActive=True but no current CPU utilisation in status.currentMetrics"
    return None


def load_rate(limit_per_second: float) -> float:
    """Requests per second for the load: RATE_SHARE of the API's per-client limit."""
    if limit_per_second <= 0:
        raise ValueError("the API has no per-client limit to stay under (RATE_LIMIT_PER_SECOND 0)")
    return limit_per_second * RATE_SHARE


@dataclass
class Pacer:
    """Hands out send times, `rate` per second at most, `max_requests` in all, none after
    `duration` seconds: what bounds the load, whatever the number of threads."""

    rate: float
    max_requests: int
    duration: float
    clock: Callable[[], float] = time.monotonic
    issued: int = 0
    started: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.max_requests < 1 or self.duration <= 0:
            raise ValueError(
                f"a load needs a positive rate, count and duration, got rate {self.rate}, "
                f"{self.max_requests} requests, {self.duration} s"
            )

    def next_slot(self) -> float | None:
        """When the next request may be sent (a monotonic time), or None: the load is over."""
        with self._lock:
            now = self.clock()
            if self.started is None:
                self.started = now
            slot = self.started + self.issued / self.rate
            if self.issued >= self.max_requests or slot >= self.started + self.duration:
                return None
            self.issued += 1
            return max(slot, now)


@dataclass
class Load:
    """`threads` workers sending `send()` at the pace of `pacer` until it ends or `stop()`."""

    send: Callable[[], int]  # one request; its status code (or raises requests' errors)
    pacer: Pacer
    threads: int = 4
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _work(self) -> None:
        while not self._stop.is_set():
            slot = self.pacer.next_slot()
            if slot is None:
                return
            if self._stop.wait(max(0.0, slot - time.monotonic())):
                return
            try:
                outcome = str(self.send())
            except OSError as error:  # requests' errors are OSErrors
                outcome = type(error).__name__
            with self._lock:
                self.statuses[outcome] += 1

    def start(self) -> None:
        for number in range(self.threads):
            worker = threading.Thread(target=self._work, name=f"load-{number}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def wait(self, timeout: float) -> None:
        """Let the pacer end the load (its count or duration), at most `timeout` seconds."""
        for worker in self._workers:
            worker.join(timeout=timeout)

    def stop(self) -> None:
        """End the load now: workers finish the request they are sending."""
        self._stop.set()
        self.wait(timeout=30)

    @property
    def running(self) -> bool:
        return any(worker.is_alive() for worker in self._workers)

    @property
    def sent(self) -> int:
        with self._lock:
            return sum(self.statuses.values())
