"""Build stamps: an artifact is current when its stamp records the digest of its inputs.

The stamp is written last, so an interrupted build leaves no stamp and is redone; a warm
`make tools` only reads stamps and never starts a compiler.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

STAMP_NAME = "stamp.json"


@dataclass(frozen=True)
class Stamp:
    """What was built, from which inputs, and what the build cost."""

    tool: str
    version: str
    inputs: str  # sha256 over everything that determines the artifact
    builder: str  # e.g. "go1.26.8" or "uv 0.13.9": recorded, not part of the key
    seconds: float
    peak_memory_bytes: int


def digest(*parts: str | bytes) -> str:
    """A sha256 over the parts, length-prefixed so that concatenations cannot collide."""
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "big"))
        hasher.update(data)
    return hasher.hexdigest()


def read_stamp(directory: Path) -> Stamp | None:
    """The stamp in `directory`, or None when absent or unreadable (then: rebuild)."""
    try:
        return Stamp(**json.loads((directory / STAMP_NAME).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def is_current(directory: Path, inputs: str) -> bool:
    stamp = read_stamp(directory)
    return stamp is not None and stamp.inputs == inputs


def write_stamp(directory: Path, stamp: Stamp) -> None:
    tmp = directory / f".{STAMP_NAME}.tmp"
    tmp.write_text(json.dumps(asdict(stamp), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, directory / STAMP_NAME)


def newest_stamp(tool_dir: Path) -> Stamp | None:
    """The most recently written stamp among a tool's version directories."""
    stamps = sorted(tool_dir.glob(f"*/{STAMP_NAME}"), key=lambda path: path.stat().st_mtime)
    for path in reversed(stamps):
        stamp = read_stamp(path.parent)
        if stamp is not None:
            return stamp
    return None
