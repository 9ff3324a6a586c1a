"""A real token issuer for tests: its own RSA keys, a JWKS document served over HTTP, signed JWTs.

Why not a fake: the API fetches the keys over the network and verifies signatures with the real
library, so every accepted or refused token in a test went through the same path as in Azure.
The issuer counts its JWKS requests, so tests can prove the API's refresh rate limit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from inventory_api.auth.settings import AuthSettings
from jwt.algorithms import RSAAlgorithm

JWKS_PATH = "/discovery/v2.0/keys"
# The API's default role names (the chart's defaults are held equal to them in tests/helm).
READ_ROLE = AuthSettings.read_role
WRITE_ROLE = AuthSettings.write_role


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class SigningKey:
    """One RSA key pair and its key id."""

    kid: str
    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def jwk(self) -> dict[str, Any]:
        """The public half as a JWK, shaped like Entra ID's (no alg, use sig)."""
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig"}

    def public_pem(self) -> bytes:
        """The public key as PEM, the bytes an HMAC-confusion attacker would sign with."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass
class TokenIssuer:
    """Published keys plus the claims the API is configured to expect."""

    audience: str = "api://inventory-api-test"
    keys: list[SigningKey] = field(default_factory=lambda: [SigningKey(uuid.uuid4().hex)])
    port: int = 0
    jwks_requests: int = 0
    delay_seconds: float = 0.0  # > 0 makes the JWKS endpoint hang (timeout tests)

    @property
    def issuer(self) -> str:
        """The `iss` claim (and the issuer URL) of this issuer."""
        return f"http://127.0.0.1:{self.port}/test-tenant/v2.0"

    @property
    def jwks_url(self) -> str:
        """Where the API fetches the keys."""
        return f"http://127.0.0.1:{self.port}{JWKS_PATH}"

    def api_env(self, **overrides: str) -> dict[str, str]:
        """The AUTH_* variables that make the API trust this issuer."""
        return {
            "AUTH_MODE": "jwt",
            "AUTH_ISSUER": self.issuer,
            "AUTH_AUDIENCE": self.audience,
            "AUTH_JWKS_URL": self.jwks_url,
            "AUTH_JWKS_ALLOW_HTTP": "true",
            "AUTH_READ_ROLE": READ_ROLE,
            "AUTH_WRITE_ROLE": WRITE_ROLE,
            **overrides,
        }

    def jwks(self) -> dict[str, Any]:
        """The published key set."""
        return {"keys": [key.jwk() for key in self.keys]}

    def rotate(self) -> SigningKey:
        """Publish a new key next to the current ones (as Entra ID does before switching)."""
        key = SigningKey(uuid.uuid4().hex)
        self.keys.append(key)
        return key

    def claims(
        self, roles: tuple[str, ...] = (READ_ROLE, WRITE_ROLE), **claims: Any
    ) -> dict[str, Any]:
        """Valid claims for the configured audience; keyword arguments replace or add claims,
        and a claim given as None is left out."""
        now = int(time.time())
        base: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": "test-subject",
            "azp": "test-client",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "roles": list(roles),
        }
        return {name: value for name, value in {**base, **claims}.items() if value is not None}

    def token(
        self,
        roles: tuple[str, ...] = (READ_ROLE, WRITE_ROLE),
        key: SigningKey | None = None,
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        """An RS256 token signed with `key` (the first published key by default)."""
        key = key or self.keys[0]
        return jwt.encode(
            self.claims(roles, **claims),
            key.private,
            algorithm="RS256",
            headers={"kid": kid or key.kid},
        )

    def unsigned_token(self, **claims: Any) -> str:
        """An `alg: none` token (no signature at all)."""
        header = {"alg": "none", "typ": "JWT", "kid": self.keys[0].kid}
        payload = self.claims(**claims)
        return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}."

    def hmac_confusion_token(self) -> str:
        """HS256 signed with the issuer's public key PEM as the shared secret (the classic
        algorithm-confusion forgery; PyJWT refuses to create one, so it is built by hand)."""
        header = {"alg": "HS256", "typ": "JWT", "kid": self.keys[0].kid}
        signing_input = (
            f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(self.claims()).encode())}"
        )
        mac = hmac.new(self.keys[0].public_pem(), signing_input.encode(), hashlib.sha256)
        return f"{signing_input}.{_b64(mac.digest())}"


def _handler(issuer: TokenIssuer) -> type[BaseHTTPRequestHandler]:
    class JwksHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != JWKS_PATH:
                self.send_error(404)
                return
            issuer.jwks_requests += 1
            if issuer.delay_seconds:
                time.sleep(issuer.delay_seconds)
            body = json.dumps(issuer.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests assert on counts, not on log lines."""

    return JwksHandler


@contextmanager
def running_issuer(**options: Any) -> Iterator[TokenIssuer]:
    """A TokenIssuer whose JWKS is served on 127.0.0.1 until the block ends."""
    issuer = TokenIssuer(**options)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(issuer))
    server.daemon_threads = True
    issuer.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, name="token-issuer", daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
