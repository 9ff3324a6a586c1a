"""A local stand-in for the Microsoft Entra ID token endpoint, and Azurite with OAuth enabled.

Why a stand-in: the workload-identity exchange (federated ServiceAccount token -> storage access
token) is served only by Entra ID, which is not a tool that can run offline. The
stand-in implements the one request dbops.azure_sas makes (OAuth 2.0 client credentials with a
JWT client assertion, RFC 7523) and checks every field the real endpoint checks for that grant;
it answers with a JWT carrying the claims Azurite's `--oauth basic` mode validates (issuer,
storage audience, lifetime) plus the oid/tid that Get User Delegation Key binds the key to.
Azurite then plays the blob service for real: it issues the delegation key and verifies every
SAS signed with it. Setting `fail` makes the endpoint answer like Entra ID does for a federated
credential that does not match (HTTP 401, AADSTS700213). Further identities federated to the
same ServiceAccount token (`add_identity`: the second repository's own) get tokens with their own
object id, so the delegation key, and the SAS signed with it, show which identity minted it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
STORAGE_SCOPE = "https://storage.azure.com/.default"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenEndpoint:
    """What the stand-in expects (tenant, client, federated token) and what it has seen."""

    tenant_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    federated_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    url: str = ""
    fail: bool = False
    issued: int = 0
    refused: int = 0
    others: dict[str, str] = field(default_factory=dict)
    """Client id -> object id of further identities that trust the same federated token."""

    def add_identity(self) -> tuple[str, str]:
        """Federate one more identity with the token; returns its (client id, object id)."""
        client_id, object_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.others[client_id] = object_id
        return client_id, object_id

    def access_token(self, client_id: str | None = None) -> str:
        """A one-hour JWT of `client_id` (default: the first identity) with the claims Azurite
        checks (signature unchecked in basic mode)."""
        client_id = client_id or self.client_id
        object_id = self.others.get(client_id, self.object_id)
        now = int(time.time())
        claims = {
            "aud": "https://storage.azure.com",
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now,
            "nbf": now - 60,
            "exp": now + 3600,
            "appid": client_id,
            "oid": object_id,
            "tid": self.tenant_id,
            "sub": object_id,
        }
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64url(json.dumps(claims).encode())
        return f"{header}.{payload}.{_b64url(secrets.token_bytes(32))}"

    def answer(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        """(status, JSON body) for one token request, checked like Entra ID checks it."""
        if path != f"/{self.tenant_id}/oauth2/v2.0/token":
            return 404, {"error": "invalid_request", "error_description": f"no tenant at {path}"}
        client_id = form.get("client_id", "")
        expected = {
            "grant_type": "client_credentials",
            "client_id": client_id if client_id in self.others else self.client_id,
            "scope": STORAGE_SCOPE,
            "client_assertion_type": ASSERTION_TYPE,
        }
        wrong = sorted(k for k, v in expected.items() if form.get(k) != v)
        if wrong:
            return 400, {"error": "invalid_request", "error_description": f"bad {wrong}"}
        if self.fail or form.get("client_assertion") != self.federated_token:
            self.refused += 1
            return 401, {
                "error": "invalid_client",
                "error_description": "AADSTS700213: No matching federated identity record "
                "found for presented assertion subject.",
            }
        self.issued += 1
        return 200, {
            "token_type": "Bearer",
            "expires_in": 3599,
            "access_token": self.access_token(client_id),
        }


@contextlib.contextmanager
def running_token_endpoint() -> Iterator[TokenEndpoint]:
    """Serve a TokenEndpoint over HTTP on a free loopback port for the block's duration."""
    endpoint = TokenEndpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            status, body = endpoint.answer(self.path, form)
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test asserts on the counters, not on a log."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()


OAUTH_ARGS = ("--oauth", "basic")
"""Azurite's switch for bearer tokens and user delegation keys (needs HTTPS, which it has)."""
