"""Run one external command with a timeout, its output captured to a log, progress on the console.

Every stage runs its tools through here so that timeouts, logs and progress behave the same way
everywhere: the full output goes to a log file (archived by Jenkins), the console gets a
heartbeat line for long steps and the tail of the output when a step fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pipelines.core.clock import format_duration

Echo = Callable[[str], None]

TAIL_LINES = 40
"""How many trailing output lines a failure shows on the console and in reports."""


@dataclass(frozen=True)
class CommandResult:
    """What one command did: exit status, how long it took, and the end of its output."""

    argv: tuple[str, ...]
    returncode: int
    elapsed: float
    timed_out: bool
    tail: tuple[str, ...]
    log_path: Path
    ok_codes: tuple[int, ...] = (0,)

    @property
    def ok(self) -> bool:
        """True when the command exited with an accepted status within its timeout."""
        return self.returncode in self.ok_codes and not self.timed_out

    @property
    def last_line(self) -> str:
        """The last non-empty output line, the usual place for a tool's verdict (undecorated:
        pytest frames its verdict in `=` signs)."""
        for line in reversed(self.tail):
            if line.strip(" =\t"):
                return line.strip(" =\t")
        return ""


def run_command(
    argv: Sequence[str],
    *,
    cwd: Path,
    log_path: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
    echo: Echo = print,
    heartbeat: float = 20.0,
    label: str | None = None,
    ok_codes: tuple[int, ...] = (0,),
) -> CommandResult:
    """Run `argv` to completion or until `timeout` seconds, logging all output to `log_path`.

    The command gets its own process group so a timeout kills everything it started.
    A heartbeat line with the elapsed time and the latest output line is echoed every
    `heartbeat` seconds while it runs. Exit statuses in `ok_codes` count as success.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    name = label or " ".join(argv)
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    started = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log:
        log.write(f"$ {' '.join(argv)}\n")
        log.flush()
        try:
            process = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                errors="replace",
                start_new_session=True,
            )
        except OSError as error:
            message = f"cannot start {argv[0]}: {error.strerror or error}"
            log.write(message + "\n")
            return CommandResult(tuple(argv), 127, 0.0, False, (message,), log_path, ok_codes)
        reader = threading.Thread(target=_pump, args=(process, log, tail), daemon=True)
        reader.start()
        timed_out = _wait(
            process,
            started=started,
            timeout=timeout,
            heartbeat=heartbeat,
            name=name,
            tail=tail,
            echo=echo,
        )
        reader.join()
        elapsed = time.monotonic() - started
        if timed_out:
            note = f"timed out after {format_duration(timeout)}; killed"
            log.write(note + "\n")
            tail.append(note)
    return CommandResult(
        tuple(argv), process.returncode, elapsed, timed_out, tuple(tail), log_path, ok_codes
    )


def _pump(process: subprocess.Popen[str], log: TextIO, tail: deque[str]) -> None:
    """Copy the child's output into the log and the tail buffer as it arrives."""
    assert process.stdout is not None
    for line in process.stdout:
        log.write(line)
        tail.append(line.rstrip("\n"))
    process.stdout.close()


def _wait(
    process: subprocess.Popen[str],
    *,
    started: float,
    timeout: float,
    heartbeat: float,
    name: str,
    tail: deque[str],
    echo: Echo,
) -> bool:
    """Wait for the process, echoing heartbeats; kill its process group on timeout."""
    deadline = started + timeout
    next_beat = started + heartbeat
    while True:
        now = time.monotonic()
        wait_for = max(0.0, min(deadline, next_beat) - now)
        try:
            process.wait(timeout=wait_for)
            return False
        except subprocess.TimeoutExpired:
            now = time.monotonic()
        if now >= deadline:
            _kill_group(process)
            return True
        if now >= next_beat:
            latest = tail[-1].strip() if tail else ""
            shown = f" | {latest[:90]}" if latest else ""
            echo(f"    ... {name[:60]} running {format_duration(now - started)}{shown}")
            next_beat += heartbeat


def _kill_group(process: subprocess.Popen[str]) -> None:
    """Terminate the whole process group, then kill it if it does not stop within 10 s."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
