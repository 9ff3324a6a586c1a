"""tests/localcluster/live stops and starts the host's one local cluster: it is collected only
when its folder (or a file in it) is named on the command line, as `make restarts` does;
`pytest tests` and `pytest tests/localcluster` leave it out."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.live import ignore_unless_named

LIVE_DIR = Path(__file__).resolve().parent / "live"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    return ignore_unless_named(LIVE_DIR, collection_path, config)
