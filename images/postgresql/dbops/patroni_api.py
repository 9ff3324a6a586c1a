"""One request to a member's Patroni REST API, as every hook and job sends it.

Why one function: the preStop hook and the backup job both read GET /cluster, and the hook
also posts a switchover whose refusal reason (412, 503) is in the body; an HTTP error status is
an answer here, a refused connection or a timeout is not.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any


def request(
    method: str, url: str, body: Mapping[str, Any] | None, timeout: float
) -> tuple[int, str]:
    """(status, body text); a refused connection or a timeout raises OSError."""
    data = json.dumps(body).encode() if body is not None else None
    sent = urllib.request.Request(  # noqa: S310 - a member's own REST API, by the chart's URL
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(sent, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:  # Patroni answers 412/503 with a reason
        return int(error.code), error.read().decode(errors="replace")
