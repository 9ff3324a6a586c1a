"""The local cluster's image registry: distribution (go/registry), standing in for the ACR.

The pipeline pushes the images it builds here and deploys them by the digest the push
returned, as on Azure; the node's containerd pulls them. TLS with a serving certificate the
cluster CA signs (containerd, podman and helm verify it with that CA), and htpasswd
authentication with one account whose password is generated once and kept 0600 in the
state directory. containerd holds the account for pulls, as the AKS kubelet identity holds
AcrPull, so no pod carries a pull secret. distribution's htpasswd has no per-account rights:
the one account pushes and pulls (ACR separates AcrPush from AcrPull).
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tools.localcluster.pki import CA_NAME, CertSpec, write_private
from tools.localcluster.processes import Service
from tools.localcluster.settings import REGISTRY_HOST, REGISTRY_PORT, REGISTRY_SERVER, Paths
from tools.toolchain.links import ensure_file

USER = "inventory-pipeline"
REALM = "inventory-localcluster"
SERVING_CERT = CertSpec(
    "registry",
    REGISTRY_HOST,
    server=True,
    dns_names=(REGISTRY_HOST,),
    ip_addresses=("127.0.0.1",),
)


@dataclass(frozen=True)
class Credentials:
    """The registry account: what containerd's CRI config and podman's auth file hold."""

    username: str
    password: str

    @property
    def basic(self) -> str:
        """The `Authorization: Basic` token (also podman's auth-file `auth` field)."""
        return base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def ensure_credentials(paths: Paths, program: Path, server: str = REGISTRY_SERVER) -> Credentials:
    """The account, created on first use: a random password, its bcrypt htpasswd line (hashed
    by the registry binary itself) and podman's auth file for the pipeline's push."""
    password_file = paths.registry_password
    if not password_file.exists():
        write_private(password_file, (secrets.token_urlsafe(32) + "\n").encode())
    credentials = Credentials(USER, password_file.read_text(encoding="utf-8").strip())
    if not paths.registry_htpasswd.exists():
        hashed = subprocess.run(
            [str(program), "hash-password", credentials.username],
            input=credentials.password + "\n",
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        write_private(paths.registry_htpasswd, hashed.encode())
    auth = {"auths": {server: {"auth": credentials.basic}}}
    text = json.dumps(auth, indent=2) + "\n"
    if not paths.registry_auth_file.exists() or paths.registry_auth_file.read_text() != text:
        write_private(paths.registry_auth_file, text.encode())
    return credentials


def ensure_trust(paths: Paths) -> None:
    """The CA in the layout podman's --cert-dir and containerd's ca_file read."""
    ca = (paths.pki / f"{CA_NAME}.crt").read_text(encoding="utf-8")
    ensure_file(paths.registry_cert_dir / "ca.crt", ca)


def config(paths: Paths, port: int = REGISTRY_PORT) -> str:
    """distribution's configuration: filesystem storage in the state directory, TLS on the
    loopback address only, htpasswd authentication, no debug listener."""
    document = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
        "storage": {
            "filesystem": {"rootdirectory": str(paths.registry_data)},
            "delete": {"enabled": False},  # a published digest stays pullable
        },
        "http": {
            "addr": f"127.0.0.1:{port}",
            "tls": {
                "certificate": str(paths.pki / f"{SERVING_CERT.name}.crt"),
                "key": str(paths.pki / f"{SERVING_CERT.name}.key"),
                "minimumtls": "tls1.2",
            },
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
        "auth": {"htpasswd": {"realm": REALM, "path": str(paths.registry_htpasswd)}},
    }
    return json.dumps(document, indent=2) + "\n"  # JSON is YAML: one serialiser, no quoting


def service(bin_dir: Path, paths: Paths) -> Service:
    """The registry process; its OpenTelemetry exporter is off (it would post traces to an
    OTLP collector on localhost that does not exist, and log each failure)."""
    return Service(
        "registry",
        (str(bin_dir / "registry"), "serve", str(paths.config / "registry.yml")),
        env={"OTEL_TRACES_EXPORTER": "none"},
    )


def answers(paths: Paths, server: str = REGISTRY_SERVER) -> bool:
    """GET /v2/ with the account answers 200 over TLS verified with the cluster CA: the
    registry serves, and the credentials containerd and podman hold are the ones it checks."""
    return answers_with(f"https://{server}/v2/", paths, paths.registry_password, USER)


def answers_with(url: str, paths: Paths, password_file: Path, user: str) -> bool:
    """GET `url` with `user`'s Basic credentials (password from `password_file`) answers 200
    over TLS verified with the cluster CA; False while anything is missing or refused."""
    try:
        context = ssl.create_default_context(cafile=str(paths.pki / f"{CA_NAME}.crt"))
        password = password_file.read_text(encoding="utf-8").strip()
    except OSError:
        return False
    request = urllib.request.Request(  # noqa: S310 (an https URL of our own)
        url, headers={"Authorization": f"Basic {Credentials(user, password).basic}"}
    )
    try:
        with urllib.request.urlopen(request, context=context, timeout=3) as response:  # noqa: S310
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False
