"""The local cluster starts every time: ten `down`/`up` cycles from existing state and one start
from an empty state, each followed by `status` agreeing that every signal holds.

Each start's time is printed and written to reports/localcluster-restarts.json; the figures are
information, not a pass mark (speed lives in benchmarks): only a failed start fails the test.
"""

from __future__ import annotations

import json
import shutil
import statistics
import time
from collections.abc import Iterator

import pytest

from tools.localcluster import cluster
from tools.localcluster.settings import Paths, default_state_dir
from tools.toolchain.paths import REPO_ROOT

CYCLES = 10
REPORT = REPO_ROOT / "reports" / "localcluster-restarts.json"


def _timed_up(paths: Paths) -> float:
    started = time.monotonic()
    cluster.up(paths)
    seconds = time.monotonic() - started
    assert cluster.status(paths), f"`up` returned but `status` disagrees ({paths.root})"
    return seconds


def _say(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(line, flush=True)


@pytest.fixture(scope="module")
def results() -> Iterator[dict[str, object]]:
    recorded: dict[str, object] = {}
    yield recorded
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(recorded, indent=2) + "\n", encoding="utf-8")


def test_a_start_from_an_empty_state_succeeds(
    results: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    main = Paths(default_state_dir())
    cluster.down(main)  # one cluster per host: the main state's cluster makes way
    empty = Paths(main.root.with_name(f"{main.root.name}-empty-start"))
    shutil.rmtree(empty.root, ignore_errors=True)
    try:
        seconds = _timed_up(empty)
    finally:
        cluster.down(empty, purge=True)
    results["empty_state_start_seconds"] = round(seconds, 1)
    _say(capsys, f"start from an empty state: {seconds:.1f} s")


def test_ten_restarts_from_existing_state_all_succeed(
    results: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    main = Paths(default_state_dir())
    _timed_up(main)  # the existing state the cycles restart from
    starts: list[float] = []
    for cycle in range(1, CYCLES + 1):
        cluster.down(main)
        starts.append(_timed_up(main))
        _say(capsys, f"restart {cycle}/{CYCLES}: up in {starts[-1]:.1f} s")
    results["restart_seconds"] = [round(s, 1) for s in starts]
    quartiles = statistics.quantiles(starts, n=4)
    summary = (
        f"min {min(starts):.1f} s, median {statistics.median(starts):.1f} s, "
        f"p75 {quartiles[2]:.1f} s, max {max(starts):.1f} s"
    )
    results["restart_summary"] = summary
    _say(capsys, f"{CYCLES} restarts from existing state, zero failures: {summary}")
    assert len(starts) == CYCLES
