"""The local cluster's git server: the stand-in for the repository host Flux follows on AKS.

Flux's source-controller speaks git's smart HTTP protocol (go-git has no dumb one), so this
serves one bare repository through `git http-backend` as a CGI, over TLS with a serving
certificate the cluster CA signs, on the host's loopback only. Two accounts, each with a random
password generated once and kept 0600 in the state directory: the pipeline's, which fetches and
pushes promotion commits, and Flux's, which may only fetch (least privilege: Flux never pushes).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.server
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

from tools.localcluster.pki import CertSpec, write_private
from tools.localcluster.processes import Service
from tools.localcluster.registry import Credentials, answers_with
from tools.localcluster.settings import GIT_HOST, GIT_PORT, GIT_SERVER, Paths

PUSHER = "inventory-pipeline"
READER = "flux"
ACCOUNTS = (PUSHER, READER)
REPOSITORY = "inventory-platform.git"
BRANCH = "main"
UPLOAD_PACK = "git-upload-pack"
RECEIVE_PACK = "git-receive-pack"
REALM = "inventory-localcluster-git"
SERVING_CERT = CertSpec(
    "git-server", GIT_HOST, server=True, dns_names=(GIT_HOST,), ip_addresses=("127.0.0.1",)
)
REPO_ROOT = Path(__file__).resolve().parents[2]
CHUNK = 64 * 1024


def url(server: str = GIT_SERVER) -> str:
    """The repository's clone URL."""
    return f"https://{server}/{REPOSITORY}"


def ensure_accounts(paths: Paths) -> dict[str, Credentials]:
    """Both accounts, their passwords created on first use (0600)."""
    found = {}
    for user in ACCOUNTS:
        password_file = paths.git_password(user)
        if not password_file.exists():
            write_private(password_file, (secrets.token_urlsafe(32) + "\n").encode())
        found[user] = Credentials(user, password_file.read_text(encoding="utf-8").strip())
    return found


def ensure_repository(paths: Paths) -> Path:
    """The bare repository (branch main, pushes over HTTP allowed); kept when it exists."""
    repository = paths.git_repositories / REPOSITORY
    if not (repository / "HEAD").is_file():
        repository.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "--quiet", "--bare", f"--initial-branch={BRANCH}", str(repository)],
            check=True,
        )
    subprocess.run(["git", "-C", str(repository), "config", "http.receivepack", "true"], check=True)
    return repository


def service(paths: Paths, port: int = GIT_PORT) -> Service:
    """This module as a program, with the interpreter running the harness. `--source` names
    the digest of this file, so a running server whose code changed has another command line
    and `up` restarts it, as it does a binary whose flags changed."""
    argv = (sys.executable, "-m", "tools.localcluster.gitserver")
    source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    options = ("--state", str(paths.root), "--port", str(port), "--source", source)
    path = os.environ.get("PATH", "/usr/bin:/bin")
    return Service(
        "git-server", (*argv, *options), env={"PYTHONPATH": str(REPO_ROOT), "PATH": path}
    )


def answers(paths: Paths, server: str = GIT_SERVER) -> bool:
    """Flux's account lists the repository's refs over TLS verified with the cluster CA."""
    refs = f"{url(server)}/info/refs?service={UPLOAD_PACK}"
    return answers_with(refs, paths, paths.git_password(READER), READER)


def requested_service(method: str, path: str, query: str) -> str | None:
    """The git service a smart-protocol request for the one repository asks for; None for
    anything else (other paths, the dumb protocol's files, which go-git cannot use anyway)."""
    services = (UPLOAD_PACK, RECEIVE_PACK)
    if method == "GET" and path == f"/{REPOSITORY}/info/refs":
        asked = [part.removeprefix("service=") for part in query.split("&")]
        return next((service for service in asked if service in services), None)
    if method == "POST":
        return next((s for s in services if path == f"/{REPOSITORY}/{s}"), None)
    return None


def split_cgi(output: bytes) -> tuple[bytes, bytes]:
    """A CGI response's header block and body (git ends its headers with CRLF CRLF)."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = output.partition(separator)
        if found:
            return head, body
    return b"", output


def _stop(*_: object) -> None:
    raise SystemExit(0)


class Handler(http.server.BaseHTTPRequestHandler):
    """One request: authenticate, authorise, hand it to `git http-backend`."""

    server: Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    user: str | None = None
    body_read = False

    def log_message(self, format: str, *args: Any) -> None:
        """The access log: who asked for what (never the credentials)."""
        when = self.log_date_time_string()
        sys.stderr.write(f"{self.address_string()} {self.user or '-'} [{when}] {format % args}\n")

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        service = requested_service(self.command, path, query)
        if service is None:
            self._answer(404, "not a smart-protocol request of this repository")
            return
        self.user = self._user()
        if self.user is None:
            challenge = {"WWW-Authenticate": f'Basic realm="{REALM}"'}
            self._answer(401, "authentication required", challenge)
            return
        if self.user != PUSHER and service == RECEIVE_PACK:
            self._answer(403, f"{self.user} may not push")
            return
        self._backend(self.user, path, query)

    def _user(self) -> str | None:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(token).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        expected = self.server.accounts.get(user)
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            return None
        return user

    def _body(self) -> bytes:
        self.body_read = True
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _backend(self, user: str, path: str, query: str) -> None:
        body = self._body() if self.command == "POST" else b""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user,
            "REMOTE_ADDR": self.client_address[0],
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
        }
        completed = subprocess.run(
            ["git", "http-backend"], input=body, capture_output=True, env=env, check=False
        )
        head, content = split_cgi(completed.stdout)
        status, headers = 200, {}
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers[name.strip()] = value.strip()
        if completed.returncode != 0 and not head:
            sys.stderr.write(completed.stderr.decode(errors="replace"))
            self._answer(500, "git http-backend failed")
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def _answer(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        """A refusal, after which the connection closes; a refused request's body is read
        first, so closing does not reset the connection before the client reads the answer."""
        if self.command == "POST" and not self.body_read:
            self._body()
        self.close_connection = True
        data = f"{text}\n".encode()
        self.send_response(status)
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def tls_context(paths: Paths) -> ssl.SSLContext:
    """The server's TLS: the serving certificate the cluster CA signed, TLS 1.2 at least."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(
        paths.pki / f"{SERVING_CERT.name}.crt", paths.pki / f"{SERVING_CERT.name}.key"
    )
    return context


class Server(http.server.ThreadingHTTPServer):
    """The TLS listener, with the accounts and the repositories' root."""

    daemon_threads = True

    def __init__(self, port: int, paths: Paths) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.root = paths.git_repositories
        self.accounts = {c.username: c.password for c in ensure_accounts(paths).values()}
        self.socket = tls_context(paths).wrap_socket(self.socket, server_side=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.localcluster.gitserver")
    parser.add_argument("--state", type=Path, required=True, help="the cluster's state directory")
    parser.add_argument("--port", type=int, default=GIT_PORT)
    parser.add_argument("--source", default="", help="the digest of this program (see service)")
    args = parser.parse_args(argv)
    if shutil.which("git") is None:
        parser.error("git is not installed: apt-get install -y git")
    paths = Paths(args.state)
    ensure_repository(paths)
    server = Server(args.port, paths)
    signal.signal(signal.SIGTERM, _stop)
    sys.stderr.write(f"serving {url(f'{GIT_HOST}:{args.port}')}\n")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
