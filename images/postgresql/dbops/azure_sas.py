"""Workload identity -> user delegation SAS for pgBackRest (which has no Azure AD auth in 2.45).

Flow (standard library only): the federated ServiceAccount token that the AKS workload identity
webhook mounts (AZURE_FEDERATED_TOKEN_FILE) is exchanged at Microsoft Entra ID for a storage
access token; with it the blob service issues a user delegation key; that key signs a SAS scoped
to the one backup container for a limited time. The SAS inherits the identity's RBAC (Storage
Blob Data Contributor on the container), so no storage key exists anywhere.
The blob service is addressed with the BACKUP_AZURE_* settings of pgBackRest's configuration
(URI style, storage host and port, BACKUP_STORAGE_CA_FILE).

Another repository (repo2, the paired region's account) has its own identity: the same
ServiceAccount token is exchanged with BACKUP_REPO2_AZURE_CLIENT_ID (an identity federated to
that ServiceAccount too) and the blob service is addressed with the BACKUP_REPO2_* twins, so
each repository's SAS carries only its own identity's rights.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from dbops.common import OpsError, repo_env, setting

SAS_VERSION = "2026-10-06"  # the service version production signs with (BACKUP_SAS_VERSION)
# Service versions whose user delegation SAS string-to-sign we know, mapped to whether it carries
# the signed request headers/query lines (srh, srq). 2026-10-06 is checked against the
# azure-storage-blob SDK; 2025-11-05 against Azurite 3.35 (the newest version it implements),
# which is how the HTTP path is tested end to end (tests/backup/test_sas_refresh.py).
SAS_LAYOUTS = {"2026-10-06": True, "2025-11-05": False}
PERMISSIONS = "racwdl"  # read, add, create, write, delete, list: what pgBackRest needs
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def signs_request_lines(version: str) -> bool:
    """Whether `version`'s string-to-sign has the srh/srq lines; OpsError for unknown versions."""
    if version not in SAS_LAYOUTS:
        raise OpsError(
            f"BACKUP_SAS_VERSION {version!r} has no known SAS layout; use one of "
            + ", ".join(SAS_LAYOUTS)
        )
    return SAS_LAYOUTS[version]


@dataclass(frozen=True)
class DelegationKey:
    """A user delegation key as returned by Get User Delegation Key."""

    oid: str
    tid: str
    start: str
    expiry: str
    service: str
    version: str
    value: str


def sign_container_sas(
    account: str,
    container: str,
    key: DelegationKey,
    start: str,
    expiry: str,
    *,
    version: str = SAS_VERSION,
) -> str:
    """A user delegation SAS (query string, no leading '?') for a container, HTTPS only."""
    request_lines = signs_request_lines(version)
    fields = {
        "sp": PERMISSIONS,
        "st": start,
        "se": expiry,
        "resource": f"/blob/{account}/{container}",
        "skoid": key.oid,
        "sktid": key.tid,
        "skt": key.start,
        "ske": key.expiry,
        "sks": key.service,
        "skv": key.version,
        "saoid": "",
        "suoid": "",
        "scid": "",
        "skdutid": "",
        "sduoid": "",
        "sip": "",
        "spr": "https",
        "sv": version,
        "sr": "c",
        "snapshot": "",
        "ses": "",
        **({"srh": "", "srq": ""} if request_lines else {}),
        "rscc": "",
        "rscd": "",
        "rsce": "",
        "rscl": "",
        "rsct": "",
    }
    string_to_sign = "\n".join(fields.values())
    digest = hmac.new(base64.b64decode(key.value), string_to_sign.encode(), hashlib.sha256)
    query = {k: v for k, v in fields.items() if v and k != "resource"}
    query["sig"] = base64.b64encode(digest.digest()).decode()
    return urllib.parse.urlencode(query)


def _post(
    url: str,
    data: bytes,
    headers: dict[str, str],
    what: str,
    context: ssl.SSLContext | None = None,
) -> bytes:
    """POST and return the body; any failure is an OpsError naming the step, URL and reason.

    For HTTP errors the reason includes the start of the response body, because that is where
    Entra ID (AADSTS code, error_description) and the blob service (error code) say what is wrong.
    """
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:  # noqa: S310
            return bytes(response.read())
    except urllib.error.HTTPError as error:
        detail = error.read(2000).decode(errors="replace").strip()
        raise OpsError(f"{what} at {url}: HTTP {error.code} {error.reason}: {detail}") from None
    except OSError as error:
        raise OpsError(f"{what} at {url}: {error}") from None


def client_id_variable(repo: int) -> str:
    """The variable naming the identity of repository `repo`: AZURE_CLIENT_ID (set by the
    workload identity webhook from the ServiceAccount) for repo1, BACKUP_REPO<N>_AZURE_CLIENT_ID
    for another one."""
    return "AZURE_CLIENT_ID" if repo == 1 else repo_env(repo, "AZURE_CLIENT_ID")


