"""The database image carries the locked Patroni, and its renderer writes a config Patroni accepts.

Both run inside the built image (podman), as the pod runs them: the version comes from the
image's own lock file, the configuration from the chart's kind of environment.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest

from tests.support.tools import REPO_ROOT
from tools.containers import build_image, podman

pytestmark = pytest.mark.slow
LOCK = REPO_ROOT / "images" / "postgresql" / "patroni" / "requirements.lock"
TAG = "test"


@pytest.fixture(scope="module")
def image() -> str:
    return build_image("postgresql", TAG)


def _locked_version() -> str:
    match = re.search(r"^patroni==(\S+)", LOCK.read_text(), re.MULTILINE)
    assert match, f"{LOCK} pins no patroni"
    return match.group(1)


def test_image_runs_the_patroni_version_of_the_lock(image: str) -> None:
    result = podman(
        "run", "--rm", "--read-only", "--entrypoint", "/opt/patroni/bin/patroni", image,
        "--version", capture=True,
    )  # fmt: skip
    assert result.stdout.split() == ["patroni", _locked_version()]


def test_rendered_configuration_passes_patronis_own_validation(image: str) -> None:
    secrets = Path(tempfile.mkdtemp(prefix="inventory-patroni-secrets-"))
    secrets.chmod(0o755)  # the container's postgres user reads it, as from a Secret volume
    for name in ("app", "superuser", "replication", "rewind"):
        (secrets / name).write_text(f"{name}-password-long-enough\n")
        (secrets / name).chmod(0o644)
    env = {
        "HA_SCOPE": "inventory-postgresql",
        "HA_MEMBER_NAME": "inventory-postgresql-0",
        "HA_NAMESPACE": "inventory",
        "HA_LABELS": json.dumps({"app.kubernetes.io/name": "postgresql"}),
        "HA_POD_IP": "10.244.0.7",
        "HA_SYNCHRONOUS_MODE": "strict",
        "HA_SUPERUSER_PASSWORD_FILE": "/run/secrets/ha/superuser",
        "HA_REPLICATION_PASSWORD_FILE": "/run/secrets/ha/replication",
        "HA_REWIND_PASSWORD_FILE": "/run/secrets/ha/rewind",
        "POSTGRES_PASSWORD_FILE": "/run/secrets/ha/app",
        "BACKUP_AZURE_ACCOUNT": "inventorybackups",
    }
    env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    script = (
        "python3 -m dbops.patroni_config /tmp/patroni.json >/dev/null"
        " && /opt/patroni/bin/patroni --validate-config /tmp/patroni.json"
        " && cat /tmp/patroni.json"
    )
    result = podman(
        "run", "--rm", "--read-only", "--tmpfs", "/tmp", "-v", f"{secrets}:/run/secrets/ha:ro",
        *env_args, "--entrypoint", "/bin/sh", image, "-c", script, capture=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    config = json.loads(result.stdout)
    assert config["bootstrap"]["dcs"]["synchronous_mode_strict"] is True
    assert config["postgresql"]["create_replica_methods"] == ["pgbackrest", "basebackup"]
