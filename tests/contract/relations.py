"""The relations between what the charts render and what Terraform plans, one check each.

Every check takes a render (and the environment's plan or the contract) and returns the
differences as sentences, empty when the relation holds; tests assert on the list, and the
broken fixtures show each check reports what is wrong.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml
from dbops.azure_sas import client_id_variable
from dbops.common import repo_env

from pipelines.core.contract import Contract
from pipelines.targets.terraform_outputs import OUTPUT_VALUES
from tests.contract.capabilities import APP_ROUTING_API, Capabilities
from tests.helm.rendering import Rendered, containers, pod_spec, workloads
from tests.terraform.harness import planned_resources

CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
CSI_DRIVER = "secrets-store.csi.k8s.io"
SUBJECTS_OUTPUT = "workload_identity_subjects"
CLIENT_ID_OUTPUT = re.compile(r"^(?P<identity>[a-z][a-z0-9_]*)_identity_client_id$")
REPO2_CLIENT_ID = client_id_variable(2)
"""The container variable naming the second backup repository's own identity."""
SUBJECT = re.compile(r"^system:serviceaccount:(?P<namespace>[^:]+):(?P<name>[^:]+)$")
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "IngressClass",
    "NginxIngressController",
    "PriorityClass",
}

Use = tuple[str, str]  # (identity key, federated subject)
Names = dict[str, set[str]]  # purpose -> every value the render uses for it


# --- ServiceAccounts <-> federated credentials -------------------------------------------------


def client_id_identities(outputs: dict[str, Any]) -> dict[str, str]:
    """Client id -> identity key, for every `<key>_identity_client_id` output the pipeline maps
    into the chart (pipelines/core/terraform_outputs.OUTPUT_VALUES) and the environment has (an
    optional identity, the second backup repository's, is null where it is not planned)."""
    identities = {}
    for name in OUTPUT_VALUES:
        match = CLIENT_ID_OUTPUT.match(name)
        value = (outputs.get(name) or {}).get("value")
        if match and value is not None:
            identities[str(value)] = match["identity"]
    return identities


def chart_identity_uses(
    rendered: Rendered, identities: dict[str, str], namespace: str
) -> tuple[set[Use], list[str]]:
    """(identity, subject) pairs the render needs, and client ids no identity output supplies.

    A ServiceAccount annotated with a client id uses that identity; so does every pod that mounts
    a Key Vault secret through the CSI driver (its SecretProviderClass names the client id), and
    every pod whose containers mint the second backup repository's SAS (REPO2_CLIENT_ID) with
    the pod's ServiceAccount token.
    """
    uses: set[Use] = set()
    unknown: list[str] = []

    def need(client_id: str, service_account: str, where: str) -> None:
        if client_id in identities:
            subject = f"system:serviceaccount:{namespace}:{service_account}"
            uses.add((identities[client_id], subject))
        else:
            unknown.append(f"{where}: client id {client_id!r} is no Terraform identity output")

    for account in rendered.of_kind("ServiceAccount"):
        annotations = account["metadata"].get("annotations") or {}
        if CLIENT_ID_ANNOTATION in annotations:
            name = account["metadata"]["name"]
            need(str(annotations[CLIENT_ID_ANNOTATION]), name, f"ServiceAccount/{name}")
    classes = {spc["metadata"]["name"]: spc for spc in rendered.of_kind("SecretProviderClass")}
    for workload in workloads(rendered):
        pod = pod_spec(workload)
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        for volume in pod.get("volumes", []):
            csi = volume.get("csi") or {}
            if csi.get("driver") != CSI_DRIVER:
                continue
            name = csi["volumeAttributes"]["secretProviderClass"]
            if name not in classes:
                unknown.append(f"{where}: SecretProviderClass {name} is not rendered")
                continue
            client_id = str(classes[name]["spec"]["parameters"].get("clientID", ""))
            need(client_id, pod.get("serviceAccountName", "default"), f"{where} via {name}")
        for container in containers(workload):
            for variable in container.get("env", []):
                if variable["name"] == REPO2_CLIENT_ID:
                    account = pod.get("serviceAccountName", "default")
                    need(str(variable.get("value", "")), account, f"{where} {REPO2_CLIENT_ID}")
    return uses, unknown


CONTROLLER_IDENTITIES = ("module.gitops[0].",)
"""Where the platform federates its own controllers, not the chart's workloads: Flux's
source-controller, which pulls the charts (tests/terraform/test_gitops.py holds it)."""


def planned_identity_subjects(plan: dict[str, Any]) -> tuple[set[Use], list[str]]:
    """(identity, subject) pairs the plan federates (its subjects output), and disagreements
    between that output and the planned credential resources."""
    by_identity: dict[str, list[str]] = plan["output_changes"][SUBJECTS_OUTPUT]["after"]
    from_output = Counter(s for subjects in by_identity.values() for s in subjects)
    from_resources = Counter(
        str(r.values["subject"])
        for r in planned_resources(plan)
        if r.type == "azurerm_federated_identity_credential"
        and not r.address.startswith(CONTROLLER_IDENTITIES)
    )
    problems = []
    if from_output != from_resources:
        problems.append(
            f"{SUBJECTS_OUTPUT} {sorted(from_output.elements())} disagrees with the planned "
            f"credentials {sorted(from_resources.elements())}"
        )
    problems += [
        f"identity {key} federates subjects but has no {key}_identity_client_id output"
        for key in sorted(by_identity)
        if f"{key}_identity_client_id" not in plan["output_changes"]
    ]
    uses = {(key, s) for key, subjects in by_identity.items() for s in subjects}
    return uses, problems


