"""The platform contract file: what it must declare, and how the deploy stage passes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.core import contract
from pipelines.stages.deploy import contract_values, install_args, values_files
from pipelines.targets.cluster import NAMESPACE, RELEASE


def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(contract.CONTRACT_FILE.read_text(encoding="utf-8"))
    return loaded


def test_the_pipeline_installs_the_contracts_release_into_its_namespace() -> None:
    document = _document()
    assert (document["release"], document["namespace"]) == (RELEASE, NAMESPACE)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"release": "Inventory"}, "release = 'Inventory' is not a valid Kubernetes name"),
        ({"namespace": None}, "namespace = None is not a valid Kubernetes name"),
        ({"cert_manager": {"release": "cert-manager"}}, "cert_manager must name exactly release"),
        (
            {"cert_manager": {"release": "cert-manager", "namespace": "Cert_Manager"}},
            "cert_manager.namespace = 'Cert_Manager' is not a valid Kubernetes name",
        ),
        ({"service_accounts": {"api": "a"}}, "service_accounts must name exactly api, migrations"),
        (
            {"services": {"database": "db"}},
            "services must name exactly database, database_headless, pooler",
        ),
        ({"backup_job_prefix": "db-backup"}, "backup_job_prefix = 'db-backup' is not a valid"),
        ({"fullnames": {"inventory-api": "x" * 64, "postgresql": "db"}}, "is not a valid"),
    ],
)
def test_a_broken_contract_is_refused_naming_what_to_fix(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(contract.ContractError, match=message.replace("(", r"\(")):
        contract.parse({**_document(), **change})


def test_the_chart_values_set_every_shared_name() -> None:
    names = contract.load()
    values = contract.chart_values(names)
    api, database = values["inventory-api"], values["postgresql"]
    assert {
        api["serviceAccount"]["name"],
        api["migrations"]["serviceAccountName"],
        database["serviceAccount"]["name"],
        database["backup"]["serviceAccount"]["name"],
    } == set(names.service_accounts.values())
    assert api["database"]["host"] == names.services["database"]
    assert api["database"]["pooler"]["host"] == names.services["pooler"]
    assert (api["fullnameOverride"], database["fullnameOverride"]) == (
        names.fullnames["inventory-api"],
        names.fullnames["postgresql"],
    )


def test_the_contract_values_come_last_so_no_environment_file_overrides_them(
    tmp_path: Path,
) -> None:
    chart = tmp_path / "chart"
    generated = [tmp_path / "terraform-values.yaml", contract_values(tmp_path)]
    args = install_args(chart, values_files(chart, "prod", generated), [])
    files = [args[i + 1] for i, arg in enumerate(args) if arg == "--values"]
    assert files == [str(chart / "values-prod.yaml"), *map(str, generated)]
    assert files[-1].endswith(contract.VALUES_FILE)
    assert args[:5] == [RELEASE, str(chart), "--namespace", NAMESPACE, "--create-namespace"]
    written = yaml.safe_load(generated[-1].read_text(encoding="utf-8"))
    assert written == contract.chart_values(contract.load())


def test_the_cert_manager_values_serve_the_release_namespace() -> None:
    names = contract.load()
    assert contract.cert_manager_values(names) == {"servedNamespace": names.namespace}
