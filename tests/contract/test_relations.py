"""Every relation between Terraform, the charts and the pipeline, for every environment.

Each environment is planned (offline with real provider schemas, or against Azure with
INVENTORY_PLAN_MODE=azure) and rendered exactly as the deploy stage installs it, against the
API versions its planned cluster serves (tests/contract/capabilities.py). The relations:
ServiceAccounts <-> federated subjects, the contract's names, the namespace, Azure names,
backup Jobs <-> the failed-backup alert, IngressClass <-> the routing add-on, the Ingress's
Key Vault certificate <-> the add-on's grant and the gateway's certificate, the cert-manager
release <-> the Issuers and Certificates it must serve. After the
per-environment checks come the broken fixtures: one input that breaks each relation, to show
its check reports it.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from pipelines.core.contract import Contract
from tests.contract import relations
from tests.contract.capabilities import CLUSTER, capabilities
from tests.contract.conftest import ENVIRONMENTS
from tests.contract.deployment import Deployment, login_server, render
from tests.helm.rendering import CHARTS_SRC, UMBRELLA, Renderer
from tests.terraform.conftest import IAC, PLATFORM

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BROKEN_ENV = ENVIRONMENTS[0]
"""The environment the broken fixtures are rendered for (one is enough to show a check bites)."""


def _identity_problems(deployment: Deployment, plan: dict[str, Any], namespace: str) -> list[str]:
    identities = relations.client_id_identities(deployment.outputs)
    uses, unknown = relations.chart_identity_uses(deployment.rendered, identities, namespace)
    planned, inconsistent = relations.planned_identity_subjects(plan)
    return [*unknown, *inconsistent, *relations.identity_drift(uses, planned)]


@pytest.fixture(scope="module")
def backups_off(
    renderer: Renderer, plans: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Deployment]:
    """Each environment with backups switched off (the database pod's own ServiceAccount)."""
    work = tmp_path_factory.mktemp("backups-off")
    extra = [FIXTURES / "backups-off.yaml"]
    return {env: render(renderer, plans[env], env, work / env, extra) for env in ENVIRONMENTS}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_identity_use_is_federated_and_nothing_else(
    deployments: dict[str, Deployment],
    backups_off: dict[str, Deployment],
    plans: dict[str, dict[str, Any]],
    names: Contract,
    env: str,
) -> None:
    """Union over backups on and off: Terraform federates exactly what either render uses."""
    identities = relations.client_id_identities(deployments[env].outputs)
    uses: set[relations.Use] = set()
    for deployment in (deployments[env], backups_off[env]):
        found, unknown = relations.chart_identity_uses(
            deployment.rendered, identities, names.namespace
        )
        assert unknown == []
        uses |= found
    planned, inconsistent = relations.planned_identity_subjects(plans[env])
    assert inconsistent == []
    assert relations.identity_drift(uses, planned) == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_rendered_names_are_the_contracts(
    deployments: dict[str, Deployment],
    backups_off: dict[str, Deployment],
    names: Contract,
    env: str,
) -> None:
    for deployment in (deployments[env], backups_off[env]):
        assert relations.contract_name_drift(deployment.rendered, names) == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_api_reaches_the_database_through_the_contracts_services(
    deployments: dict[str, Deployment],
    backups_off: dict[str, Deployment],
    names: Contract,
    env: str,
) -> None:
    for deployment in (deployments[env], backups_off[env]):
        assert relations.database_endpoint_drift(deployment.rendered, names) == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_objects_and_federated_subjects_share_the_contract_namespace(
    deployments: dict[str, Deployment],
    plans: dict[str, dict[str, Any]],
    names: Contract,
    env: str,
) -> None:
    planned, _ = relations.planned_identity_subjects(plans[env])
    assert relations.namespace_drift(deployments[env].rendered, planned, names.namespace) == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_azure_name_in_the_render_is_what_terraform_creates(
    deployments: dict[str, Deployment], plans: dict[str, dict[str, Any]], env: str
) -> None:
    terraform = relations.terraform_names(plans[env], login_server(plans[env]))
    chart = relations.chart_names(deployments[env].rendered)
    assert relations.name_drift(chart, terraform) == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_failed_backup_alert_matches_exactly_the_backup_jobs(
    deployments: dict[str, Deployment], plans: dict[str, dict[str, Any]], env: str
) -> None:
    prefixes = relations.failed_backup_prefixes(plans[env])
    assert relations.backup_alert_drift(deployments[env].rendered, prefixes) == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_ingress_class_is_served_by_the_clusters_routing_add_on(
    deployments: dict[str, Deployment], env: str
) -> None:
    deployment = deployments[env]
    served = relations.served_ingress_classes(deployment.rendered, deployment.capabilities)
    assert relations.ingress_class_drift(deployment.rendered, served) == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_gateway_forwards_to_the_address_the_ingress_controller_takes(
    deployments: dict[str, Deployment], plans: dict[str, dict[str, Any]], env: str
) -> None:
    """Behind an Application Gateway the Ingress's controller sits at exactly the gateway's
    backend; without one, no controller pins an address nobody forwards to."""
    backends = relations.gateway_backends(plans[env])
    assert relations.ingress_address_drift(deployments[env].rendered, backends) == []
    gateway = plans[env]["output_changes"]["ingress"]["after"]["exposure"] == "application_gateway"
    assert bool(backends) is gateway


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_gateway_listens_for_and_probes_the_ingress_host(
    deployments: dict[str, Deployment], plans: dict[str, dict[str, Any]], env: str
) -> None:
    hosts = relations.gateway_hosts(plans[env])
    assert relations.gateway_host_drift(deployments[env].rendered, hosts) == []


def test_a_gateway_host_the_ingress_does_not_serve_is_reported(
    deployments: dict[str, Deployment], plans: dict[str, dict[str, Any]]
) -> None:
    """prod's gateway planned for another host than the chart's Ingress serves."""
    plan = copy.deepcopy(plans["prod"])
    for change in plan["resource_changes"]:
        if change["type"] == relations.GATEWAY:
            gateway = change["change"]["after"]
            for listener in gateway["http_listener"]:
                listener["host_names"] = ["shop.example.org"]
            for probe in gateway["probe"]:
                probe["host"] = "shop.example.org"
    drift = relations.gateway_host_drift(
        deployments["prod"].rendered, relations.gateway_hosts(plan)
    )
    assert len(drift) == 1
    assert drift[0].startswith("the gateway uses host 'shop.example.org'; the Ingress serves")


def test_prod_takes_its_ingress_address_through_the_pipeline(
    deployments: dict[str, Deployment],
) -> None:
    """prod's render (deploy's values from its planned outputs) asks for an internal load
    balancer at the output's ingress.private_ip."""
    private_ip = deployments["prod"].outputs["ingress"]["value"]["private_ip"]
    assert set(relations.controller_addresses(deployments["prod"].rendered).values()) == {
        private_ip
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_ingress_serves_the_certificate_terraform_grants_the_add_on_and_the_gateway(
    deployments: dict[str, Deployment], plans: dict[str, dict[str, Any]], env: str
) -> None:
    deployment = deployments[env]
    assert relations.certificate_drift(deployment.rendered, plans[env], deployment.outputs) == []


CHART_OUTPUT = re.compile(r"^\$\{local\.chart_outputs\.(\w+)\}$")
"""An output that reads the root's map of the chart's Terraform values (local.chart_outputs)."""


def _platform_outputs() -> dict[str, str]:
    """Each output's HCL expression; one reading local.chart_outputs by the expression it reads
    there (main.tf), which the Flux substitutions share."""
    options = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
    main = hcl2.loads(
        (IAC / PLATFORM / "main.tf").read_text(encoding="utf-8"), serialization_options=options
    )
    (chart_outputs,) = [b["chart_outputs"] for b in main["locals"] if "chart_outputs" in b]
    text = (IAC / PLATFORM / "outputs.tf").read_text(encoding="utf-8")
    outputs = {}
    for block in hcl2.loads(text, serialization_options=options)["output"]:
        for name in block:
            value = str(block[name]["value"])
            shared = CHART_OUTPUT.match(value)
            outputs[name] = str(chart_outputs[shared[1]]) if shared else value
    return outputs


def test_each_client_id_output_reads_the_identity_its_subjects_are_listed_under() -> None:
    assert relations.client_id_source_drift(_platform_outputs()) == []


def test_a_client_id_output_reading_another_identity_is_reported() -> None:
    outputs = _platform_outputs()
    outputs["api_identity_client_id"] = outputs["database_identity_client_id"]
    assert relations.client_id_source_drift(outputs) == [
        "api_identity_client_id reads another identity than the subjects listed under api: "
        + outputs["database_identity_client_id"]
    ]


# --- broken fixtures: each relation's check reports the break ------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_cert_manager_release_serves_every_certificate(
    deployments: dict[str, Deployment], env: str
) -> None:
    deployment = deployments[env]
    assert relations.unserved_certificates(deployment.rendered, deployment.platform) == []


@pytest.fixture(scope="module")
def broken(
    renderer: Renderer, plans: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Deployment]:
    """BROKEN_ENV rendered with each fixture of tests/contract/fixtures/ that breaks a relation."""
    work = tmp_path_factory.mktemp("broken")
    return {
        path.stem: render(renderer, plans[BROKEN_ENV], BROKEN_ENV, work / path.stem, [path])
        for path in sorted(FIXTURES.glob("*.yaml"))
        if path.stem != "backups-off"
    }


def test_a_renamed_service_account_is_unfederated_and_off_contract(
    broken: dict[str, Deployment], plans: dict[str, dict[str, Any]], names: Contract
) -> None:
    deployment = broken["renamed-backup-service-account"]
    problems = _identity_problems(deployment, plans[BROKEN_ENV], names.namespace)
    unfederated = f"system:serviceaccount:{names.namespace}:postgresql-archiver"
    assert f"chart uses {unfederated} with the backup identity: no federated credential" in problems
    assert f"backup identity federates {names.subject('backup')}: no chart uses it" in problems
    drift = relations.contract_name_drift(deployment.rendered, names)
    assert "ServiceAccount postgresql-archiver is not in the contract's service_accounts" in drift


def test_serving_pods_past_the_pooler_are_reported(
    broken: dict[str, Deployment], names: Contract
) -> None:
    drift = relations.database_endpoint_drift(broken["api-past-the-pooler"].rendered, names)
    serving = f"Deployment/{names.fullnames['inventory-api']}"
    database = names.services["database"]
    assert drift == [
        f"{serving} connects to {database}, not the contract's {names.services['pooler']}",
        f"{serving} connects to port 6432, which {database} lacks",
    ]


def test_a_credential_the_subjects_output_leaves_out_is_reported(
    plans: dict[str, dict[str, Any]],
) -> None:
    plan = copy.deepcopy(plans[BROKEN_ENV])
    credential = next(
        change
        for change in plan["resource_changes"]
        if change["type"] == "azurerm_federated_identity_credential"
    )
    credential["change"]["after"]["subject"] = "system:serviceaccount:inventory:stray"
    _, inconsistent = relations.planned_identity_subjects(plan)
    assert len(inconsistent) == 1
    assert "disagrees with the planned credentials" in inconsistent[0]


def test_a_release_in_another_namespace_is_reported(
    renderer: Renderer,
    plans: dict[str, dict[str, Any]],
    names: Contract,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr("pipelines.stages.deploy.NAMESPACE", "elsewhere")
    deployment = render(renderer, plans[BROKEN_ENV], BROKEN_ENV, tmp_path)
    planned, _ = relations.planned_identity_subjects(plans[BROKEN_ENV])
    drift = relations.namespace_drift(deployment.rendered, planned, names.namespace)
    assert drift
    assert all("is in namespace 'elsewhere', not" in problem for problem in drift)
    assert relations.namespace_drift(deployment.rendered, planned, "elsewhere") == [
        f"the {key} identity federates {subject}, outside 'elsewhere'"
        for key, subject in sorted(planned)
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_values_file_sets_what_the_terraform_outputs_set(env: str) -> None:
    values = yaml.safe_load((CHARTS_SRC / UMBRELLA / f"values-{env}.yaml").read_text())
    assert relations.hand_set_outputs(values) == []


def test_a_vault_name_set_by_hand_is_reported() -> None:
    values = yaml.safe_load((FIXTURES / "foreign-key-vault.yaml").read_text())
    assert relations.hand_set_outputs(values) == [
        "inventory-api.database.keyVault.name = 'kv-elsewhere' is set by hand: it is the "
        "Terraform output key_vault_name"
    ]


def test_a_key_vault_terraform_does_not_create_is_reported(
    broken: dict[str, Deployment], plans: dict[str, dict[str, Any]]
) -> None:
    plan = plans[BROKEN_ENV]
    terraform = relations.terraform_names(plan, login_server(plan))
    drift = relations.name_drift(
        relations.chart_names(broken["foreign-key-vault"].rendered), terraform
    )
    (vault,) = terraform["key vault"]
    assert drift == [f"key vault: the chart uses 'kv-elsewhere', Terraform creates {vault!r}"]


REPO2_FIXTURE = "foreign-repo2-account"


def _repo2_fixture() -> dict[str, Any]:
    """backup.repo2 as the fixture sets it (tests/contract/fixtures/foreign-repo2-account.yaml)."""
    values = yaml.safe_load((FIXTURES / f"{REPO2_FIXTURE}.yaml").read_text(encoding="utf-8"))
    return dict(values["postgresql"]["backup"]["repo2"])


def _repo2_environment(plans: dict[str, dict[str, Any]]) -> str:
    """The first environment whose plan has a second backup repository."""
    return next(
        env
        for env in ENVIRONMENTS
        if plans[env]["output_changes"]["backup_repo2_location"].get("after") is not None
    )


def test_the_second_repository_is_planned_where_its_environment_says(
    deployments: dict[str, Deployment], plans: dict[str, dict[str, Any]]
) -> None:
    """With repo2 the render carries its planned account and federates its identity; without,
    neither (the per-environment checks above hold both to the plan)."""
    env = _repo2_environment(plans)
    terraform = relations.terraform_names(plans[env], login_server(plans[env]))
    chart = relations.chart_names(deployments[env].rendered)
    assert chart[relations.REPO2_ACCOUNT] == terraform[relations.REPO2_ACCOUNT] != set()
    assert "backup_repo2" in plans[env]["output_changes"][relations.SUBJECTS_OUTPUT]["after"]
    assert relations.REPO2_ACCOUNT not in relations.terraform_names(
        plans[BROKEN_ENV], login_server(plans[BROKEN_ENV])
    )
    assert relations.chart_names(deployments[BROKEN_ENV].rendered)[relations.REPO2_ACCOUNT] == set()


def test_a_repo2_account_and_identity_terraform_does_not_create_are_reported(
    renderer: Renderer,
    broken: dict[str, Deployment],
    plans: dict[str, dict[str, Any]],
    names: Contract,
    tmp_path: Path,
) -> None:
    """In an environment without repo2 the chart's repo2 is wholly foreign; in one with repo2 it
    replaces the planned account and identity, which then no chart uses."""
    repo2 = _repo2_fixture()
    account, client_id = repo2["azure"]["account"], repo2["clientId"]
    without = broken[REPO2_FIXTURE]
    terraform = relations.terraform_names(plans[BROKEN_ENV], login_server(plans[BROKEN_ENV]))
    drift = relations.name_drift(relations.chart_names(without.rendered), terraform)
    assert drift == [
        f"repo2 container: the chart uses {repo2['azure']['container']!r}, Terraform creates none",
        f"repo2 storage account: the chart uses {account!r}, Terraform creates none",
    ]
    problems = _identity_problems(without, plans[BROKEN_ENV], names.namespace)
    unknown = [p for p in problems if client_id in p]
    assert {p.split(": ", 1)[0] for p in unknown} >= {
        f"StatefulSet/{names.fullnames['postgresql']} {relations.REPO2_CLIENT_ID}"
    }
    assert all(
        p.endswith(f"client id {client_id!r} is no Terraform identity output") for p in unknown
    )

    env = _repo2_environment(plans)
    fixture = FIXTURES / f"{REPO2_FIXTURE}.yaml"
    replaced = render(renderer, plans[env], env, tmp_path, [fixture])
    terraform = relations.terraform_names(plans[env], login_server(plans[env]))
    (planned,) = terraform[relations.REPO2_ACCOUNT]
    assert relations.name_drift(relations.chart_names(replaced.rendered), terraform) == [
        f"repo2 storage account: the chart uses {account!r}, Terraform creates {planned!r}"
    ]
    problems = _identity_problems(replaced, plans[env], names.namespace)
    assert f"backup_repo2 identity federates {names.subject('backup')}: no chart uses it" in (
        problems
    )


def test_a_repo2_client_id_output_reading_repo1s_identity_is_reported() -> None:
    outputs = _platform_outputs()
    outputs["backup_repo2_identity_client_id"] = outputs["backup_identity_client_id"]
    assert relations.client_id_source_drift(outputs) == [
        "backup_repo2_identity_client_id reads another identity than the subjects listed under "
        "backup_repo2: " + outputs["backup_identity_client_id"]
    ]


def test_backup_jobs_under_another_prefix_are_silent_to_the_alert(
    broken: dict[str, Deployment], plans: dict[str, dict[str, Any]], names: Contract
) -> None:
    deployment = broken["renamed-database"]
    prefixes = relations.failed_backup_prefixes(plans[BROKEN_ENV])
    drift = relations.backup_alert_drift(deployment.rendered, prefixes)
    assert len(drift) == 2
    assert all(problem.startswith("backup Job db-backup-") for problem in drift)
    contract_drift = relations.contract_name_drift(deployment.rendered, names)
    assert f"contract service database = {names.services['database']} is not rendered" in (
        contract_drift
    )


def test_an_alert_on_another_prefix_never_sees_the_backup_jobs(
    deployments: dict[str, Deployment], plans: dict[str, dict[str, Any]]
) -> None:
    """What the module's old default did: match Jobs starting with `pgbackrest`."""
    plan = copy.deepcopy(plans[BROKEN_ENV])
    for change in plan["resource_changes"]:
        if change["type"] == "azurerm_monitor_scheduled_query_rules_alert_v2":
            for criteria in change["change"]["after"]["criteria"]:
                criteria["query"] = re.sub(
                    r'startswith "[^"]*"', 'startswith "pgbackrest"', criteria["query"]
                )
    prefixes = relations.failed_backup_prefixes(plan)
    assert prefixes == ["pgbackrest"]
    drift = relations.backup_alert_drift(deployments[BROKEN_ENV].rendered, prefixes)
    assert len(drift) == 2
    assert all("a failure is silent" in problem for problem in drift)


def test_an_ingress_class_no_controller_serves_is_reported(
    broken: dict[str, Deployment], deployments: dict[str, Deployment]
) -> None:
    deployment = broken["other-ingress-class"]
    served = relations.served_ingress_classes(deployment.rendered, deployment.capabilities)
    drift = relations.ingress_class_drift(deployment.rendered, served)
    assert len(drift) == 1
    assert "uses class 'nginx'" in drift[0]


def test_a_controller_at_another_address_than_the_gateways_backend_is_reported(
    broken: dict[str, Deployment],
    deployments: dict[str, Deployment],
    plans: dict[str, dict[str, Any]],
) -> None:
    """The chart pinned where no gateway forwards (dev with an address), and prod's gateway
    forwarding somewhere its controller does not sit."""
    pinned = broken["other-ingress-address"]
    drift = relations.ingress_address_drift(
        pinned.rendered, relations.gateway_backends(plans[BROKEN_ENV])
    )
    assert [problem.split(": ", 1)[1] for problem in drift] == [
        "its controller takes 10.30.7.251, "
        "but the gateway forwards to nothing (there is no gateway)"
    ]
    plan = copy.deepcopy(plans["prod"])
    for change in plan["resource_changes"]:
        if change["type"] == relations.GATEWAY:
            for pool in change["change"]["after"]["backend_address_pool"]:
                pool["ip_addresses"] = ["10.30.7.9"]
    drift = relations.ingress_address_drift(
        deployments["prod"].rendered, relations.gateway_backends(plan)
    )
    assert len(drift) == 1
    assert "but the gateway forwards to ['10.30.7.9']" in drift[0]


def test_without_the_routing_add_on_the_class_is_not_served(
    deployments: dict[str, Deployment], plans: dict[str, dict[str, Any]]
) -> None:
    plan = copy.deepcopy(plans[BROKEN_ENV])
    for change in plan["resource_changes"]:
        if change["type"] == CLUSTER:
            change["change"]["after"]["web_app_routing"] = []
    offered = capabilities(plan)
    assert offered.ingress_classes == ()
    drift = relations.ingress_class_drift(deployments[BROKEN_ENV].rendered, offered.ingress_classes)
    assert len(drift) == 1


def test_the_api_versions_follow_what_the_plan_enables(plans: dict[str, dict[str, Any]]) -> None:
    plan = copy.deepcopy(plans[BROKEN_ENV])
    before = capabilities(plan)
    assert "azmonitoring.coreos.com/v1" in before.api_versions
    assert "monitoring.coreos.com/v1" not in before.api_versions
    for change in plan["resource_changes"]:
        if change["type"] == CLUSTER:
            change["change"]["after"]["monitor_metrics"] = []
            change["change"]["after"]["kubernetes_version"] = "1.34"
    after = capabilities(plan)
    assert "azmonitoring.coreos.com/v1" not in after.api_versions
    assert after.kube_version == "1.34.0"


def test_a_cert_manager_serving_another_namespace_is_reported(
    renderer: Renderer, plans: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    fixture = FIXTURES / "platform" / "cert-manager-elsewhere.yaml"
    deployment = render(renderer, plans[BROKEN_ENV], BROKEN_ENV, tmp_path, platform_extra=[fixture])
    drift = relations.unserved_certificates(deployment.rendered, deployment.platform)
    certificates = deployment.rendered.of_kind("Issuer") + deployment.rendered.of_kind(
        "Certificate"
    )
    assert len(drift) == len(certificates) > 0
    assert all("cert-manager serves 'elsewhere'" in problem for problem in drift)


def test_an_ingress_naming_another_certificate_is_reported(
    broken: dict[str, Deployment], plans: dict[str, dict[str, Any]]
) -> None:
    deployment = broken["other-certificate"]
    drift = relations.certificate_drift(deployment.rendered, plans[BROKEN_ENV], deployment.outputs)
    assert len(drift) == 1
    assert (
        "names certificate 'https://kv-inventorydevweu0a1b.vault.azure.net/secrets/other-tls'"
        in drift[0]
    )


def test_a_certificate_the_add_on_or_the_gateway_is_not_granted_is_reported(
    deployments: dict[str, Deployment], plans: dict[str, dict[str, Any]]
) -> None:
    """prod planned without the add-on's grant, and with its gateway serving another
    certificate: both are reported."""
    plan = copy.deepcopy(plans["prod"])
    plan["resource_changes"] = [
        change for change in plan["resource_changes"] if change["address"] != relations.ADD_ON_GRANT
    ]
    for change in plan["resource_changes"]:
        if change["type"] == relations.GATEWAY:
            for certificate in change["change"]["after"]["ssl_certificate"]:
                certificate["name"] = "other-tls"
    deployment = deployments["prod"]
    drift = relations.certificate_drift(deployment.rendered, plan, deployment.outputs)
    assert len(drift) == 2
    assert drift[0] == f"the plan has no Key Vault Secrets User grant {relations.ADD_ON_GRANT}"
    assert drift[1].startswith("the gateway serves 'other-tls'")


def test_a_self_signed_certificate_for_other_hosts_is_reported(
    deployments: dict[str, Deployment], plans: dict[str, dict[str, Any]]
) -> None:
    """dev's Key Vault issuing its certificate for a host the Ingress does not serve."""
    plan = copy.deepcopy(plans["dev"])
    for change in plan["resource_changes"]:
        if change["type"] == relations.SELF_SIGNED:
            (policy,) = change["change"]["after"]["certificate_policy"]
            (x509,) = policy["x509_certificate_properties"]
            x509["subject_alternative_names"] = [{"dns_names": ["shop.example.org"]}]
    deployment = deployments["dev"]
    drift = relations.certificate_drift(deployment.rendered, plan, deployment.outputs)
    assert len(drift) == 1
    assert "Key Vault issues 'ingress-tls' for ['shop.example.org']" in drift[0]