def storage_token(repo: int = 1) -> str:
    """Exchange the federated ServiceAccount token for an Azure Storage access token of the
    identity of repository `repo`."""
    assertion = Path(setting("AZURE_FEDERATED_TOKEN_FILE")).read_text().strip()
    authority = setting("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/")
    url = f"{authority.rstrip('/')}/{setting('AZURE_TENANT_ID')}/oauth2/v2.0/token"
    body = urllib.parse.urlencode(
        {
            "client_id": setting(client_id_variable(repo)),
            "grant_type": "client_credentials",
            "scope": "https://storage.azure.com/.default",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
    ).encode()
    raw = _post(url, body, {"Content-Type": "application/x-www-form-urlencoded"}, "Entra ID token")
    try:
        return str(json.loads(raw)["access_token"])
    except (ValueError, KeyError, TypeError):
        raise OpsError(f"Entra ID token at {url}: no access_token in the response") from None


def blob_service_url(repo: int = 1) -> str:
    """The blob service URL of repository `repo`, built from the BACKUP_AZURE_* settings (or
    their BACKUP_REPO<N>_ twins) pgBackRest's config uses.

    Same rules as pgBackRest: host style is `https://ACCOUNT.ENDPOINT`, path style is
    `https://ENDPOINT/ACCOUNT` (Azurite), and BACKUP_AZURE_STORAGE_HOST / _PORT override where
    to connect; so the key is fetched from the endpoint the SAS is then used against.
    """
    account = setting(repo_env(repo, "AZURE_ACCOUNT"))
    endpoint = setting(repo_env(repo, "AZURE_ENDPOINT"), "blob.core.windows.net")
    path_style = setting(repo_env(repo, "AZURE_URI_STYLE"), "host") == "path"
    host = os.environ.get(repo_env(repo, "AZURE_STORAGE_HOST")) or (
        endpoint if path_style else f"{account}.{endpoint}"
    )
    port = setting(repo_env(repo, "AZURE_STORAGE_PORT"), "443")
    authority = host if port == "443" else f"{host}:{port}"
    return f"https://{authority}/{account}" if path_style else f"https://{authority}"


def storage_tls(repo: int = 1) -> ssl.SSLContext:
    """TLS for the blob service: the system CAs, or BACKUP_STORAGE_CA_FILE (BACKUP_REPO<N>_...)."""
    return ssl.create_default_context(
        cafile=os.environ.get(repo_env(repo, "STORAGE_CA_FILE")) or None
    )


def delegation_key(
    blob_url: str,
    token: str,
    start: str,
    expiry: str,
    version: str = SAS_VERSION,
    *,
    tls: ssl.SSLContext | None = None,
) -> DelegationKey:
    """Get User Delegation Key from the blob service with a bearer token."""
    body = f"<KeyInfo><Start>{start}</Start><Expiry>{expiry}</Expiry></KeyInfo>".encode()
    raw = _post(
        f"{blob_url}/?restype=service&comp=userdelegationkey",
        body,
        {"Authorization": f"Bearer {token}", "x-ms-version": version},
        "Get User Delegation Key",
        tls or storage_tls(),
    )
    root = ET.fromstring(raw)  # noqa: S314 - the response of our own storage account

    def text(tag: str) -> str:
        node = root.find(tag)
        if node is None or node.text is None:
            raise OpsError(f"user delegation key response lacks {tag}")
        return node.text

    return DelegationKey(
        text("SignedOid"), text("SignedTid"), text("SignedStart"), text("SignedExpiry"),
        text("SignedService"), text("SignedVersion"), text("Value"),
    )  # fmt: skip


def mint_sas(hours: int, repo: int = 1) -> str:
    """A container SAS of repository `repo` valid for `hours`, minted through workload identity."""
    account = setting(repo_env(repo, "AZURE_ACCOUNT"))
    container = setting(repo_env(repo, "AZURE_CONTAINER"))
    version = setting("BACKUP_SAS_VERSION", SAS_VERSION)
    signs_request_lines(version)  # before any request: a typo is not a network problem
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = (now - dt.timedelta(minutes=5)).strftime(TIME_FORMAT)
    expiry = (now + dt.timedelta(hours=hours)).strftime(TIME_FORMAT)
    key = delegation_key(
        blob_service_url(repo), storage_token(repo), start, expiry, version, tls=storage_tls(repo)
    )
    return sign_container_sas(account, container, key, start, expiry, version=version)


def workload_identity_available() -> bool:
    """True inside a pod with the workload identity webhook's environment."""
    return bool(os.environ.get("AZURE_FEDERATED_TOKEN_FILE"))
