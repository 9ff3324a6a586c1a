"""Workload identity -> user delegation SAS for pgBackRest (which has no Azure AD auth in 2.45).

Flow (standard library only): the federated ServiceAccount token that the AKS workload identity
webhook mounts (AZURE_FEDERATED_TOKEN_FILE) is exchanged at Microsoft Entra ID for a storage
access token; with it the blob service issues a user delegation key; that key signs a SAS scoped
to the one backup container for a limited time. The SAS inherits the identity's RBAC (Storage
Blob Data Contributor on the container), so no storage key exists anywhere.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from dbops.common import OpsError, setting

SAS_VERSION = "2026-10-06"  # the string-to-sign below is this version's layout
PERMISSIONS = "racwdl"  # read, add, create, write, delete, list: what pgBackRest needs
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


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
    account: str, container: str, key: DelegationKey, start: str, expiry: str
) -> str:
    """A user delegation SAS (query string, no leading '?') for a container, HTTPS only."""
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
        "sv": SAS_VERSION,
        "sr": "c",
        "snapshot": "",
        "ses": "",
        "srh": "",
        "srq": "",
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


def _post(url: str, data: bytes, headers: dict[str, str], what: str) -> bytes:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - https only
            return bytes(response.read())
    except OSError as error:
        raise OpsError(f"{what}: {error}") from None


def storage_token() -> str:
    """Exchange the federated ServiceAccount token for an Azure Storage access token."""
    assertion = Path(setting("AZURE_FEDERATED_TOKEN_FILE")).read_text().strip()
    authority = setting("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/")
    url = f"{authority.rstrip('/')}/{setting('AZURE_TENANT_ID')}/oauth2/v2.0/token"
    body = urllib.parse.urlencode(
        {
            "client_id": setting("AZURE_CLIENT_ID"),
            "grant_type": "client_credentials",
            "scope": "https://storage.azure.com/.default",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
    ).encode()
    raw = _post(url, body, {"Content-Type": "application/x-www-form-urlencoded"}, "Entra ID token")
    return str(json.loads(raw)["access_token"])


def delegation_key(blob_url: str, token: str, start: str, expiry: str) -> DelegationKey:
    """Get User Delegation Key from the blob service with a bearer token."""
    body = f"<KeyInfo><Start>{start}</Start><Expiry>{expiry}</Expiry></KeyInfo>".encode()
    raw = _post(
        f"{blob_url}/?restype=service&comp=userdelegationkey",
        body,
        {"Authorization": f"Bearer {token}", "x-ms-version": SAS_VERSION},
        "Get User Delegation Key",
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


def mint_sas(hours: int) -> str:
    """A container SAS valid for `hours`, minted through workload identity."""
    account = setting("BACKUP_AZURE_ACCOUNT")
    endpoint = setting("BACKUP_AZURE_ENDPOINT", "blob.core.windows.net")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = (now - dt.timedelta(minutes=5)).strftime(TIME_FORMAT)
    expiry = (now + dt.timedelta(hours=hours)).strftime(TIME_FORMAT)
    key = delegation_key(f"https://{account}.{endpoint}", storage_token(), start, expiry)
    return sign_container_sas(account, setting("BACKUP_AZURE_CONTAINER"), key, start, expiry)


def workload_identity_available() -> bool:
    """True inside a pod with the workload identity webhook's environment."""
    return bool(os.environ.get("AZURE_FEDERATED_TOKEN_FILE"))
