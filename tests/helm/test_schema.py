"""values.schema.json refuses bad input with a message that names the offending key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helm.rendering import UMBRELLA, Renderer


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("db-loadbalancer.yaml", "at '/service/type': value must be 'ClusterIP'"),
        ("negative-replicas.yaml", "at '/replicaCount': minimum: got -1, want 2"),
        ("unknown-key.yaml", "additional properties 'replicas' not allowed"),
    ],
)
def test_umbrella_rejects_bad_values_files(
    renderer: Renderer, fixtures_dir: Path, fixture: str, expected: str
) -> None:
    message = renderer.render_error(UMBRELLA, values=[fixtures_dir / fixture])
    assert "values don't meet the specifications of the schema" in message
    assert expected in message


@pytest.mark.parametrize(
    ("chart", "setting", "expected"),
    [
        ("postgresql", "service.type=NodePort", "at '/service/type'"),
        ("postgresql", "image.tag=latest", "at '/image/tag'"),
        ("postgresql", "image.tag=", "at '/image/tag'"),
        ("postgresql", "image.digest=sha256:nothex", "at '/image/digest'"),
        ("postgresql", "resources.limits.memory=2G", "at '/resources/limits/memory'"),
        ("postgresql", "tuning.sharedBuffersPercent=80", "at '/tuning/sharedBuffersPercent'"),
        ("postgresql", "auth.username=postgres", "at '/auth/username'"),
        ("postgresql", "backup.azure.account=st-inventory", "at '/backup/azure/account'"),
        ("postgresql", "auth.keyVault.name=1kv", "at '/auth/keyVault/name'"),
        ("inventory-api", "database.keyVault.name=kv-inventory-", "at '/database/keyVault/name'"),
        ("postgresql", "extraConfig.log_line_prefix=a'b", "at '/extraConfig/log_line_prefix'"),
        ("inventory-api", "image.tag=latest", "at '/image/tag'"),
        ("inventory-api", "replicaCount=1", "at '/replicaCount'"),
        ("inventory-api", "migrations.hook=post-delete", "at '/migrations/hook'"),
        (
            "inventory-api",
            "extraEnv[0].name=DATABASE_URL,extraEnv[0].value=x",
            "at '/extraEnv/0/name'",
        ),
        ("inventory-api", "podSecurityContext.runAsUser=0", "at '/podSecurityContext/runAsUser'"),
    ],
)
def test_chart_schema_rejects_unsafe_settings(
    renderer: Renderer, chart: str, setting: str, expected: str
) -> None:
    assert expected in renderer.render_error(chart, sets=[setting])


@pytest.mark.parametrize(
    ("chart", "settings", "expected"),
    [
        (
            "inventory-api",
            ["autoscaling.minReplicas=2", "podDisruptionBudget.minAvailable=2"],
            "autoscaling.minReplicas (2) must be greater than podDisruptionBudget.minAvailable (2)",
        ),
        (
            "postgresql",
            ["auth.existingSecret="],
            "the password must come from auth.existingSecret or auth.keyVault",
        ),
        (
            "postgresql",
            [
                "auth.existingSecret=",
                "auth.keyVault.enabled=true",
                "auth.keyVault.name=kv-x",
                "auth.keyVault.objectName=pw",
            ],
            "auth.keyVault.tenantId and auth.keyVault.clientId are required",
        ),
        (
            "inventory-api",
            [
                "database.keyVault.enabled=true",
                "database.keyVault.name=kv-x",
                "database.keyVault.objectName=pw",
                "database.keyVault.tenantId=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            ],
            "needs serviceAccount.clientId (workload identity) and database.keyVault.tenantId",
        ),
        (
            "inventory-api",
            [
                "database.keyVault.enabled=true",
                "database.keyVault.objectName=pw",
                "database.keyVault.tenantId=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "serviceAccount.clientId=11111111-2222-3333-4444-555555555555",
            ],
            "database.keyVault.name is required with database.keyVault.enabled: on Azure the "
            "deploy stage sets it from the Terraform output key_vault_name",
        ),
        (
            "postgresql",
            [
                "auth.existingSecret=",
                "auth.keyVault.enabled=true",
                "auth.keyVault.objectName=pw",
                "auth.keyVault.tenantId=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "auth.keyVault.clientId=11111111-2222-3333-4444-555555555555",
            ],
            "auth.keyVault.name is required with auth.keyVault.enabled: on Azure the deploy "
            "stage sets it from the Terraform output key_vault_name",
        ),
    ],
)
def test_cross_field_rules_fail_with_a_clear_message(
    renderer: Renderer, chart: str, settings: list[str], expected: str
) -> None:
    assert expected in renderer.render_error(chart, sets=settings)