def identity_drift(chart: Iterable[Use], planned: Iterable[Use]) -> list[str]:
    """Differences between what the render uses and what Terraform federates."""
    chart_set, planned_set = set(chart), set(planned)
    return [
        *(
            f"chart uses {s} with the {k} identity: no federated credential"
            for k, s in sorted(chart_set - planned_set)
        ),
        *(
            f"{k} identity federates {s}: no chart uses it"
            for k, s in sorted(planned_set - chart_set)
        ),
    ]


CLIENT_ID_SOURCE = re.compile(
    r'^\$\{(?:module\.(?P<module>\w+)\.(?:client_ids\["(?P<key>\w+)"\]|identity_client_id)'
    r"|one\(module\.(?P<optional>\w+)\[\*\]\.identity_client_id\))\}$"
)
"""A client id output's expression: a workload identity, a module's identity, or the identity of
a module that exists in some environments only (count; null where it is not planned)."""


def client_id_source_drift(outputs: dict[str, str]) -> list[str]:
    """`<key>_identity_client_id` outputs (HCL expressions; the plan leaves ids unknown) that do
    not read the identity whose subjects the subjects output lists under <key>."""
    subjects = outputs[SUBJECTS_OUTPUT]
    problems = []
    for name, value in sorted(outputs.items()):
        wanted = CLIENT_ID_OUTPUT.match(name)
        if wanted is None:
            continue
        key, source = wanted["identity"], CLIENT_ID_SOURCE.match(value)
        if source is None:
            same = False
        elif source["optional"]:
            listed = (
                rf"for\s+(\w+)\s+in\s+module\.{source['optional']}\s*:\s*\"{key}\"\s*=>"
                rf"\s*\1\.identity_subjects\b"
            )
            same = re.search(listed, subjects) is not None
        elif source["key"]:
            same = source["key"] == key and f"module.{source['module']}.subjects" in subjects
        else:
            listed = rf"\b{key}\s*=\s*module\.{source['module']}\.identity_subjects\b"
            same = re.search(listed, subjects) is not None
        if not same:
            problems.append(
                f"{name} reads another identity than the subjects listed under {key}: {value}"
            )
    return problems


# --- names declared in the contract -------------------------------------------------------------


def contract_name_drift(rendered: Rendered, contract: Contract) -> list[str]:
    """Rendered ServiceAccounts, the accounts pods run under and the contract's Services, against
    the contract."""
    declared = set(contract.service_accounts.values())
    accounts = {sa["metadata"]["name"] for sa in rendered.of_kind("ServiceAccount")}
    problems = [
        f"ServiceAccount {name} is not in the contract's service_accounts"
        for name in sorted(accounts - declared)
    ]
    for workload in workloads(rendered):
        account = pod_spec(workload).get("serviceAccountName", "default")
        if account not in declared:
            where = f"{workload['kind']}/{workload['metadata']['name']}"
            problems.append(f"{where} runs as {account}, not a contract ServiceAccount")
    services = {svc["metadata"]["name"] for svc in rendered.of_kind("Service")}
    problems += [
        f"contract service {role} = {name} is not rendered"
        for role, name in sorted(contract.services.items())
        if name not in services
    ]
    return problems


def database_endpoint_drift(rendered: Rendered, contract: Contract) -> list[str]:
    """Where each DATABASE_URL points, against the contract: the serving pods (Deployments) at
    the pooler's Service when the pooler runs, else the database's; the migrations Job (a Job)
    always at the database's. The port must be one the named Service exposes."""
    ports = {
        svc["metadata"]["name"]: {int(p["port"]) for p in svc["spec"]["ports"]}
        for svc in rendered.of_kind("Service")
    }
    pooled = contract.services["pooler"] in ports
    expected = {
        "Deployment": contract.services["pooler" if pooled else "database"],
        "Job": contract.services["database"],
    }
    problems = []
    for workload in workloads(rendered):
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        for container in containers(workload):
            for variable in container.get("env", []):
                if variable["name"] != "DATABASE_URL":
                    continue
                address = str(variable["value"]).split("@", 1)[-1].split("/", 1)[0]
                host, _, port = address.partition(":")
                want = expected.get(workload["kind"])
                if want is not None and host != want:
                    problems.append(f"{where} connects to {host}, not the contract's {want}")
                if int(port) not in ports.get(host, set()):
                    problems.append(f"{where} connects to port {port}, which {host} lacks")
    return problems


def namespace_drift(rendered: Rendered, planned: Iterable[Use], namespace: str) -> list[str]:
    """Objects the render places, and subjects Terraform federates, outside `namespace`."""
    problems = [
        f"{doc['kind']}/{doc['metadata']['name']} is in namespace "
        f"{doc['metadata'].get('namespace')!r}, not {namespace!r}"
        for doc in rendered.docs
        if doc["kind"] not in CLUSTER_SCOPED and doc["metadata"].get("namespace") != namespace
    ]
    for key, subject in sorted(planned):
        match = SUBJECT.match(subject)
        if match is None or match["namespace"] != namespace:
            problems.append(f"the {key} identity federates {subject}, outside {namespace!r}")
    return problems


