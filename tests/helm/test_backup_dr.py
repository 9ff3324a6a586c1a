"""Disaster-recovery wiring of the PostgreSQL chart: the drill's data-age limit comes from the
archive_timeout the chart renders, the heartbeat is fast enough for it, and the repository is
always encrypted with a passphrase mounted from Key Vault (Azure) or a Secret (local)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helm.rendering import AZURE_ENVIRONMENTS, DB, Rendered, Renderer, containers, pod_spec

CIPHER_FILE = "/etc/pgbackrest/cipher/passphrase"


def rendered_archive_timeout(rendered: Rendered) -> str:
    """archive_timeout as the database reads it (conf.d/30-archive.conf of the ConfigMap)."""
    config = next(
        c for c in rendered.of_kind("ConfigMap") if c["metadata"]["name"].endswith("-config")
    )
    for line in config["data"]["30-archive.conf"].splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "archive_timeout":
            return str(value).strip()
    raise AssertionError("no archive_timeout in 30-archive.conf")


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def drill_container(rendered: Rendered) -> dict[str, Any]:
    drill = next(
        c for c in rendered.of_kind("CronJob") if c["metadata"]["name"].endswith("-restore-drill")
    )
    return next(containers(drill))


def test_drill_limit_comes_from_the_rendered_archive_timeout(env_manifests: Rendered) -> None:
    """Every environment: the drill gets the very archive_timeout the database runs with."""
    drill = env_of(drill_container(env_manifests))
    assert drill["DRILL_ARCHIVE_TIMEOUT_SECONDS"] == rendered_archive_timeout(env_manifests)
    assert "DRILL_MAX_DATA_AGE_SECONDS" not in drill


def test_changed_archive_timeout_moves_the_drill_limit(
    renderer: Renderer, fixtures_dir: Path
) -> None:
    rendered = renderer.render(
        "postgresql",
        values=[fixtures_dir / "backup-enabled.yaml"],
        sets=["backup.archiveTimeoutSeconds=120"],
    )
    assert rendered_archive_timeout(rendered) == "120"
    assert env_of(drill_container(rendered))["DRILL_ARCHIVE_TIMEOUT_SECONDS"] == "120"


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("*/5 * * * *", "runs every 300 s, longer than backup.archiveTimeoutSeconds (60 s)"),
        ("0 * * * *", 'use "* * * * *" or "*/N * * * *"'),
    ],
)
def test_a_heartbeat_slower_than_archive_timeout_is_refused(
    renderer: Renderer, fixtures_dir: Path, schedule: str, message: str
) -> None:
    error = renderer.render_error(
        "postgresql",
        values=[fixtures_dir / "backup-enabled.yaml"],
        sets=[f"backup.schedules.heartbeat={schedule}"],
    )
    assert message in error


def test_backups_without_a_passphrase_are_refused(renderer: Renderer, fixtures_dir: Path) -> None:
    error = renderer.render_error(
        "postgresql",
        values=[fixtures_dir / "backup-enabled.yaml"],
        sets=["backup.encryption.passphraseSecret="],
    )
    assert "backup.enabled needs an encrypted repository" in error


def repository_containers(rendered: Rendered) -> list[dict[str, Any]]:
    """Every container that renders a pgbackrest.conf (it has BACKUP_STANZA)."""
    workloads = rendered.of_kind("StatefulSet") + rendered.of_kind("CronJob")
    return [c for w in workloads for c in containers(w) if "BACKUP_STANZA" in env_of(c)]


def cipher_volume(rendered: Rendered, container: dict[str, Any]) -> dict[str, Any]:
    """The volume behind the container's passphrase mount."""
    mount = next(m for m in container["volumeMounts"] if CIPHER_FILE.startswith(m["mountPath"]))
    workload = next(
        w for w in rendered.of_kind("StatefulSet") + rendered.of_kind("CronJob")
        if container in list(containers(w))
    )  # fmt: skip
    return next(v for v in pod_spec(workload)["volumes"] if v["name"] == mount["name"])


@pytest.mark.parametrize("env", AZURE_ENVIRONMENTS)
def test_azure_passphrase_comes_from_key_vault(renderer: Renderer, env: str) -> None:
    rendered = renderer.env_render(env)
    spc = rendered.one("SecretProviderClass", f"{DB}-backup-cipher")
    assert "objectName: pgbackrest-passphrase" in spc["spec"]["parameters"]["objects"]
    found = repository_containers(rendered)
    assert found
    for container in found:
        assert env_of(container)["BACKUP_CIPHER_PASS_FILE"] == CIPHER_FILE
        volume = cipher_volume(rendered, container)
        assert volume["csi"]["volumeAttributes"]["secretProviderClass"] == f"{DB}-backup-cipher"


def test_local_passphrase_comes_from_a_secret(renderer: Renderer) -> None:
    rendered = renderer.env_render("local")
    assert not rendered.of_kind("SecretProviderClass") or all(
        s["metadata"]["name"] != f"{DB}-backup-cipher"
        for s in rendered.of_kind("SecretProviderClass")
    )
    found = repository_containers(rendered)
    assert found
    for container in found:
        assert env_of(container)["BACKUP_CIPHER_PASS_FILE"] == CIPHER_FILE
        assert (
            cipher_volume(rendered, container)["secret"]["secretName"]
            == "inventory-backup-cipher-pass"
        )
