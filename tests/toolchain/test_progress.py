"""A long build says what it builds, for how long, and how long its last build took."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from tools.toolchain import process
from tools.toolchain.process import Progress, duration, run_measured
from tools.toolchain.stamps import Stamp, newest_stamp, write_stamp


def test_durations_read_as_minutes_and_seconds() -> None:
    assert duration(42.4) == "42 s"
    assert duration(1022) == "17 min 02 s"


def test_the_line_names_the_build_and_its_last_duration() -> None:
    assert Progress("azurerm 5.2.0", 1022).line(185) == (
        "building azurerm 5.2.0: 3 min 05 s so far (the last build took 17 min 02 s)"
    )
    assert Progress("etcd 3.6.4", None).line(61) == (
        "building etcd 3.6.4: 1 min 01 s so far (no earlier build on record)"
    )


def test_a_running_build_reports_at_every_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(process, "PROGRESS_EVERY", 0.5)
    run_measured(
        [sys.executable, "-c", "import time; time.sleep(1.8)"],
        cwd=tmp_path,
        env=os.environ,
        log=tmp_path / "build.log",
        progress=Progress("thing 1.0", 2.0),
    )
    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    assert len(lines) >= 3
    assert all(line.startswith("building thing 1.0: ") for line in lines)


def test_a_quiet_build_without_progress_prints_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_measured([sys.executable, "-c", "pass"], cwd=tmp_path, env=os.environ, log=tmp_path / "l")
    assert capsys.readouterr().out == ""


def test_the_newest_stamp_of_any_version_is_the_last_build(tmp_path: Path) -> None:
    for version, seconds in (("1.0", 10.0), ("2.0", 20.0)):
        stamp = Stamp("tool", version, "inputs", "go", seconds, 1)
        (tmp_path / version).mkdir()
        write_stamp(tmp_path / version, stamp)
        time.sleep(0.01)
    os.utime(tmp_path / "1.0" / "stamp.json")  # 1.0 rebuilt last
    newest = newest_stamp(tmp_path)
    assert newest is not None
    assert newest.seconds == 10.0
    assert newest_stamp(tmp_path / "missing") is None