# --- Azure names: Key Vault, secret, registry, backup storage ------------------------------------

REGISTRY = "image registry"
# Purpose -> (module, planned resource type, attribute, environment output with the same name).
SECRETS = "key vault secret"
REPO2_ACCOUNT, REPO2_CONTAINER = "repo2 storage account", "repo2 container"
PLANNED_NAMES = {
    "key vault": ("module.key_vault", "azurerm_key_vault", "name", "key_vault_name"),
    SECRETS: (
        "module.key_vault", "azurerm_key_vault_secret", "name", "database_password_secret_name"
    ),
    "backup storage account": (
        "module.backup_storage", "azurerm_storage_account", "name", "backup_storage_account_name"
    ),
    "backup container": (
        "module.backup_storage", "azurerm_storage_container", "name", "backup_container_name"
    ),
    REPO2_ACCOUNT: (
        "module.backup_repo2[0]", "azurerm_storage_account", "name",
        "backup_repo2_storage_account_name",
    ),
    REPO2_CONTAINER: (
        "module.backup_repo2[0]", "azurerm_storage_container", "name", "backup_repo2_container_name"
    ),
}  # fmt: skip
OPTIONAL_PURPOSES = {REPO2_ACCOUNT, REPO2_CONTAINER}
"""Names of the second backup repository: planned only where the environment has one."""
# Container environment variable -> the purpose of the name it carries (the names the image
# reads, dbops.common.repo_env).
BACKUP_ENV = {
    repo_env(1, "AZURE_ACCOUNT"): "backup storage account",
    repo_env(1, "AZURE_CONTAINER"): "backup container",
    repo_env(2, "AZURE_ACCOUNT"): REPO2_ACCOUNT,
    repo_env(2, "AZURE_CONTAINER"): REPO2_CONTAINER,
}


def planned_names(
    plan: dict[str, Any], module: str, resource_type: str, attribute: str
) -> set[str]:
    """Every name of one resource type the plan creates in `module` (known at plan time)."""
    values = [
        r.values.get(attribute)
        for r in planned_resources(plan)
        if r.type == resource_type and r.address.startswith(f"{module}.")
    ]
    assert values, f"no {resource_type} in {module} in the plan"
    assert all(isinstance(v, str) for v in values), f"{resource_type}.{attribute} is unknown"
    return {str(value) for value in values}


def planned_name(
    plan: dict[str, Any], module: str, resource_type: str, attribute: str, output: str
) -> str:
    """The one planned resource's name; an output the plan already knows must agree with it."""
    values = planned_names(plan, module, resource_type, attribute)
    assert len(values) == 1, f"expected one {resource_type} in the plan, found {len(values)}"
    (value,) = values
    change = plan["output_changes"][output]
    known = None if change.get("after_unknown") else change.get("after")
    assert known in (None, value), f"output {output} = {known!r}, resource has {value!r}"
    return value


def terraform_names(plan: dict[str, Any], login_server: str) -> dict[str, set[str]]:
    """Each Azure name the chart may use, by purpose, as the environment's plan creates it
    (one vault holds several secrets: the database password, the backup passphrase; the second
    backup repository's names only where its module is planned)."""
    planned_modules = {r.address.split(".azurerm_", 1)[0] for r in planned_resources(plan)}
    names = {
        purpose: {planned_name(plan, *source)}
        for purpose, source in PLANNED_NAMES.items()
        if purpose != SECRETS and (purpose not in OPTIONAL_PURPOSES or source[0] in planned_modules)
    }
    module, secret_type, attribute, output = PLANNED_NAMES[SECRETS]
    secrets = planned_names(plan, module, secret_type, attribute)
    assert plan["output_changes"][output].get("after") in (None, *secrets), output
    names[SECRETS] = secrets
    names[REGISTRY] = {login_server}
    return names


def chart_names(rendered: Rendered) -> Names:
    """Every Azure name in the rendered manifests, by purpose."""
    names: Names = {purpose: set() for purpose in [*PLANNED_NAMES, REGISTRY]}
    for spc in rendered.of_kind("SecretProviderClass"):
        parameters = spc["spec"]["parameters"]
        names["key vault"].add(str(parameters["keyvaultName"]))
        for entry in yaml.safe_load(parameters["objects"])["array"]:
            names["key vault secret"].add(str(yaml.safe_load(entry)["objectName"]))
    for workload in workloads(rendered):
        for container in containers(workload):
            host, _, path = str(container["image"]).partition("/")
            names[REGISTRY].add(host if path else "")
            for variable in container.get("env", []):
                if variable["name"] in BACKUP_ENV:
                    names[BACKUP_ENV[variable["name"]]].add(str(variable.get("value", "")))
    return names


def name_drift(chart: Names, terraform: dict[str, set[str]]) -> list[str]:
    """Differences between the chart's Azure names and Terraform's (also names of a resource
    Terraform does not create in this environment at all)."""
    problems = [
        f"{purpose}: the chart uses {value!r}, Terraform creates none"
        for purpose, found in sorted(chart.items())
        if purpose not in terraform
        for value in sorted(found)
    ]
    for purpose, expected in sorted(terraform.items()):
        found = chart.get(purpose, set())
        creates = ", ".join(repr(name) for name in sorted(expected))
        if not found:
            problems.append(f"{purpose}: the chart carries none (Terraform creates {creates})")
        problems += [
            f"{purpose}: the chart uses {value!r}, Terraform creates {creates}"
            for value in sorted(found - expected)
        ]
    return problems


