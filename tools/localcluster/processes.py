"""Long-running cluster processes, tracked by PID file and stopped only by that PID.

A PID is trusted only while /proc/<pid>/exe still is the binary we started, so a reused PID
is never signalled. Output goes to `logs/<name>.log`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Service:
    """A named process of the cluster."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] | None = None


def _pid_file(pids: Path, name: str) -> Path:
    return pids / f"{name}.pid"


def running_pid(pids: Path, name: str) -> int | None:
    """The PID of `name` if it is alive and still our binary; else None (stale file removed)."""
    pid_file = _pid_file(pids, name)
    try:
        pid_text, binary = pid_file.read_text(encoding="utf-8").split("\n", 2)[:2]
        pid = int(pid_text)
        alive = Path(os.readlink(f"/proc/{pid}/exe")) == Path(binary).resolve()
    except (OSError, ValueError):
        alive, pid = False, 0
    if not alive:
        pid_file.unlink(missing_ok=True)
        return None
    return pid


def command_line(pid: int) -> tuple[str, ...] | None:
    """The argv a running process was started with (/proc/PID/cmdline), None when unreadable."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return tuple(part.decode(errors="surrogateescape") for part in raw.split(b"\0")[:-1])


def runs_as(pids: Path, service: Service) -> bool:
    """True when `service` runs with exactly its wanted command line (False when stopped).

    A component whose flags changed since it started (a new harness version) must be
    restarted: `start` alone keeps the running process."""
    pid = running_pid(pids, service.name)
    return pid is not None and command_line(pid) == service.argv


def start(service: Service, pids: Path, logs: Path) -> int:
    """Start `service` unless already running; return its PID."""
    existing = running_pid(pids, service.name)
    if existing is not None:
        return existing
    pids.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / f"{service.name}.log").open("ab") as log:
        process = subprocess.Popen(
            service.argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(service.env) if service.env is not None else None,
            start_new_session=True,  # survives this command; its own process group
        )
    binary = Path(service.argv[0]).resolve()
    _pid_file(pids, service.name).write_text(f"{process.pid}\n{binary}\n", encoding="utf-8")
    return process.pid


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with contextlib.suppress(ChildProcessError):  # reap it when it is our own child
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    return False


def stop(name: str, pids: Path, timeout: float = 20.0) -> bool:
    """SIGTERM, then SIGKILL after `timeout`; True when something was stopped."""
    pid = running_pid(pids, name)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    if not _wait_gone(pid, timeout):
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 5.0)
    _pid_file(pids, name).unlink(missing_ok=True)
    return True


def wait_for(check: Callable[[], bool], what: str, timeout: float, log: Path) -> None:
    """Poll `check` until true; on timeout raise with the tail of the component's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
    raise RuntimeError(
        f"{what} not ready after {timeout:.0f} s; log {log}:\n"
        + "\n".join(f"  | {t}" for t in tail)
    )


def run(
    argv: Sequence[str], *, check: bool = True, timeout: float = 120, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """A short command with captured output; a failure raises with its stderr."""
    result = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=timeout, check=False, input=stdin
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip()}")
    return result
