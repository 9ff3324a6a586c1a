"""Opaque keyset-pagination cursors with an integrity check.

Why: clients must treat the cursor as opaque, and an edited or truncated cursor must be a clear
400, not a silently wrong page. The cursor holds the last id seen and the filter it belongs to;
the HMAC tag detects tampering and reuse with a different `q`. It protects integrity, not
secrets: the payload is just an id, so the key is fixed per cursor version.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

from inventory_api.errors import ApiError

_KEY = b"inventory-api/cursor/v1"
_TAG_BYTES = 12


def _tag(payload: bytes) -> bytes:
    return hmac.new(_KEY, payload, hashlib.sha256).digest()[:_TAG_BYTES]


def encode_cursor(after_id: int, query: str | None) -> str:
    """The cursor for the page after `after_id` under filter `query`."""
    payload = json.dumps({"a": after_id, "q": query}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(_tag(payload) + payload).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, query: str | None) -> int:
    """The id to continue after; ApiError 400 if the cursor is malformed, altered or
    belongs to a different `q`."""
    invalid = ApiError(400, "invalid_cursor", "cursor is malformed or was altered")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise invalid from None
    tag, payload = raw[:_TAG_BYTES], raw[_TAG_BYTES:]
    if len(tag) != _TAG_BYTES or not hmac.compare_digest(tag, _tag(payload)):
        raise invalid
    decoded = json.loads(payload)
    if decoded.get("q") != query:
        raise ApiError(400, "invalid_cursor", "cursor belongs to a different query (q)")
    after = decoded.get("a")
    if isinstance(after, bool) or not isinstance(after, int):
        raise invalid
    return after