def hand_set_outputs(values: dict[str, Any]) -> list[str]:
    """Chart values a values file sets although the deploy stage generates them from Terraform
    outputs (OUTPUT_VALUES): a second source of a name Terraform decides, overridden unseen."""
    problems = []
    for output, paths in sorted(OUTPUT_VALUES.items()):
        for path in paths:
            node: Any = values
            for key in path.split("."):
                node = node.get(key) if isinstance(node, dict) else None
            if node is not None:
                problems.append(
                    f"{path} = {node!r} is set by hand: it is the Terraform output {output}"
                )
    return problems


# --- backup Jobs <-> the failed-backup log alert -------------------------------------------------

BACKUP_MODULE = "dbops.backup"
"""The image's backup entry point: a CronJob running it is a backup (not heartbeat or drill)."""
FAILED_BACKUPS = "failed-backups"
STARTSWITH = re.compile(r'Name\s+startswith\s+"(?P<prefix>[^"]*)"')
JOB_SUFFIX = "-29412345"
"""What the CronJob controller appends to a Job's name (the scheduled time in minutes)."""


def failed_backup_prefixes(plan: dict[str, Any]) -> list[str]:
    """The Job-name prefixes the planned failed-backup log alert matches."""
    alerts = [
        r.values
        for r in planned_resources(plan)
        if r.type == "azurerm_monitor_scheduled_query_rules_alert_v2"
        and str(r.values.get("name", "")).startswith(f"alert-{FAILED_BACKUPS}-")
    ]
    assert len(alerts) == 1, f"expected one {FAILED_BACKUPS} alert, found {len(alerts)}"
    query = str(alerts[0]["criteria"][0]["query"])
    return [match["prefix"] for match in STARTSWITH.finditer(query)]


def backup_cronjobs(rendered: Rendered) -> dict[str, bool]:
    """Every rendered CronJob by name: True when it runs the backup entry point."""
    return {
        cronjob["metadata"]["name"]: any(
            BACKUP_MODULE in container.get("args", []) for container in containers(cronjob)
        )
        for cronjob in rendered.of_kind("CronJob")
    }


def backup_alert_drift(rendered: Rendered, prefixes: list[str]) -> list[str]:
    """Backup Jobs the alert would not see, and other Jobs it would report as failed backups."""
    cronjobs = backup_cronjobs(rendered)
    problems = [] if any(cronjobs.values()) else ["the render has no backup CronJob"]
    if not prefixes:
        problems.append(f"the {FAILED_BACKUPS} alert matches no Job name prefix")
    for name, is_backup in sorted(cronjobs.items()):
        job = name + JOB_SUFFIX
        seen = any(job.startswith(prefix) for prefix in prefixes)
        if is_backup and not seen:
            problems.append(f"backup Job {job} does not start with {prefixes}: a failure is silent")
        if seen and not is_backup:
            problems.append(f"Job {job} is no backup but matches {prefixes}")
    return problems


# --- IngressClass <-> the cluster's routing add-on -----------------------------------------------

INTERNAL_LOAD_BALANCER = "service.beta.kubernetes.io/azure-load-balancer-internal"
LOAD_BALANCER_ADDRESS = "service.beta.kubernetes.io/azure-load-balancer-ipv4"
GATEWAY = "azurerm_application_gateway"


def served_ingress_classes(rendered: Rendered, offered: Capabilities) -> set[str]:
    """The classes the planned cluster serves, plus those of the NGINXs the render asks the
    routing add-on for (NginxIngressController objects, when the add-on's API is served)."""
    served = set(offered.ingress_classes)
    if APP_ROUTING_API in offered.api_versions:
        served |= {
            str(controller["spec"]["ingressClassName"])
            for controller in rendered.of_kind("NginxIngressController")
        }
    return served


def ingress_class_drift(rendered: Rendered, served: Iterable[str]) -> list[str]:
    """Ingresses whose class no controller of the planned cluster serves."""
    served = set(served)
    problems = [] if rendered.of_kind("Ingress") else ["the render has no Ingress"]
    for ingress in rendered.of_kind("Ingress"):
        name = ingress["metadata"]["name"]
        cls = ingress["spec"].get("ingressClassName")
        if cls not in served:
            problems.append(
                f"Ingress {name} uses class {cls!r}; the cluster serves {sorted(served)}"
            )
    return problems


# --- Application Gateway backend <-> the ingress controller's internal load balancer ------------


def gateway_backends(plan: dict[str, Any]) -> set[str]:
    """Addresses the planned Application Gateway forwards to (none without a gateway)."""
    return {
        str(address)
        for r in planned_resources(plan)
        if r.type == GATEWAY
        for pool in r.values.get("backend_address_pool") or []
        for address in pool.get("ip_addresses") or []
    }


def gateway_hosts(plan: dict[str, Any]) -> set[str]:
    """Host names the planned gateway listens for and sends its health probes with."""
    hosts: set[str] = set()
    for r in planned_resources(plan):
        if r.type == GATEWAY:
            hosts |= {h for listener in r.values["http_listener"] for h in listener["host_names"]}
            hosts |= {str(probe["host"]) for probe in r.values.get("probe") or []}
    return hosts


