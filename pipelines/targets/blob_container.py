"""Create an Azure Blob container on a path-style endpoint (Azurite), with Shared Key auth.

Why not the azure-storage-blob SDK: the local stand-in reaches Azurite by its Service's cluster
IP while the certificate names the Service's DNS name, and the SDK's HTTP stack cannot verify
one name while connecting to another address. Here the TLS server name is explicit and the one
REST call (Create Container) is signed by hand, per Azure's "Authorize with Shared Key".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import socket
import ssl
from dataclasses import dataclass
from email.utils import formatdate

API_VERSION = "2021-08-06"


def string_to_sign(
    method: str, path: str, account: str, headers: dict[str, str], query: str
) -> str:
    """Shared Key string-to-sign of a body-less request (only x-ms-* headers are set)."""
    canonical_headers = "".join(
        f"{name}:{headers[name]}\n" for name in sorted(headers) if name.startswith("x-ms-")
    )
    name, _, value = query.partition("=")
    # 11 empty standard headers: Content-Encoding .. Range (Content-Length is empty for 0).
    return f"{method}\n" + "\n" * 11 + canonical_headers + f"/{account}{path}\n{name}:{value}"


def sign(secret: str, text: str) -> str:
    """Base64 HMAC-SHA256 of `text` with the base64 account key."""
    digest = hmac.new(base64.b64decode(secret), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class _NamedTLSConnection(http.client.HTTPSConnection):
    """HTTPS to `address` while verifying the certificate for `server_name`."""

    def __init__(self, address: str, port: int, server_name: str, context: ssl.SSLContext):
        super().__init__(address, port, timeout=10, context=context)
        self._server_name = server_name
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self._server_name)


@dataclass(frozen=True)
class Endpoint:
    """Where the blob service is: connect to `address`, verify TLS for `server_name`."""

    address: str
    port: int
    server_name: str
    ca_pem: bytes


def create_container(endpoint: Endpoint, account: str, key: str, name: str) -> bool:
    """Create container `name`; True when created, False when it already existed.

    Connection and TLS failures raise OSError (callers may retry while the server starts);
    any other refusal raises RuntimeError with the service's answer.
    """
    context = ssl.create_default_context(cadata=endpoint.ca_pem.decode())
    path = f"/{account}/{name}"
    query = "restype=container"
    headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": API_VERSION}
    signature = sign(key, string_to_sign("PUT", path, account, headers, query))
    headers["Authorization"] = f"SharedKey {account}:{signature}"
    headers["Content-Length"] = "0"
    connection = _NamedTLSConnection(endpoint.address, endpoint.port, endpoint.server_name, context)
    try:
        connection.request("PUT", f"{path}?{query}", headers=headers)
        response = connection.getresponse()
        body = response.read().decode(errors="replace")
    finally:
        connection.close()
    if response.status == 201:
        return True
    if response.status == 409 and "ContainerAlreadyExists" in body:
        return False
    raise RuntimeError(f"create container {name}: HTTP {response.status}: {body[:500]}")
