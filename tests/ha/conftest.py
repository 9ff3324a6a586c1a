"""HA layer fixtures: one bare Kubernetes API for the session (Patroni's DCS)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ha.kubeapi import KubeApi, running_kube_api
from tests.ha.members import grant_member_role


@pytest.fixture(scope="session")
def ha_work() -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix="inventory-ha-"))
    work.chmod(0o755)
    yield work
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def kube_api(ha_work: Path) -> Iterator[KubeApi]:
    """The API server, with the chart's Patroni Role bound to the members' identity."""
    with running_kube_api(ha_work / "api") as api:
        grant_member_role(api)
        yield api
