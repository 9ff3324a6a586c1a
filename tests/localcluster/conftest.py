"""tests/localcluster/live stops and starts the host's one local cluster: it is collected only
when its folder (or a file in it) is named on the command line, as `make restarts` does;
`pytest tests` and `pytest tests/localcluster` leave it out."""

from __future__ import annotations

from pathlib import Path

import pytest

LIVE_DIR = Path(__file__).resolve().parent / "live"


def _named(config: pytest.Config) -> bool:
    root = config.invocation_params.dir
    for argument in config.args:
        path = (root / argument.split("::", 1)[0]).resolve()
        if path == LIVE_DIR or LIVE_DIR in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.resolve() == LIVE_DIR and not _named(config):
        return True
    return None
