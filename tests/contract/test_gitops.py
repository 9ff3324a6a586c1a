"""GitOps delivery: each gitops/<env> HelmRelease against the Flux configuration Terraform plans.

Staging and prod are delivered by Flux (iac/modules/gitops): the AKS Flux extension builds
gitops/<env> with kustomize and substitutes what Terraform passes (post_build.substitute) into
it. The build must install what the deploy stage would, release by release in its order:
cert-manager (gitops/<env>/cert-manager), then the umbrella, which depends on it. Each is the
contract's release into its namespace, from the chart publish pushes to the environment's
registry, with the values the push deploy generates from the contract; the umbrella with the
environment's values file (as a ConfigMap) and every Terraform value at the chart path the
pipeline's own table (OUTPUT_VALUES) gives it; cert-manager kept when it leaves the tree. The
folder must use exactly the substitutions Terraform passes, no fewer and no more; rendered as
Flux would install them, its releases render what the deploy stage's push renders, images
aside. After the per-environment checks come the broken cases, one per part of the relation.
"""

from __future__ import annotations

import copy
import dataclasses
import graphlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.core import contract
from pipelines.core.charts import CERT_MANAGER, CHART_REPOSITORY, CHARTS, UMBRELLA
from pipelines.stages.deploy import install_args, values_files
from pipelines.targets import azure_gitops, local_gitops
from pipelines.targets.gitops_delivery import Channel
from pipelines.targets.terraform_outputs import (
    OPTIONAL_OUTPUT_VALUES,
    OUTPUT_VALUES,
    REGISTRY_OUTPUT,
)
from tests.contract import relations
from tests.contract.capabilities import capabilities
from tests.contract.conftest import ENVIRONMENTS
from tests.contract.deployment import Deployment, outputs_document, planned_releases
from tests.helm.rendering import Renderer
from tests.support.gitops_build import (
    CERT_MANAGER_RELEASE,
    UMBRELLA_RELEASE,
    Built,
    build,
    repository_folder,
    values_from,
)
from tests.support.tools import REPO_ROOT

pytestmark = pytest.mark.slow

GITOPS = REPO_ROOT / "gitops"
LOCAL_FOLDER = local_gitops.FOLDER.name
"""The local target's folder, which its own Flux configuration reconciles (test_local_gitops)."""
GITOPS_ENVIRONMENTS = tuple(
    sorted(p.name for p in GITOPS.iterdir() if p.is_dir() and p.name != LOCAL_FOLDER)
)
"""The Azure environments gitops/ has a folder for."""
CHART = Path(".") / CHARTS / UMBRELLA
"""The umbrella chart, as a path in the repository (what publish packages and pushes)."""
RELEASES = (CERT_MANAGER_RELEASE, UMBRELLA_RELEASE)
"""The folder's HelmReleases, by their names before substitution, in install order."""
BROKEN_ENV = "prod"
"""The environment the broken cases start from (it has every optional substitution)."""


def chart_url(chart: str) -> str:
    """Where publish --target azure pushes `chart`: the registry output, the charts' path."""
    return f"oci://${{{REGISTRY_OUTPUT}}}/{CHART_REPOSITORY}/{chart}"


def substitution_paths() -> dict[str, tuple[str, ...]]:
    """Substitution name -> the chart value paths it fills: the deploy stage's table of outputs,
    an object output's attribute named <output>_<attribute>."""
    optional = {f"{name}_{attr}": paths for (name, attr), paths in OPTIONAL_OUTPUT_VALUES.items()}
    return {**OUTPUT_VALUES, **optional}


def substituted_outputs() -> dict[str, tuple[str, str | None]]:
    """Substitution name -> the Terraform output (and attribute) it stands for."""
    optional = {f"{name}_{attr}": (name, attr) for name, attr in OPTIONAL_OUTPUT_VALUES}
    return {**{name: (name, None) for name in OUTPUT_VALUES}, **optional}


def environment_values(env: str) -> str:
    """The text of the environment's values file, which push mode passes to helm."""
    (path,) = values_files(REPO_ROOT / CHART, env, [])
    return path.read_text(encoding="utf-8")