def gateway_host_drift(rendered: Rendered, hosts: Iterable[str]) -> list[str]:
    """Gateway host names no rendered Ingress serves (the gateway would answer 404 for them,
    or probe a host the controller does not route, and mark the backend unhealthy)."""
    served = {
        str(rule.get("host"))
        for ingress in rendered.of_kind("Ingress")
        for rule in ingress["spec"].get("rules") or []
    }
    return [
        f"the gateway uses host {host!r}; the Ingress serves {sorted(served)}"
        for host in sorted(set(hosts) - served)
    ]


def controller_addresses(rendered: Rendered) -> dict[str, str]:
    """IngressClass -> the internal load-balancer address its rendered controller takes."""
    addresses = {}
    for controller in rendered.of_kind("NginxIngressController"):
        annotations = controller["spec"].get("loadBalancerAnnotations") or {}
        if (
            annotations.get(INTERNAL_LOAD_BALANCER) == "true"
            and LOAD_BALANCER_ADDRESS in annotations
        ):
            addresses[str(controller["spec"]["ingressClassName"])] = str(
                annotations[LOAD_BALANCER_ADDRESS]
            )
    return addresses


def ingress_address_drift(rendered: Rendered, backends: Iterable[str]) -> list[str]:
    """Ingresses whose controller does not sit at exactly the address the gateway forwards to,
    or that a controller pins where no gateway forwards."""
    backends = set(backends)
    addresses = controller_addresses(rendered)
    problems = []
    for ingress in rendered.of_kind("Ingress"):
        name, cls = ingress["metadata"]["name"], ingress["spec"].get("ingressClassName")
        taken = addresses.get(str(cls))
        if taken is None and backends:
            problems.append(
                f"Ingress {name}: the gateway forwards to {sorted(backends)}, but no controller "
                f"of class {cls!r} takes that address"
            )
        elif taken is not None and backends != {taken}:
            problems.append(
                f"Ingress {name}: its controller takes {taken}, but the gateway forwards to "
                f"{sorted(backends) or 'nothing (there is no gateway)'}"
            )
    return problems


# --- cert-manager release <-> the umbrella's Issuers and Certificates ----------------------------

CERT_MANAGER_KINDS = ("Issuer", "Certificate")


def _granted_namespaces(platform: Rendered, account: tuple[str, str]) -> set[str]:
    """Namespaces where a RoleBinding gives `account` (namespace, name) a Role over
    cert-manager.io Certificates."""
    roles = {
        (role["metadata"]["namespace"], role["metadata"]["name"])
        for role in platform.of_kind("Role")
        for rule in role["rules"]
        if "cert-manager.io" in rule["apiGroups"] and "certificates" in rule["resources"]
    }
    return {
        binding["metadata"]["namespace"]
        for binding in platform.of_kind("RoleBinding")
        if (binding["metadata"]["namespace"], binding["roleRef"]["name"]) in roles
        and any(
            (subject.get("namespace"), subject["name"]) == account
            for subject in binding["subjects"]
        )
    }


def unserved_certificates(rendered: Rendered, platform: Rendered) -> list[str]:
    """Issuers and Certificates of the umbrella that the cert-manager release does not serve:
    outside its controller's `--namespace`, or where its ServiceAccount holds no Role."""
    (controller,) = platform.of_kind("Deployment")
    (container,) = pod_spec(controller)["containers"]
    flags = dict(arg.removeprefix("--").partition("=")[::2] for arg in container["args"])
    served = flags.get("namespace", "")
    account = (controller["metadata"]["namespace"], pod_spec(controller)["serviceAccountName"])
    granted = _granted_namespaces(platform, account)
    problems = [] if served in granted else [f"the controller's Role does not cover {served!r}"]
    objects = [d for kind in CERT_MANAGER_KINDS for d in rendered.of_kind(kind)]
    if not objects:
        problems.append("the render has no Issuer or Certificate")
    for doc in objects:
        namespace = doc["metadata"].get("namespace")
        if namespace != served:
            name = doc["metadata"]["name"]
            problems.append(
                f"{doc['kind']} {name} is in {namespace!r}; cert-manager serves {served!r}"
            )
    return problems


# --- the ingress certificate: Ingress <-> the routing add-on's grant <-> Application Gateway ----

KEYVAULT_CERTIFICATE = "kubernetes.azure.com/tls-cert-keyvault-uri"
CERTIFICATE_NAME_OUTPUT = "ingress_certificate_name"
CERTIFICATE_URI_OUTPUT = "ingress_certificate_uri"
SECRETS_USER = "Key Vault Secrets User"
ADD_ON_GRANT = 'module.key_vault.azurerm_role_assignment.ingress_certificate_readers["app_routing"]'
GATEWAY_GRANT = "module.ingress_gateway[0].azurerm_role_assignment.certificate_reader"
SELF_SIGNED = "azurerm_key_vault_certificate"


