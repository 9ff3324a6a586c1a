"""Running build commands and measuring them: builds report wall time and peak memory."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")


class ToolchainError(RuntimeError):
    """A build or check step failed; the message says what to do."""


@dataclass(frozen=True)
class Measurement:
    """Wall time and peak resident memory of one command and all its descendants."""

    seconds: float
    peak_tree_bytes: int  # sampled sum over the process tree (what the machine must hold)
    peak_process_bytes: int  # the largest single process (kernel-reported)

    def describe(self) -> str:
        gib = 2**30
        return (
            f"{self.seconds:.0f} s, peak memory {self.peak_tree_bytes / gib:.2f} GiB "
            f"(largest process {self.peak_process_bytes / gib:.2f} GiB)"
        )


def _rss_by_parent() -> dict[int, list[tuple[int, int]]]:
    tree: dict[int, list[tuple[int, int]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            statm = Path(f"/proc/{entry}/statm").read_text()
        except OSError:
            continue  # the process ended while we looked
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append((int(entry), int(statm.split()[1]) * _PAGE))
    return tree


def _tree_rss(root: int) -> int:
    tree = _rss_by_parent()
    total, pending = 0, [root]
    while pending:
        for child, rss in tree.get(pending.pop(), []):
            total += rss
            pending.append(child)
    return total


PROGRESS_EVERY = 60.0  # seconds between "still building" lines


def duration(seconds: float) -> str:
    """`17 min 02 s`, or `42 s` under a minute."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


@dataclass(frozen=True)
class Progress:
    """What a long build is, and how long its last build took (None: none on record)."""

    what: str
    last_seconds: float | None

    def line(self, elapsed: float) -> str:
        last = (
            f"the last build took {duration(self.last_seconds)}"
            if self.last_seconds is not None
            else "no earlier build on record"
        )
        return f"building {self.what}: {duration(elapsed)} so far ({last})"


def run_measured(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    progress: Progress | None = None,
) -> Measurement:
    """Run `argv` with output to `log`; raise ToolchainError (with the log's tail) on failure.
    With `progress`, a line says what is building at least once a minute: a cold build runs
    for tens of minutes and must not look hung."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    peak = 0
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            report_at = started + PROGRESS_EVERY
            while not done.is_set():
                # The children of our own pid are exactly this build's process tree.
                peak = max(peak, _tree_rss(os.getpid()))
                if progress is not None and time.monotonic() >= report_at:
                    print(progress.line(time.monotonic() - started), flush=True)
                    report_at += PROGRESS_EVERY
                done.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-20:]
        raise ToolchainError(
            f"command failed (exit {proc.returncode}): {' '.join(argv)}\n"
            f"  in {cwd}; full log: {log}\n" + "\n".join(f"  | {line}" for line in tail)
        )
    return Measurement(time.monotonic() - started, peak, usage.ru_maxrss * 1024)


def run_text(argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> str:
    """Run a quick probe and return its stdout; raise ToolchainError with stderr on failure."""
    try:
        result = subprocess.run(
            argv,
            check=False,
            capture_output=True,
            text=True,
            env=None if env is None else dict(env),
            timeout=120,
        )
    except OSError as error:
        raise ToolchainError(f"cannot run {argv[0]}: {error}") from error
    if result.returncode != 0:
        raise ToolchainError(
            f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip()[-500:]}"
        )
    return result.stdout
