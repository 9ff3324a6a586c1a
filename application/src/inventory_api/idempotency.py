"""Idempotency keys: a retried request gets the stored answer instead of acting twice.

Why HTTP answers are stored (status and body), not domain results: a replay must be
byte-for-byte the first answer, refusals included.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from inventory_api.domain import KeyReused
from inventory_api.models import IdempotencyKey


@dataclass(frozen=True)
class Answer:
    """A response: status code and JSON body."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """The answer to send and whether it is a replay of an earlier one (nothing was done)."""

    answer: Answer
    replayed: bool = False


def request_fingerprint(method: str, path: str, body: dict[str, Any]) -> str:
    """Hash identifying a request independent of JSON key order and whitespace."""
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def answer_once(
    session: Session, key: str, fingerprint: str, work: Callable[[Session], Answer]
) -> Outcome:
    """Run `work` once per key and store its answer; later requests with the key get it back.

    The key row is inserted first in the same transaction: a concurrent request with the same
    key blocks on the unique index until this one commits, then reads the stored answer.
    """
    claimed = session.execute(
        insert(IdempotencyKey)
        .values(key=key, fingerprint=fingerprint)
        .on_conflict_do_nothing(index_elements=[IdempotencyKey.key])
        .returning(IdempotencyKey.key)
    ).one_or_none()
    if claimed is None:
        stored = session.get_one(IdempotencyKey, key)
        if stored.fingerprint != fingerprint:
            raise KeyReused(
                "idempotency_key_reused",
                "this Idempotency-Key was already used with a different request",
            )
        if stored.status_code is None or stored.response is None:
            raise RuntimeError(f"idempotency key {key!r} was stored without an answer")
        return Outcome(Answer(stored.status_code, dict(stored.response)), replayed=True)
    answer = work(session)
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.key == key)
        .values(status_code=answer.status, response=answer.body)
    )
    return Outcome(answer)