def certificate_drift(
    rendered: Rendered, plan: dict[str, Any], outputs: dict[str, Any]
) -> list[str]:
    """Where the certificate each Ingress names differs from the one Terraform grants the
    routing add-on (and, with a gateway, the one the gateway serves and is granted): one
    Key Vault certificate, by its versionless secret URI, read through its secret only."""
    name = str(outputs[CERTIFICATE_NAME_OUTPUT]["value"])
    uri = str(outputs[CERTIFICATE_URI_OUTPUT]["value"])
    secret = f"/secrets/{name}"
    problems = [] if uri.endswith(secret) else [f"{CERTIFICATE_URI_OUTPUT} {uri!r} is not {name}'s"]
    ingresses = rendered.of_kind("Ingress")
    if not ingresses:
        problems.append("the render has no Ingress")
    for ingress in ingresses:
        ingress_name = ingress["metadata"]["name"]
        named = (ingress["metadata"].get("annotations") or {}).get(KEYVAULT_CERTIFICATE)
        if named != uri:
            problems.append(
                f"Ingress {ingress_name} names certificate {named!r}; Terraform grants {uri!r}"
            )
        served = sorted(str(tls["secretName"]) for tls in ingress["spec"].get("tls") or [])
        if served != [f"keyvault-{ingress_name}"]:
            problems.append(
                f"Ingress {ingress_name} serves Secrets {served}; "
                f"the add-on writes keyvault-{ingress_name}"
            )
    resources = planned_resources(plan)
    grants = {r.address: r.values for r in resources if r.type == "azurerm_role_assignment"}
    gateways = [r.values for r in resources if r.type == GATEWAY]
    for address in [ADD_ON_GRANT, *([GATEWAY_GRANT] if gateways else [])]:
        grant = grants.get(address)
        if grant is None or grant.get("role_definition_name") != SECRETS_USER:
            problems.append(f"the plan has no {SECRETS_USER} grant {address}")
        elif isinstance(grant.get("scope"), str) and not grant["scope"].endswith(secret):
            problems.append(f"{address} grants {grant['scope']!r}, not the secret of {name!r}")
    for gateway in gateways:
        for certificate in gateway.get("ssl_certificate") or []:
            known = certificate.get("key_vault_secret_id")
            if certificate["name"] != name or known not in (None, uri):
                problems.append(
                    f"the gateway serves {certificate['name']!r} ({known}), not {uri!r}"
                )
    hosts = {str(r.get("host")) for i in ingresses for r in i["spec"].get("rules") or []}
    for issued in (r.values for r in resources if r.type == SELF_SIGNED):
        (policy,) = issued["certificate_policy"]
        (x509,) = policy["x509_certificate_properties"]
        dns_names = {n for alt in x509["subject_alternative_names"] for n in alt["dns_names"]}
        if issued["name"] != name or not hosts <= dns_names:
            problems.append(
                f"Key Vault issues {issued['name']!r} for {sorted(dns_names)}; "
                f"the Ingress serves {sorted(hosts)} with {name!r}"
            )
    return problems


# --- gitops HelmRelease <-> Terraform's Flux substitutions ----------------------------------------

FLUX_CONFIGURATION = "azurerm_kubernetes_flux_configuration"
FLUX_VARIABLE = re.compile(r"\$\{([_a-zA-Z][_a-zA-Z0-9]*)\}")
"""A Flux post-build substitution, `${name}` (Flux's own rule for names)."""
GITOPS_RELEASE_KIND = "HelmRelease"
GITOPS_CHART_KIND = "OCIRepository"
PRUNE_ANNOTATION = "kustomize.toolkit.fluxcd.io/prune"
"""kustomize-controller leaves an object so annotated in place when it leaves the build."""
PRUNE_DISABLED = "disabled"


def flux_configuration(plan: dict[str, Any]) -> dict[str, Any] | None:
    """The environment's planned Flux configuration's values, or None in push mode."""
    found = [r.values for r in planned_resources(plan) if r.type == FLUX_CONFIGURATION]
    if len(found) > 1:
        raise ValueError(f"{len(found)} Flux configurations planned, one expected")
    return found[0] if found else None


def flux_substitutions(plan: dict[str, Any]) -> dict[str, str | None]:
    """Name -> value of every substitution the planned kustomization passes; None where the value
    is known only after apply (its name is known at plan time either way)."""
    (change,) = [
        c["change"]
        for c in plan.get("resource_changes", [])
        if c.get("type") == FLUX_CONFIGURATION and "delete" not in c["change"]["actions"]
    ]
    ((known, unknown),) = [
        (
            (kustomization.get("post_build") or [{}])[0].get("substitute") or {},
            (unknown_kustomization.get("post_build") or [{}])[0].get("substitute") or {},
        )
        for kustomization, unknown_kustomization in zip(
            change["after"]["kustomizations"],
            change.get("after_unknown", {}).get("kustomizations") or [{}],
            strict=False,
        )
    ]
    return {name: known.get(name) for name in sorted(set(known) | set(unknown))}


def gitops_variables(node: Any) -> set[str]:
    """Every `${name}` in the strings of a manifest (keys and values, at any depth)."""
    if isinstance(node, dict):
        return set().union(*(gitops_variables(k) | gitops_variables(v) for k, v in node.items()))
    if isinstance(node, list):
        return set().union(*(gitops_variables(item) for item in node))
    return set(FLUX_VARIABLE.findall(node)) if isinstance(node, str) else set()


