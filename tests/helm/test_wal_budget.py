"""WAL safety: the archive queue limit (pgBackRest drops WAL beyond it) is a share of the data
volume in every environment, never a fixed size, and a volume too small for the queue plus
max_wal_size is refused."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helm.rendering import CHARTS_SRC, DB, Rendered, Renderer, containers

PERCENT = yaml.safe_load((CHARTS_SRC / "postgresql" / "values.yaml").read_text())["backup"][
    "archiveQueuePercent"
]
UNITS = {"Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}


def mebibytes(quantity: str) -> int:
    return int(quantity[:-2]) * UNITS[quantity[-2:]]


def queue_and_volume(rendered: Rendered) -> tuple[int, int]:
    sts = rendered.one("StatefulSet", DB)
    postgres = next(c for c in containers(sts) if c["name"] == "postgresql")
    env = {e["name"]: e.get("value") for e in postgres["env"]}
    queue = str(env["BACKUP_ARCHIVE_QUEUE_MAX"])
    assert queue.endswith("MiB"), queue
    claim = sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
    return int(queue.removesuffix("MiB")), mebibytes(str(claim))


def test_every_environment_sizes_the_queue_from_its_volume(env_manifests: Rendered) -> None:
    queue, volume = queue_and_volume(env_manifests)
    assert queue == volume * PERCENT // 100
    tuning = env_manifests.one("ConfigMap", f"{DB}-config")["data"]["10-tuning.conf"]
    max_wal = next(ln for ln in tuning.splitlines() if ln.startswith("max_wal_size"))
    assert queue + int(max_wal.split("=")[1].strip().removesuffix("MB")) <= volume // 2


def test_a_bigger_volume_gets_a_bigger_queue(renderer: Renderer, fixtures_dir: Path) -> None:
    backup = [fixtures_dir / "backup-enabled.yaml"]
    small = queue_and_volume(renderer.render("postgresql", values=backup))
    large = queue_and_volume(
        renderer.render("postgresql", values=backup, sets=["persistence.size=1Ti"])
    )
    assert large[0] == 256 * 1024
    assert large[0] > small[0]


def test_a_volume_too_small_for_the_wal_is_refused(renderer: Renderer, fixtures_dir: Path) -> None:
    message = renderer.render_error(
        "postgresql", values=[fixtures_dir / "backup-enabled.yaml"], sets=["persistence.size=8Gi"]
    )
    assert "WAL budget: archive queue 2048MiB" in message
    assert "tuning.maxWalSizeMB 4096 exceed half the volume (4096MiB)" in message
