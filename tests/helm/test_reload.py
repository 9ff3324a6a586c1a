"""Reload what reloads: the StatefulSet's pod template changes (and the pod restarts) only when
a setting PostgreSQL cannot apply without a restart changes; every other change reaches the pod
through the mounted ConfigMap, where the database's reconciler reloads it
(tests/backup/test_reconcile.py proves that half against a real server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helm.rendering import CHARTS_SRC, DB, Rendered, Renderer, pod_spec
from tests.support.postgres import FAST_SETTINGS, running_postgres

RESTART_LIST = CHARTS_SRC / "postgresql" / "files" / "restart-parameters.txt"
ANNOTATION = "checksum/restart-config"


def restart_parameters() -> set[str]:
    lines = RESTART_LIST.read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def restart_checksum(rendered: Rendered) -> str:
    sts = rendered.one("StatefulSet", DB)
    return str(sts["spec"]["template"]["metadata"]["annotations"][ANNOTATION])


def config_data(rendered: Rendered) -> dict[str, str]:
    return dict(rendered.one("ConfigMap", f"{DB}-config")["data"])


def test_the_restart_list_is_postgresql_15s_postmaster_context() -> None:
    """The chart's list is exactly what a real PostgreSQL 15 (with the chart's preloaded
    library) reports as context 'postmaster'; an upgrade that moves a parameter fails here."""
    settings = {**FAST_SETTINGS, "shared_preload_libraries": "pg_stat_statements"}
    with running_postgres(settings=settings, prefix="helm-pgsettings-") as server:
        names = server.superuser_sql(
            "SELECT string_agg(name, ' ') FROM pg_settings WHERE context = 'postmaster'"
        ).split()
        reloadable = server.superuser_sql(
            "SELECT string_agg(name, ' ') FROM pg_settings WHERE context <> 'postmaster'"
        ).split()
    assert restart_parameters() == set(names)
    assert {"work_mem", "autovacuum_naptime"} <= set(reloadable)


def test_every_rendered_setting_is_known_and_classified(env_manifests: Rendered) -> None:
    """Each environment renders the annotation, over the settings the list names."""
    data = config_data(env_manifests)
    rendered_names = {
        line.split("=", 1)[0].strip()
        for key, text in data.items()
        if key.endswith(".conf") and not key.startswith("pg_")
        for line in text.splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    assert {"max_connections", "shared_buffers", "autovacuum_max_workers"} <= rendered_names
    assert rendered_names & restart_parameters()
    assert len(restart_checksum(env_manifests)) == 64


@pytest.mark.parametrize(
    "change",
    [
        ["tuning.maxConnections=80"],
        ["tuning.sharedBuffersPercent=20"],
        ["tuning.autovacuum.maxWorkers=2"],
        ["resources.limits.memory=3Gi", "resources.requests.memory=3Gi"],  # shared_buffers
        ["extraConfig.max_locks_per_transaction=128"],  # restart-only, even as an extra
    ],
)
def test_a_restart_only_change_rolls_the_pod(renderer: Renderer, change: list[str]) -> None:
    assert restart_checksum(renderer.render("postgresql")) != restart_checksum(
        renderer.render("postgresql", sets=change)
    )


@pytest.mark.parametrize(
    "change",
    [
        ["tuning.logMinDurationStatementMs=1000"],
        ["tuning.autovacuum.naptimeSeconds=30"],
        ["tuning.workMemMB=2"],
        ["tuning.randomPageCost=2"],
        ["roles.application.statementTimeoutMs=20000"],
        ["extraConfig.log_connections=on"],
    ],
)
def test_a_reloadable_change_reaches_the_pod_without_a_restart(
    renderer: Renderer, change: list[str]
) -> None:
    before, after = renderer.render("postgresql"), renderer.render("postgresql", sets=change)
    assert restart_checksum(before) == restart_checksum(after)
    assert config_data(before) != config_data(after)  # delivered through the mounted ConfigMap


def test_archiving_on_rolls_the_pod(renderer: Renderer, fixtures_dir: Path) -> None:
    """archive_mode is restart-only: turning backups on restarts the server once."""
    on = renderer.render("postgresql", values=[fixtures_dir / "backup-enabled.yaml"])
    assert restart_checksum(renderer.render("postgresql")) != restart_checksum(on)


def test_the_config_volume_is_updated_in_place(renderer: Renderer) -> None:
    """Kubernetes refreshes a ConfigMap volume in the running pod unless it is mounted with
    subPath; the reconciler watches the files there, roles.json included."""
    pod = pod_spec(renderer.render("postgresql").one("StatefulSet", DB))
    postgres = next(c for c in pod["containers"] if c["name"] == "postgresql")
    mount = next(m for m in postgres["volumeMounts"] if m["name"] == "config")
    assert "subPath" not in mount
    volume = next(v for v in pod["volumes"] if v["name"] == "config")
    assert {"key": "roles.json", "path": "roles.json"} in volume["configMap"]["items"]