def built(env: str) -> Built:
    """gitops/<env> as kustomize-controller builds it."""
    return build(repository_folder(env))


def drift(documents: list[dict[str, Any]], plan: dict[str, Any], env: str) -> list[str]:
    """gitops_release_drift with every expectation from its source."""
    names = contract.load()
    return relations.gitops_release_drift(
        documents,
        plan,
        env,
        workloads=relations.DeliveredRelease(
            names.release, names.namespace, chart_url(UMBRELLA), contract.chart_values(names)
        ),
        platform=relations.DeliveredRelease(
            names.cert_manager["release"],
            names.cert_manager["namespace"],
            chart_url(CERT_MANAGER),
            contract.cert_manager_values(names),
        ),
        environment_values=environment_values(env),
        output_values=substitution_paths(),
    )


def test_gitops_folders_are_exactly_the_flux_environments(
    plans: dict[str, dict[str, Any]],
) -> None:
    """A flux environment without its folder reconciles nothing; a folder without a flux
    environment is never applied."""
    flux = {env for env in ENVIRONMENTS if relations.flux_configuration(plans[env]) is not None}
    assert flux, "no environment plans a Flux configuration"
    assert set(GITOPS_ENVIRONMENTS) == flux


@pytest.mark.parametrize("env", GITOPS_ENVIRONMENTS)
def test_the_folder_builds_what_the_deploy_stage_would_install(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    assert drift(list(built(env).documents), plans[env], env) == []


@pytest.mark.parametrize("env", GITOPS_ENVIRONMENTS)
def test_each_substitution_is_the_output_of_its_name(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    """Push (the outputs) and Flux (the substitutions) hand the chart the same values."""
    passed = relations.flux_substitutions(plans[env])
    assert set(substitution_paths()) & set(passed), "no chart output is substituted"
    assert relations.substitution_output_drift(plans[env], substituted_outputs()) == []


def resolved(release: dict[str, Any], plan: dict[str, Any], outputs: dict[str, Any]) -> Any:
    """The HelmRelease as Flux applies it: each substitution's planned value, or where Azure
    knows it only after apply, the value the render of the push mode gets for its output."""
    filled: dict[str, str | None] = {}
    for name, planned in relations.flux_substitutions(plan).items():
        output, attribute = substituted_outputs().get(name, (name, None))
        found = outputs.get(output, {}).get("value")
        after_apply = found[attribute] if attribute is not None else found
        filled[name] = planned if planned is not None else after_apply
    return relations.substituted(release, filled)


def flux_render(
    renderer: Renderer,
    folder: Built,
    deployment: Deployment,
    plan: dict[str, Any],
    name: str = UMBRELLA_RELEASE,
) -> list[dict[str, Any]]:
    """`helm template` of the HelmRelease `name` (before substitution) as Flux would install it:
    the chart its OCIRepository pulls (as publish packages it), its release, namespace, the
    valuesFrom ConfigMaps of the build in order, then its values; with the push plan's image
    settings for that chart, which a promotion commit pins by digest instead."""
    declared = folder.named(relations.GITOPS_RELEASE_KIND, name)
    release = resolved(declared, plan, deployment.outputs)
    source = resolved(folder.chart_source(declared), plan, deployment.outputs)
    chart = source["spec"]["url"].rsplit("/", 1)[-1]
    maps = Built(tuple(resolved(d, plan, deployment.outputs) for d in folder.documents))
    spec = release["spec"]
    work = renderer.workdir / "gitops" / deployment.env / chart
    work.mkdir(parents=True, exist_ok=True)
    files = []
    for number, text in enumerate(values_from(release, maps.config_maps())):
        path = work / f"values-from-{number}.yaml"
        path.write_text(text, encoding="utf-8")
        files.append(path)
    values = work / "helmrelease-values.yaml"
    values.write_text(yaml.safe_dump(spec["values"]), encoding="utf-8")
    planned = planned_releases(renderer, plan, deployment.env, work / "push")
    (push,) = [step for step in planned if step.chart.name == chart]
    args = install_args(
        renderer.chart_dir(chart),
        [*files, values],
        push.images,
        release=spec["releaseName"],
        namespace=spec["targetNamespace"],
    )
    output = renderer.run("template", *args, *capabilities(plan).helm_args())
    return [document for document in yaml.safe_load_all(output) if document]


def push_render(deployment: Deployment, name: str) -> list[dict[str, Any]]:
    """The deploy stage's render of the release the HelmRelease `name` delivers."""
    renders = {CERT_MANAGER_RELEASE: deployment.platform, UMBRELLA_RELEASE: deployment.rendered}
    return list(renders[name].docs)


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """`document` without what differs on every render: a Secret's generated values (the chart
    draws Patroni's passwords at random where none exists yet); its keys still count."""
    if document.get("kind") != "Secret":
        return document
    return {**document, "data": dict.fromkeys(document.get("data") or {}, "<generated>")}


def render_differences(push: list[dict[str, Any]], flux: list[dict[str, Any]]) -> list[str]:
    """Objects one delivery mode renders and the other does not, or renders otherwise."""

    def key(document: dict[str, Any]) -> str:
        return f"{document['kind']} {document['metadata']['name']}"

    def how(name: str) -> str:
        return (
            "only push" if name not in fluxed else "only flux" if name not in pushed else "differs"
        )

    pushed, fluxed = ({key(d): comparable(d) for d in docs} for docs in (push, flux))
    return [
        f"{name}: {how(name)}"
        for name in sorted(set(pushed) | set(fluxed))
        if pushed.get(name) != fluxed.get(name)
    ]


@pytest.mark.parametrize("name", RELEASES, ids=[CERT_MANAGER, UMBRELLA])
@pytest.mark.parametrize("env", GITOPS_ENVIRONMENTS)
def test_flux_and_push_render_the_same_release(
    renderer: Renderer,
    deployments: dict[str, Deployment],
    plans: dict[str, dict[str, Any]],
    env: str,
    name: str,
) -> None:
    """Apart from the images (publish's tags in push, promoted digests in flux), both delivery
    modes install the same objects, cert-manager's as the umbrella's."""
    flux = flux_render(renderer, built(env), deployments[env], plans[env], name)
    assert render_differences(push_render(deployments[env], name), flux) == []


CREDENTIALS = {azure_gitops.USER_VARIABLE: "inventory-pipeline", azure_gitops.TOKEN_VARIABLE: "t"}
"""The account Jenkins binds for the deploy stage (its value is never compared)."""


def install_order(releases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """HelmReleases in the order Flux installs them: each after those it dependsOn."""
    by_name = {release["metadata"]["name"]: release for release in releases}
    after = {
        name: {d["name"] for d in release["spec"].get("dependsOn") or []} & set(by_name)
        for name, release in by_name.items()
    }
    return [by_name[name] for name in graphlib.TopologicalSorter(after).static_order()]


def channel_drift(channel: Channel, plan: dict[str, Any], folder: Built) -> list[str]:
    """Where the deploy stage promotes and what it waits for (its channel, from the outputs)
    against what the planned Flux configuration reconciles and what the folder declares: the
    files a promotion edits, and each HelmRelease with its chart source, in install order."""
    configuration = relations.flux_configuration(plan)
    assert configuration is not None
    (source,) = configuration["git_repository"]
    (kustomization,) = configuration["kustomizations"]
    passed = relations.flux_substitutions(plan)
    declared = [
        relations.substituted(document, passed)
        for document in folder.documents
        if document.get("kind") == relations.GITOPS_RELEASE_KIND
    ]
    releases = install_order(declared)
    folder_path = channel.release_file.parent
    listed = yaml.safe_load((REPO_ROOT / folder_path / "kustomization.yaml").read_text("utf-8"))
    release_files, chart_files = channel.release_files(), channel.chart_files()
    edited = [
        path.relative_to(folder_path).as_posix()
        for name, release_file in release_files.items()
        for path in (chart_files.get(name), release_file)
        if path is not None
    ]
    delivered = channel.names.helm_releases()
    pairs = {
        "repository": (channel.repository.url, source["url"]),
        "branch": (channel.branch, source["reference_value"]),
        "folder": (folder_path.as_posix(), kustomization["path"]),
        "files": (edited, listed["resources"]),
        "GitRepository": (channel.names.source, configuration["name"]),
        # AKS names a configuration's kustomization <configuration>-<kustomization>
        "Kustomization": (
            channel.names.kustomization,
            f"{configuration['name']}-{kustomization['name']}",
        ),
        "namespace": (channel.names.namespace, configuration["namespace"]),
        "HelmReleases": (
            [f"{channel.names.namespace}/{name}" for name, _ in delivered],
            [f"{r['metadata']['namespace']}/{r['metadata']['name']}" for r in releases],
        ),
        "chart sources": (
            [chart for _, chart in delivered],
            [r["spec"].get("chartRef", {}).get("name") for r in releases],
        ),
    }
    return [
        f"{what}: the deploy stage uses {ours!r}, Flux has {theirs!r}"
        for what, (ours, theirs) in pairs.items()
        if ours != theirs
    ]


def stage_channel(env: str, plan: dict[str, Any]) -> Channel:
    """The channel the deploy stage reads from the environment's outputs after apply."""
    return azure_gitops.channel(env, outputs_document(plan), CREDENTIALS)


@pytest.mark.parametrize("env", GITOPS_ENVIRONMENTS)
def test_the_deploy_stage_promotes_where_flux_reconciles(
    plans: dict[str, dict[str, Any]], env: str
) -> None:
    plan = plans[env]
    assert azure_gitops.delivery_mode(outputs_document(plan)) == "flux"
    assert channel_drift(stage_channel(env, plan), plan, built(env)) == []


def test_push_environments_are_pushed_by_the_deploy_stage(
    plans: dict[str, dict[str, Any]],
) -> None:
    push = [env for env in ENVIRONMENTS if relations.flux_configuration(plans[env]) is None]
    assert push
    assert {azure_gitops.delivery_mode(outputs_document(plans[env])) for env in push} == {"push"}


def delivery_spec(release: dict[str, Any]) -> dict[str, Any]:
    """How Flux installs, upgrades, remediates and holds a release: its spec without what each
    environment sets for itself (its values)."""
    spec = copy.deepcopy(release["spec"])
    for key in ("values", "valuesFrom"):
        spec.pop(key, None)
    return dict(spec)


def delivery_specs(folder: Built) -> dict[str, dict[str, Any]]:
    """Each HelmRelease's delivery spec, by its name before substitution."""
    return {
        name: delivery_spec(folder.named(relations.GITOPS_RELEASE_KIND, name)) for name in RELEASES
    }


def local_folder() -> Built:
    """gitops/local as the local cluster's kustomize-controller builds it."""
    return build(REPO_ROOT / local_gitops.FOLDER)


@pytest.mark.parametrize("env", GITOPS_ENVIRONMENTS)
def test_azure_releases_are_delivered_as_the_local_one_the_smoke_suite_proves(env: str) -> None:
    """Drift detection, timeouts, remediation and the order of the releases are proved end to
    end on the local cluster only; an environment that differs there would run what no test
    ran."""
    assert delivery_specs(built(env)) == delivery_specs(local_folder())


# --- broken cases: each part of the relation reports what is wrong ------------------------------


@dataclass
class Broken:
    """prod's built folder, to break one part of."""

    folder: Built

    @property
    def documents(self) -> list[dict[str, Any]]:
        return list(self.folder.documents)

    @property
    def release(self) -> dict[str, Any]:
        return self.folder.named(relations.GITOPS_RELEASE_KIND, UMBRELLA_RELEASE)

    @property
    def chart(self) -> dict[str, Any]:
        return self.folder.chart_source(self.release)

    @property
    def cert_manager(self) -> dict[str, Any]:
        return self.folder.named(relations.GITOPS_RELEASE_KIND, CERT_MANAGER_RELEASE)

    @property
    def cert_manager_chart(self) -> dict[str, Any]:
        return self.folder.chart_source(self.cert_manager)

    def values_map(self) -> dict[str, Any]:
        (source,) = self.release["spec"]["valuesFrom"]
        return self.folder.config_maps()[source["name"]]


def _broken() -> Broken:
    return Broken(copy.deepcopy(built(BROKEN_ENV)))


def test_a_variable_terraform_does_not_pass_is_reported(plans: dict[str, dict[str, Any]]) -> None:
    broken = _broken()
    broken.release["spec"]["values"]["inventory-api"]["image"]["tag"] = "${image_tag}"
    assert drift(broken.documents, plans[BROKEN_ENV], BROKEN_ENV) == [
        f"gitops/{BROKEN_ENV} uses ${{image_tag}}, which Terraform does not pass"
    ]


def test_a_substitution_the_release_drops_is_reported(plans: dict[str, dict[str, Any]]) -> None:
    broken = _broken()
    del broken.release["spec"]["values"]["postgresql"]["backup"]["repo2"]
    problems = drift(broken.documents, plans[BROKEN_ENV], BROKEN_ENV)
    for name in ("backup_repo2_identity_client_id", "backup_repo2_storage_account_name"):
        assert f"Terraform passes {name}, which gitops/{BROKEN_ENV} does not use" in problems
    assert (
        f"gitops/{BROKEN_ENV}: postgresql.backup.repo2.clientId is None, not the substitution "
        "${backup_repo2_identity_client_id}"
    ) in problems


def test_a_substitution_terraform_drops_is_reported(plans: dict[str, dict[str, Any]]) -> None:
    """prod's plan without the internal ingress address (as if the gateway were gone)."""
    plan = copy.deepcopy(plans[BROKEN_ENV])
    for change in plan["resource_changes"]:
        if change["type"] == relations.FLUX_CONFIGURATION:
            (kustomization,) = change["change"]["after"]["kustomizations"]
            del kustomization["post_build"][0]["substitute"]["ingress_private_ip"]
    problems = drift(list(built(BROKEN_ENV).documents), plan, BROKEN_ENV)
    assert problems == [
        f"gitops/{BROKEN_ENV} uses ${{ingress_private_ip}}, which Terraform does not pass",
        f"gitops/{BROKEN_ENV}: inventory-api.ingress.internalLoadBalancer.address is "
        f"'${{ingress_private_ip}}', but {BROKEN_ENV} has no ingress_private_ip",
    ]


def test_a_hand_set_namespace_is_reported(plans: dict[str, dict[str, Any]]) -> None:
    broken = _broken()
    broken.release["spec"]["targetNamespace"] = "inventory-elsewhere"
    assert drift(broken.documents, plans[BROKEN_ENV], BROKEN_ENV) == [
        f"gitops/{BROKEN_ENV}: targetNamespace is 'inventory-elsewhere', expected "
        f"{contract.load().namespace!r}"
    ]


def test_another_environments_values_file_is_reported(plans: dict[str, dict[str, Any]]) -> None:
    broken = _broken()
    broken.values_map()["data"]["values.yaml"] = environment_values("staging")
    assert drift(broken.documents, plans[BROKEN_ENV], BROKEN_ENV) == [
        f"gitops/{BROKEN_ENV}: valuesFrom is {[environment_values('staging')]!r}, expected "
        f"{[environment_values(BROKEN_ENV)]!r}"
    ]


def test_a_chart_from_another_repository_is_reported(plans: dict[str, dict[str, Any]]) -> None:
    broken = _broken()
    elsewhere = chart_url(UMBRELLA).replace(f"/{CHART_REPOSITORY}/", "/helm/")
    broken.chart["spec"]["url"] = elsewhere
    assert drift(broken.documents, plans[BROKEN_ENV], BROKEN_ENV) == [
        f"gitops/{BROKEN_ENV}: the chart's url is {elsewhere!r}, expected {chart_url(UMBRELLA)!r}"
    ]


def test_a_chart_pulled_without_the_azure_identity_is_reported(
    plans: dict[str, dict[str, Any]],
) -> None:
    broken = _broken()
    del broken.chart["spec"]["provider"]
    assert drift(broken.documents, plans[BROKEN_ENV], BROKEN_ENV) == [
        f"gitops/{BROKEN_ENV}: the chart's provider is None, expected 'azure'"
    ]


def test_a_release_of_another_chart_source_is_reported(plans: dict[str, dict[str, Any]]) -> None:
    broken = _broken()
    broken.release["spec"]["chartRef"]["name"] = "podinfo"
    (problem,) = drift(broken.documents, plans[BROKEN_ENV], BROKEN_ENV)
    assert problem.startswith(f"gitops/{BROKEN_ENV}: chartRef is ")
    assert "'name': 'podinfo'" in problem


def test_a_renamed_contract_name_is_reported(plans: dict[str, dict[str, Any]]) -> None:
    broken = _broken()
    broken.release["spec"]["values"]["postgresql"]["fullnameOverride"] = "inventory-db"
    assert drift(broken.documents, plans[BROKEN_ENV], BROKEN_ENV) == [
        f"Terraform passes fullnames_postgresql, which gitops/{BROKEN_ENV} does not use",
        f"gitops/{BROKEN_ENV}: postgresql.fullnameOverride is 'inventory-db', the contract says "
        f"{contract.load().fullnames['postgresql']!r}",
    ]


def test_a_helm_release_for_a_push_environment_is_reported(
    plans: dict[str, dict[str, Any]],
) -> None:
    (push,) = [env for env in ENVIRONMENTS if relations.flux_configuration(plans[env]) is None]
    assert drift(_broken().documents, plans[push], push) == [
        f"gitops/{push} has a HelmRelease, but {push} plans no Flux configuration"
    ]


def test_a_substitution_other_than_its_output_is_reported(
    plans: dict[str, dict[str, Any]],
) -> None:
    plan = copy.deepcopy(plans[BROKEN_ENV])
    for change in plan["resource_changes"]:
        if change["type"] == relations.FLUX_CONFIGURATION:
            (kustomization,) = change["change"]["after"]["kustomizations"]
            kustomization["post_build"][0]["substitute"]["key_vault_name"] = "kv-elsewhere"
    vault = plan["output_changes"]["key_vault_name"]["after"]
    assert relations.substitution_output_drift(plan, substituted_outputs()) == [
        f"substitution key_vault_name = 'kv-elsewhere', but output key_vault_name = {vault!r}"
    ]


def test_a_release_rendering_otherwise_than_push_is_reported(
    renderer: Renderer, deployments: dict[str, Deployment], plans: dict[str, dict[str, Any]]
) -> None:
    """prod's HelmRelease with staging's values file renders other objects than prod's push."""
    broken = _broken()
    broken.values_map()["data"]["values.yaml"] = environment_values("staging")
    flux = flux_render(renderer, broken.folder, deployments[BROKEN_ENV], plans[BROKEN_ENV])
    differences = render_differences(list(deployments[BROKEN_ENV].rendered.docs), flux)
    assert differences
    assert all(d.endswith(("differs", "only push", "only flux")) for d in differences)


def test_a_channel_on_another_branch_is_reported(plans: dict[str, dict[str, Any]]) -> None:
    plan = copy.deepcopy(plans[BROKEN_ENV])
    plan["output_changes"]["flux_delivery"]["after"]["branch"] = "main"
    drift = channel_drift(stage_channel(BROKEN_ENV, plan), plan, built(BROKEN_ENV))
    assert drift == [f"branch: the deploy stage uses 'main', Flux has 'deploy/{BROKEN_ENV}'"]


def test_a_kustomization_named_otherwise_is_reported(plans: dict[str, dict[str, Any]]) -> None:
    plan = copy.deepcopy(plans[BROKEN_ENV])
    for change in plan["resource_changes"]:
        if change["type"] == relations.FLUX_CONFIGURATION:
            change["change"]["after"]["kustomizations"][0]["name"] = "apps"
    drift = channel_drift(stage_channel(BROKEN_ENV, plan), plan, built(BROKEN_ENV))
    release = contract.load().release
    assert drift == [
        f"Kustomization: the deploy stage uses '{release}-workloads', Flux has '{release}-apps'"
    ]


def test_a_channel_without_the_chart_source_is_reported(plans: dict[str, dict[str, Any]]) -> None:
    plan = plans[BROKEN_ENV]
    channel = stage_channel(BROKEN_ENV, plan)
    unpinned = dataclasses.replace(channel, names=dataclasses.replace(channel.names, chart=None))
    drift = channel_drift(unpinned, plan, built(BROKEN_ENV))
    names = contract.load()
    platform = [
        f"{names.cert_manager['release']}/chart.yaml",
        f"{names.cert_manager['release']}/helmrelease.yaml",
    ]
    charts = [f"{names.cert_manager['release']}-chart"]
    assert drift == [
        f"files: the deploy stage uses {[*platform, 'helmrelease.yaml']!r}, Flux has "
        f"{[*platform, 'chart.yaml', 'helmrelease.yaml']!r}",
        f"chart sources: the deploy stage uses {[*charts, None]!r}, Flux has "
        f"{[*charts, f'{names.release}-chart']!r}",
    ]


def test_a_channel_without_the_platform_release_is_reported(
    plans: dict[str, dict[str, Any]],
) -> None:
    """The deploy stage would neither promote cert-manager nor wait for it."""
    plan = plans[BROKEN_ENV]
    channel = stage_channel(BROKEN_ENV, plan)
    alone = dataclasses.replace(channel, names=dataclasses.replace(channel.names, platform=()))
    drift = channel_drift(alone, plan, built(BROKEN_ENV))
    names, flux = contract.load(), channel.names.namespace
    platform = names.cert_manager["release"]
    files = ["chart.yaml", "helmrelease.yaml"]
    charts = [f"{names.release}-chart"]
    assert drift == [
        f"files: the deploy stage uses {files!r}, Flux has "
        f"{[f'{platform}/chart.yaml', f'{platform}/helmrelease.yaml', *files]!r}",
        f"HelmReleases: the deploy stage uses {[f'{flux}/{names.release}']!r}, Flux has "
        f"{[f'{flux}/{platform}', f'{flux}/{names.release}']!r}",
        f"chart sources: the deploy stage uses {charts!r}, Flux has "
        f"{[f'{platform}-chart', *charts]!r}",
    ]


def test_a_release_without_drift_detection_is_reported() -> None:
    broken = _broken()
    del broken.release["spec"]["driftDetection"]
    assert delivery_specs(broken.folder) != delivery_specs(local_folder())


def test_a_cert_manager_release_delivered_otherwise_than_the_local_one_is_reported() -> None:
    broken = _broken()
    broken.cert_manager["spec"]["upgrade"]["remediation"]["retries"] = 0
    assert delivery_specs(broken.folder) != delivery_specs(local_folder())


# --- broken cases of the cert-manager release ---------------------------------------------------

PLATFORM_WHERE = (
    f"gitops/{BROKEN_ENV} {relations.GITOPS_RELEASE_KIND} {contract.load().cert_manager['release']}"
)
"""How the relation names prod's cert-manager HelmRelease."""


def test_a_cert_manager_chart_from_another_repository_is_reported(
    plans: dict[str, dict[str, Any]],
) -> None:
    broken = _broken()
    elsewhere = chart_url(CERT_MANAGER).replace(f"/{CHART_REPOSITORY}/", "/helm/")
    broken.cert_manager_chart["spec"]["url"] = elsewhere
    assert drift(broken.documents, plans[BROKEN_ENV], BROKEN_ENV) == [
        f"{PLATFORM_WHERE}: the chart's url is {elsewhere!r}, expected {chart_url(CERT_MANAGER)!r}"
    ]


def test_a_cert_manager_release_of_the_umbrellas_chart_is_reported(
    plans: dict[str, dict[str, Any]],
) -> None:
    """Its chartRef must name its own OCIRepository: the umbrella's is at another url, and
    pruned with the tree."""
    broken = _broken()
    broken.cert_manager["spec"]["chartRef"]["name"] = broken.release["spec"]["chartRef"]["name"]
    assert drift(broken.documents, plans[BROKEN_ENV], BROKEN_ENV) == [
        f"{PLATFORM_WHERE}: the chart's url is {chart_url(UMBRELLA)!r}, expected "
        f"{chart_url(CERT_MANAGER)!r}",
        f"{PLATFORM_WHERE}: the chart source's annotation {relations.PRUNE_ANNOTATION} is None, "
        f"expected {relations.PRUNE_DISABLED!r}",
    ]


def test_a_cert_manager_release_in_another_namespace_is_reported(
    plans: dict[str, dict[str, Any]],
) -> None:
    """cert-manager installed into the workloads' namespace, its records kept there."""
    broken = _broken()
    spec = broken.cert_manager["spec"]
    spec["targetNamespace"] = spec["storageNamespace"] = "${namespace}"
    names = contract.load()
    assert drift(broken.documents, plans[BROKEN_ENV], BROKEN_ENV) == [
        f"Terraform passes cert_manager_namespace, which gitops/{BROKEN_ENV} does not use",
        *(
            f"{PLATFORM_WHERE}: {field} is {names.namespace!r}, expected "
            f"{names.cert_manager['namespace']!r}"
            for field in ("targetNamespace", "storageNamespace")
        ),
    ]


def test_a_cert_manager_serving_another_namespace_is_reported(
    plans: dict[str, dict[str, Any]],
) -> None:
    broken = _broken()
    broken.cert_manager["spec"]["values"]["servedNamespace"] = "inventory-elsewhere"
    assert drift(broken.documents, plans[BROKEN_ENV], BROKEN_ENV) == [
        f"{PLATFORM_WHERE}: servedNamespace is 'inventory-elsewhere', the contract says "
        f"{contract.load().namespace!r}"
    ]


def test_an_umbrella_release_not_after_cert_manager_is_reported(
    plans: dict[str, dict[str, Any]],
) -> None:
    """Without dependsOn Flux may install the umbrella before the API its Certificates use."""
    broken = _broken()
    del broken.release["spec"]["dependsOn"]
    configuration = relations.flux_configuration(plans[BROKEN_ENV])
    assert configuration is not None
    first = {
        "name": contract.load().cert_manager["release"],
        "namespace": configuration["namespace"],
    }
    assert drift(broken.documents, plans[BROKEN_ENV], BROKEN_ENV) == [
        f"gitops/{BROKEN_ENV}: dependsOn is [], expected {[first]!r}"
    ]


def test_a_cert_manager_release_pruned_with_its_tree_is_reported(
    plans: dict[str, dict[str, Any]],
) -> None:
    """A revert to a tree from before cert-manager was delivered would delete it, and with its
    CRDs every Certificate."""
    broken = _broken()
    for document in (broken.cert_manager, broken.cert_manager_chart):
        del document["metadata"]["annotations"][relations.PRUNE_ANNOTATION]
    assert drift(broken.documents, plans[BROKEN_ENV], BROKEN_ENV) == [
        f"{PLATFORM_WHERE}: {what}'s annotation {relations.PRUNE_ANNOTATION} is None, expected "
        f"{relations.PRUNE_DISABLED!r}"
        for what in ("the release", "the chart source")
    ]


def test_a_cert_manager_release_rendering_otherwise_than_push_is_reported(
    renderer: Renderer, deployments: dict[str, Deployment], plans: dict[str, dict[str, Any]]
) -> None:
    """prod's cert-manager serving another namespace renders other objects than prod's push."""
    broken = _broken()
    broken.cert_manager["spec"]["values"]["servedNamespace"] = "inventory-elsewhere"
    deployment = deployments[BROKEN_ENV]
    flux = flux_render(renderer, broken.folder, deployment, plans[BROKEN_ENV], CERT_MANAGER_RELEASE)
    differences = render_differences(push_render(deployment, CERT_MANAGER_RELEASE), flux)
    assert differences
    assert all(d.endswith(("differs", "only push", "only flux")) for d in differences)
