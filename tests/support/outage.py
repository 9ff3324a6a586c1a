"""Write outage from acknowledgement times: shared by tests/ha, the smoke failover test and
benchmarks/ha, so every layer measures an outage the same way."""

from __future__ import annotations

import itertools
import statistics
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class BackgroundLoop:
    """`_run` on a daemon thread until `stop`: the writers whose acknowledgements measure an
    outage. The fields are keyword-only so subclasses may declare required fields."""

    _stop: threading.Event = field(default_factory=threading.Event, kw_only=True, repr=False)
    _thread: threading.Thread | None = field(default=None, kw_only=True, repr=False)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        raise NotImplementedError


def longest_gap(acknowledged: Iterable[float], since: float, until: float) -> float:
    """Longest time without an acknowledgement inside [since, until] (the write outage)."""
    if until < since:
        raise ValueError(f"until ({until}) is before since ({since})")
    stamps = sorted(t for t in acknowledged if since <= t <= until)
    return max(b - a for a, b in itertools.pairwise([since, *stamps, until]))


@dataclass(frozen=True)
class Distribution:
    """Outages of repeated runs, in seconds."""

    samples: tuple[float, ...]

    def summary(self) -> str:
        """`n=5 min 3.1 median 4.0 p90 5.2 max 6.0` (p90 needs at least two samples)."""
        if not self.samples:
            return "n=0"
        ordered = sorted(self.samples)
        p90 = (
            statistics.quantiles(ordered, n=10, method="inclusive")[-1]
            if len(ordered) > 1
            else ordered[0]
        )
        return (
            f"n={len(ordered)} min {ordered[0]:.1f} median {statistics.median(ordered):.1f} "
            f"p90 {p90:.1f} max {ordered[-1]:.1f} s"
        )
