"""PgBouncer entrypoint: write its auth file from the mounted password, follow rotations, exec.

Why: PgBouncer authenticates clients (SCRAM) against an auth file and logs in to PostgreSQL with
the same password, but the password arrives as a mounted secret file that Key Vault rotation
replaces in place. This writes the auth file before PgBouncer starts, then a grandchild (orphaned
to tini, so PgBouncer never reaps it) rewrites it whenever the mounted file changes and sends
SIGHUP, on which PgBouncer re-reads it: new logins use the new password, open ones continue.
`exporter` as the argument runs the metrics exporter against the pod-local socket instead.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import time
from pathlib import Path

CONFIG = Path(os.environ.get("PGBOUNCER_CONFIG", "/etc/pgbouncer/pgbouncer.ini"))
AUTH_FILE = Path(os.environ.get("PGBOUNCER_AUTH_FILE", "/tmp/pgbouncer/userlist.txt"))  # noqa: S108


class PoolerError(Exception):
    """A configuration problem, reported in one line."""


def setting(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise PoolerError(f"environment variable {name} is required but not set")
    return value


def auth_file_text(user: str, password_file: Path) -> str:
    """One `"user" "password"` line; PgBouncer doubles a quote inside a quoted value."""
    try:
        password = password_file.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as error:
        raise PoolerError(f"cannot read {password_file}: {error.strerror}") from None
    if len(password) < 12:
        raise PoolerError(f"the password in {password_file} is shorter than 12 characters")
    quoted = [f'"{value.replace(chr(34), chr(34) * 2)}"' for value in (user, password)]
    return " ".join(quoted) + "\n"


def write_auth_file(user: str, password_file: Path) -> str:
    """Replace the auth file atomically (mode 0600); return the password file's fingerprint."""
    text = auth_file_text(user, password_file)
    AUTH_FILE.parent.mkdir(parents=True, exist_ok=True)
    staged = AUTH_FILE.with_suffix(".new")
    staged.write_text(text, encoding="utf-8")
    staged.chmod(0o600)
    staged.rename(AUTH_FILE)
    return hashlib.sha256(text.encode()).hexdigest()


def follow_rotations(user: str, password_file: Path, pgbouncer_pid: int, applied: str) -> None:
    """Rewrite the auth file and SIGHUP PgBouncer whenever the password file changes."""
    interval = int(os.environ.get("POOLER_WATCH_SECONDS", "10"))
    while True:
        time.sleep(interval)
        try:
            fingerprint = hashlib.sha256(auth_file_text(user, password_file).encode()).hexdigest()
            if fingerprint != applied:
                applied = write_auth_file(user, password_file)
                os.kill(pgbouncer_pid, signal.SIGHUP)
                print("pooler: password file changed, auth file rewritten, reloaded", flush=True)
        except (PoolerError, OSError) as error:  # keep the old file; retried next tick
            print(f"pooler: ERROR: {error}", file=sys.stderr, flush=True)


def beside(pid: int, user: str, password_file: Path, applied: str) -> None:
    """Start the watcher in a grandchild (two forks) and return in the parent."""
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return
    if os.fork():
        os._exit(0)
    try:
        follow_rotations(user, password_file, pid, applied)
    finally:
        os._exit(1)


def main(args: list[str]) -> int:
    try:
        if args == ["exporter"]:
            exporter = str(Path(__file__).with_name("pooler_exporter.py"))
            os.execv(sys.executable, [sys.executable, exporter])  # noqa: S606 - no shell
        if args:
            raise PoolerError(f"unknown arguments {args}: expected none or 'exporter'")
        user = setting("POOLER_DATABASE_USER")
        password_file = Path(setting("POOLER_PASSWORD_FILE"))
        applied = write_auth_file(user, password_file)
    except PoolerError as error:
        print(f"pooler: ERROR: {error}", file=sys.stderr)
        return 1
    beside(os.getpid(), user, password_file, applied)
    os.execv("/usr/sbin/pgbouncer", ["pgbouncer", str(CONFIG)])  # noqa: S606
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