def substituted(node: Any, values: dict[str, str | None]) -> Any:
    """`node` with every `${name}` of a known value replaced, as Flux does after the build."""
    if isinstance(node, dict):
        return {substituted(k, values): substituted(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [substituted(item, values) for item in node]
    if isinstance(node, str):
        return FLUX_VARIABLE.sub(lambda m: values.get(m[1]) or m[0], node)
    return node


def _at(values: Any, path: str) -> Any:
    """The value at dotted `path` of nested `values`, None where any key is missing."""
    for key in path.split("."):
        values = values.get(key) if isinstance(values, dict) else None
    return values


def _leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted path -> leaf of a nested mapping."""
    leaves: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            leaves.update(_leaves(value, f"{path}."))
        else:
            leaves[path] = value
    return leaves


@dataclass(frozen=True)
class DeliveredRelease:
    """One release the deploy stage installs, as a HelmRelease of the folder must deliver it: its
    release name and namespace, its chart's url before substitution, and the values the push
    deploy generates for it from the contract."""

    name: str
    namespace: str
    chart_url: str
    contract_values: dict[str, Any]


Pair = tuple[dict[str, Any], dict[str, Any]]  # a built document before and after substitution


def _named(pairs: list[Pair], kind: str, name: Any) -> Pair | None:
    """The document of `kind` named `name` after substitution, with its unsubstituted self."""
    found = [
        (raw, done)
        for raw, done in pairs
        if done.get("kind") == kind and done.get("metadata", {}).get("name") == name
    ]
    return found[0] if found else None


def _delivery_drift(
    where: str, release: dict[str, Any], source: Pair | None, wanted: DeliveredRelease, flux: str
) -> list[str]:
    """A HelmRelease's release, namespaces and chart source (`source`, the OCIRepository its
    chartRef names, None where the folder has none) against what the deploy stage installs;
    `flux`: the configuration's namespace, where every source and release lives."""
    spec = release.get("spec", {})
    reference = spec.get("chartRef", {})
    expected: dict[str, tuple[Any, Any]] = {
        "releaseName": (spec.get("releaseName"), wanted.name),
        "targetNamespace": (spec.get("targetNamespace"), wanted.namespace),
        "storageNamespace": (spec.get("storageNamespace"), wanted.namespace),
    }
    problems = []
    if source is None:
        problems.append(
            f"{where}: chartRef is {reference!r}, which names no {GITOPS_CHART_KIND} of the folder"
        )
    else:
        unsubstituted, chart = source
        chart_source = {"kind": GITOPS_CHART_KIND, "name": chart["metadata"]["name"]}
        expected |= {
            "chartRef": (reference, {**chart_source, "namespace": flux}),
            "the chart source's namespace": (chart["metadata"].get("namespace"), flux),
            "the chart's url": (unsubstituted.get("spec", {}).get("url"), wanted.chart_url),
            "the chart's provider": (chart.get("spec", {}).get("provider"), "azure"),
        }
    return problems + [
        f"{where}: {field} is {found!r}, expected {want!r}"
        for field, (found, want) in expected.items()
        if found != want
    ]


def _contract_value_drift(where: str, values: Any, contract_values: dict[str, Any]) -> list[str]:
    """Contract values (dotted path -> value) the substituted `values` do not hold."""
    return [
        f"{where}: {path} is {_at(values, path)!r}, the contract says {wanted!r}"
        for path, wanted in sorted(_leaves(contract_values).items())
        if _at(values, path) != wanted
    ]


def _chart_source(pairs: list[Pair], release: dict[str, Any]) -> Pair | None:
    """The OCIRepository a HelmRelease's chartRef names, if the folder builds it."""
    return _named(pairs, GITOPS_CHART_KIND, release.get("spec", {}).get("chartRef", {}).get("name"))


def _values_from_drift(
    where: str, release: dict[str, Any], pairs: list[Pair], environment_values: str
) -> list[str]:
    """The values documents a HelmRelease's valuesFrom reads from the build's ConfigMaps,
    against exactly the environment's values file (its text)."""
    maps = {done["metadata"]["name"]: done for _, done in pairs if done.get("kind") == "ConfigMap"}
    given = [
        maps.get(source.get("name"), {}).get("data", {}).get(source.get("valuesKey"))
        for source in release.get("spec", {}).get("valuesFrom", [])
    ]
    if given == [environment_values]:
        return []
    return [f"{where}: valuesFrom is {given!r}, expected {[environment_values]!r}"]


def _dependency_drift(where: str, release: dict[str, Any], first: dict[str, Any]) -> list[str]:
    """A HelmRelease's dependsOn against exactly the release Flux must install `first` (a
    dependency's namespace defaults to the HelmRelease's own)."""
    own = release["metadata"].get("namespace")
    depends = [
        {"name": dependency.get("name"), "namespace": dependency.get("namespace", own)}
        for dependency in release.get("spec", {}).get("dependsOn") or []
    ]
    wanted = [{key: first["metadata"].get(key) for key in ("name", "namespace")}]
    return [] if depends == wanted else [f"{where}: dependsOn is {depends!r}, expected {wanted!r}"]


def _output_value_drift(
    where: str,
    env: str,
    values: Any,
    passed: dict[str, str | None],
    output_values: dict[str, tuple[str, ...]],
) -> list[str]:
    """Chart paths of Terraform values (`output_values`) that the unsubstituted `values` do not
    fill with their substitution, or fill where Terraform passes none."""
    problems = []
    for name, paths in sorted(output_values.items()):
        for path in paths:
            found = _at(values, path)
            if name in passed and found != f"${{{name}}}":
                problems.append(f"{where}: {path} is {found!r}, not the substitution ${{{name}}}")
            elif name not in passed and found is not None:
                problems.append(f"{where}: {path} is {found!r}, but {env} has no {name}")
    return problems


def _pruned(where: str, documents: dict[str, dict[str, Any]]) -> list[str]:
    """Documents (by what they are) kustomize-controller would delete once they leave the build:
    a platform release, and every Certificate it serves, must outlive a revert."""
    problems = []
    for what, document in documents.items():
        found = (document["metadata"].get("annotations") or {}).get(PRUNE_ANNOTATION)
        if found != PRUNE_DISABLED:
            problems.append(
                f"{where}: {what}'s annotation {PRUNE_ANNOTATION} is {found!r}, expected "
                f"{PRUNE_DISABLED!r}"
            )
    return problems


def gitops_release_drift(
    documents: list[dict[str, Any]],
    plan: dict[str, Any],
    env: str,
    *,
    workloads: DeliveredRelease,
    platform: DeliveredRelease,
    environment_values: str,
    output_values: dict[str, tuple[str, ...]],
) -> list[str]:
    """How gitops/<env>, as kustomize builds it, disagrees with what Terraform passes Flux and
    with what the deploy stage would install: the `${name}`s it uses against the planned
    substitutions (both ways); its HelmReleases, exactly the umbrella's (`workloads`) and
    cert-manager's (`platform`), each found by its name after substitution, with its release,
    namespaces and chart (the OCIRepository its chartRef names, at the release's chart url
    before substitution, pulled with the Azure identity); the umbrella's values (one ConfigMap
    holding `environment_values`, the text of the file push mode passes), each Terraform value
    at the chart path the pipeline's table gives it, the contract's names, and its dependsOn,
    exactly cert-manager's release; cert-manager's contract values, and it and its chart source
    kept when they leave the build. `output_values`: substitution name -> the chart value paths
    it fills (OUTPUT_VALUES, and an object output's attribute as <output>_<attribute>)."""
    where = f"gitops/{env}"
    configuration = flux_configuration(plan)
    if configuration is None:
        return [f"{where} has a HelmRelease, but {env} plans no Flux configuration"]
    flux = configuration["namespace"]
    passed = flux_substitutions(plan)
    used = gitops_variables(documents)
    problems = [
        *(
            f"{where} uses ${{{name}}}, which Terraform does not pass"
            for name in sorted(used - set(passed))
        ),
        *(
            f"Terraform passes {name}, which {where} does not use"
            for name in sorted(set(passed) - used)
        ),
    ]
    pairs = [(document, substituted(document, passed)) for document in documents]
    wanted = (platform.name, workloads.name)
    problems += [
        f"{where} builds {GITOPS_RELEASE_KIND} {done['metadata'].get('name')!r}, which the "
        "deploy stage does not install"
        for _, done in pairs
        if done.get("kind") == GITOPS_RELEASE_KIND and done["metadata"].get("name") not in wanted
    ]
    cert_manager = _named(pairs, GITOPS_RELEASE_KIND, platform.name)
    umbrella = _named(pairs, GITOPS_RELEASE_KIND, workloads.name)
    problems += [
        f"{where} builds no {GITOPS_RELEASE_KIND} {name!r}"
        for name, found in zip(wanted, (cert_manager, umbrella), strict=True)
        if found is None
    ]
    if umbrella is not None:
        declared, release = umbrella
        values = release.get("spec", {}).get("values", {})
        problems += _delivery_drift(where, release, _chart_source(pairs, release), workloads, flux)
        problems += _values_from_drift(where, release, pairs, environment_values)
        if cert_manager is not None:
            problems += _dependency_drift(where, release, cert_manager[1])
        unsubstituted = declared.get("spec", {}).get("values", {})
        problems += _output_value_drift(where, env, unsubstituted, passed, output_values)
        problems += _contract_value_drift(where, values, workloads.contract_values)
    if cert_manager is not None:
        _, release = cert_manager
        values = release.get("spec", {}).get("values", {})
        named = f"{where} {GITOPS_RELEASE_KIND} {platform.name}"
        source = _chart_source(pairs, release)
        problems += _delivery_drift(named, release, source, platform, flux)
        problems += _contract_value_drift(named, values, platform.contract_values)
        kept = {"the release": release, **({"the chart source": source[1]} if source else {})}
        problems += _pruned(named, kept)
    return problems


def substitution_output_drift(
    plan: dict[str, Any], outputs: dict[str, tuple[str, str | None]]
) -> list[str]:
    """Substitutions that carry another value than the Terraform output they stand for (where
    the plan knows both): the two delivery modes must hand the chart the same values.
    `outputs`: substitution name -> (output, attribute of an object output or None)."""
    passed = flux_substitutions(plan)
    problems = []
    for name, (output, attribute) in sorted(outputs.items()):
        change = plan["output_changes"].get(output, {})
        if name not in passed or passed[name] is None or change.get("after_unknown") is True:
            continue
        value = change.get("after")
        if attribute is not None:
            value = value.get(attribute) if isinstance(value, dict) else None
        if value != passed[name]:
            shown = output if attribute is None else f"{output}.{attribute}"
            problems.append(
                f"substitution {name} = {passed[name]!r}, but output {shown} = {value!r}"
            )
    return problems
