"""The images this project builds: Dockerfile, build context and repository name of each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_URL = "https://github.com/example-org/inventory-platform"


@dataclass(frozen=True)
class ImageSpec:
    """One buildable image; `repository` is the name charts and registries use."""

    name: str
    context: Path
    dockerfile: Path
    repository: str
    title: str

    def reference(self, tag: str) -> str:
        """Local image reference for `tag` (podman stores unqualified names under localhost/)."""
        return f"localhost/{self.repository}:{tag}"


def _spec(name: str, context: str, repository: str, title: str) -> ImageSpec:
    root = REPO_ROOT / context
    return ImageSpec(name, root, root / "Dockerfile", repository, title)


CATALOG: dict[str, ImageSpec] = {
    spec.name: spec
    for spec in (
        _spec("api", "application", "inventory-api", "Inventory API"),
        _spec("postgresql", "images/postgresql", "inventory-postgresql", "PostgreSQL 15"),
        _spec(
            "postgres-exporter",
            "images/postgres-exporter",
            "inventory-postgres-exporter",
            "PostgreSQL Prometheus exporter",
        ),
        _spec("azurite", "images/azurite", "inventory-azurite", "Azurite (local backup storage)"),
        _spec("pgbouncer", "images/pgbouncer", "inventory-pgbouncer", "PgBouncer (pooler)"),
        _spec(
            "prometheus",
            "images/prometheus",
            "inventory-prometheus",
            "Prometheus and Alertmanager (local monitoring)",
        ),
    )
}
