"""The shared command runner: output capture, progress heartbeats, timeouts, missing binaries."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from pipelines.core.runner import run_command


def test_output_goes_to_the_log_and_the_tail(tmp_path: Path) -> None:
    script = "import sys; print('first'); print('to stderr', file=sys.stderr); sys.exit(4)"
    result = run_command(
        [sys.executable, "-c", script], cwd=tmp_path, log_path=tmp_path / "x.log", timeout=30
    )
    assert not result.ok
    assert result.returncode == 4
    assert result.tail == ("first", "to stderr")
    assert result.last_line == "to stderr"
    log = (tmp_path / "x.log").read_text(encoding="utf-8")
    assert log.startswith(f"$ {sys.executable} -c ")
    assert "first\nto stderr\n" in log


def test_long_steps_echo_heartbeats_with_the_latest_output(tmp_path: Path) -> None:
    lines: list[str] = []
    script = "import time; print('compiling helm', flush=True); time.sleep(1.6)"
    result = run_command(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        log_path=tmp_path / "x.log",
        timeout=30,
        echo=lines.append,
        heartbeat=0.5,
        label="build helm",
    )
    assert result.ok
    assert len(lines) >= 2
    assert all(line.startswith("    ... build helm running ") for line in lines)
    assert lines[-1].endswith("| compiling helm")


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "survivor"
    # The child backgrounds a grandchild that would write the marker after 3 s.
    script = f"sleep 3 && touch {marker} & sleep 60"
    started = time.monotonic()
    result = run_command(["sh", "-c", script], cwd=tmp_path, log_path=tmp_path / "x.log", timeout=1)
    assert result.timed_out
    assert not result.ok
    assert time.monotonic() - started < 10
    assert result.tail[-1] == "timed out after 1.0s; killed"
    time.sleep(3)
    assert not marker.exists()


def test_a_missing_binary_is_reported_not_raised(tmp_path: Path) -> None:
    result = run_command(
        ["no-such-tool-here", "--version"], cwd=tmp_path, log_path=tmp_path / "x.log", timeout=5
    )
    assert result.returncode == 127
    assert result.last_line.startswith("cannot start no-such-tool-here: No such file")


def test_accepted_exit_codes_count_as_success(tmp_path: Path) -> None:
    result = run_command(
        [sys.executable, "-c", "raise SystemExit(2)"],
        cwd=tmp_path,
        log_path=tmp_path / "x.log",
        timeout=30,
        ok_codes=(0, 2),
    )
    assert result.ok
