"""The azurerm build keeps exactly the services the IaC's types need and the clients their code
reaches; a fixture module tree shows each rule, the pinned source shows the real choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.toolchain import provider_subset
from tools.toolchain.catalog import PROVIDERS
from tools.toolchain.gobuild import module_source
from tools.toolchain.paths import IAC_DIR, Layout
from tools.toolchain.process import ToolchainError

MODULE = provider_subset.MODULE
SERVICES = f"{MODULE}/internal/services"

REGISTRATION = f"""package provider

import (
\t"{MODULE}/internal/sdk"
\t"{SERVICES}/alpha"
\tbeta "{SERVICES}/beta"
)

func SupportedTypedServices() []sdk.TypedServiceRegistration {{
\treturn []sdk.TypedServiceRegistration{{
\t\talpha.Registration{{}},
\t\tbeta.Registration{{}},
\t}}
}}
"""

CLIENTS = f"""package clients

import (
\t"fmt"

\talphaClient "{SERVICES}/alpha/client"
\tbetaClient "{SERVICES}/beta/client"
\tgammaClient "{SERVICES}/gamma/client"
)

type Client struct {{
\tAccount *ResourceManagerAccount

\tAlpha *alphaClient.Client
\tBeta  *betaClient.Client
\tGamma *gammaClient.Client
}}

func (client *Client) Build(o *common.ClientOptions) error {{
\tvar err error
\tif client.Alpha, err = alphaClient.NewClient(o); err != nil {{
\t\treturn fmt.Errorf("building clients for Alpha: %+v", err)
\t}}
\tclient.Beta = betaClient.NewClient(o)
\tif client.Gamma, err = gammaClient.NewClient(o); err != nil {{
\t\treturn fmt.Errorf("building clients for Gamma: %+v", err)
\t}}
\treturn nil
}}
"""


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A provider-shaped module: alpha declares a resource and reaches the Gamma client through
    a helper package; beta declares a data source; the Beta client is named only in a string."""
    root = tmp_path / "provider"
    write(root, "main.go", f'package main\n\nimport "{MODULE}/internal/provider"\n')
    write(root, "internal/provider/services.go", REGISTRATION)
    write(root, "internal/provider/services_gen.go", "package provider\n")
    provider = f'package provider\n\nimport "{MODULE}/internal/clients"\n'
    write(root, "internal/provider/provider.go", provider)
    write(root, "internal/clients/client.go", CLIENTS)
    write(root, "internal/clients/client_gen.go", "package clients\n")
    write(
        root,
        "internal/services/alpha/thing_resource.go",
        f'package alpha\n\nimport "{SERVICES}/alpha/helper"\n\n'
        'func (ThingResource) ResourceType() string {\n\treturn "azurerm_thing"\n}\n\n'
        "func read(meta any) { _ = meta.(*clients.Client).Alpha }\n",
    )
    write(
        root,
        "internal/services/alpha/helper/helper.go",
        "package helper\n\nfunc Use(c *clients.Client) { _ = c.Gamma.Get }\n",
    )
    write(
        root,
        "internal/services/beta/registration.go",
        "package beta\n\nfunc (r Registration) SupportedDataSources() map[string]any {\n"
        '\treturn map[string]any{\n\t\t"azurerm_widget": dataSourceWidget(),\n\t}\n}\n'
        '\nconst note = "see meta.Beta"\n',
    )
    return root


def test_used_types_reads_resources_data_sources_and_ephemeral_resources(tmp_path: Path) -> None:
    write(tmp_path, "a/main.tf", 'resource "azurerm_thing" "x" {}\ndata "azurerm_widget" "y" {}\n')
    write(tmp_path, "b/c.tf", '  ephemeral "azurerm_secret" "z" {}\nresource "random_id" "r" {}\n')
    found = provider_subset.used_types(tmp_path)
    assert found == {"azurerm_thing", "azurerm_widget", "azurerm_secret"}


def test_each_type_maps_to_the_service_registering_it(source: Path) -> None:
    found = provider_subset.declaring_services(source, ["azurerm_thing", "azurerm_widget"])
    assert found == {"azurerm_thing": {"alpha"}, "azurerm_widget": {"beta"}}


def test_a_type_two_services_register_keeps_both(source: Path) -> None:
    """The provider's legacy service still registers some types a current service also does."""
    write(source, "internal/services/legacy/registration.go", '\t\t"azurerm_thing": resource(),\n')
    found = provider_subset.declaring_services(source, ["azurerm_thing"])
    assert found == {"azurerm_thing": {"alpha", "legacy"}}


def test_a_type_no_service_registers_fails_by_name(source: Path) -> None:
    with pytest.raises(ToolchainError, match="declares azurerm_gadget: check the type names"):
        provider_subset.declaring_services(source, ["azurerm_thing", "azurerm_gadget"])


def test_registrations_keep_only_the_chosen_services_and_their_imports() -> None:
    trimmed = provider_subset.trim_registrations(REGISTRATION, frozenset({"alpha"}))
    assert "alpha.Registration{}" in trimmed
    assert f'"{SERVICES}/alpha"' in trimmed
    assert "beta" not in trimmed
    assert f'"{MODULE}/internal/sdk"' in trimmed  # still used


def test_clients_left_out_lose_their_field_build_block_and_import() -> None:
    candidates = frozenset({"Alpha", "Beta", "Gamma"})
    trimmed = provider_subset.trim_clients(CLIENTS, frozenset({"Beta"}), candidates)
    assert "Beta  *betaClient.Client" in trimmed
    assert "client.Beta = betaClient.NewClient(o)" in trimmed
    assert "Account *ResourceManagerAccount" in trimmed  # not a service client: always kept
    for gone in ("Alpha", "alphaClient", "Gamma", "gammaClient"):
        assert gone not in trimmed
    assert '"fmt"' not in trimmed  # only the dropped blocks used it
    assert trimmed.count("{") == trimmed.count("}")


def test_the_choice_follows_the_code_the_kept_services_compile(source: Path) -> None:
    """alpha reaches Alpha directly and Gamma through its helper; Beta is only a string."""
    subset, files = provider_subset.choose(source, ["azurerm_thing"])
    assert subset.services == {"alpha"}
    assert subset.clients == {"Alpha", "Gamma"}
    assert (subset.all_services, subset.all_clients) == (2, 3)
    assert "beta" not in files["internal/provider/services.go"]
    assert "Beta" not in files["internal/clients/client.go"]


def test_prepare_replaces_the_provider_with_the_trimmed_copy(source: Path, tmp_path: Path) -> None:
    iac = tmp_path / "iac"
    write(iac, "main.tf", 'data "azurerm_widget" "w" {}\n')
    tool = next(p.build for p in PROVIDERS if p.build.iac_services_only)
    work = tmp_path / "work"
    subset = provider_subset.prepare(tool, source, iac, work)
    assert subset.services == {"beta"}
    assert f"replace {tool.module} => ./provider" in (work / "go.mod").read_text(encoding="utf-8")
    copied = (work / "provider" / "internal/provider/services.go").read_text(encoding="utf-8")
    assert "alpha" not in copied
    assert (source / "internal/provider/services.go").read_text(encoding="utf-8") == REGISTRATION


def test_the_inputs_change_with_the_types_the_iac_declares(tmp_path: Path) -> None:
    write(tmp_path, "main.tf", 'resource "azurerm_thing" "x" {}\n')
    before = provider_subset.inputs(tmp_path)
    write(tmp_path, "more.tf", 'resource "azurerm_widget" "y" {}\n')
    assert provider_subset.inputs(tmp_path) != before


@pytest.fixture(scope="module")
def pinned_source() -> Path:
    tool = next(p.build for p in PROVIDERS if p.build.iac_services_only)
    return module_source(tool.module, tool.module_version, Layout.default())


def test_the_pinned_source_yields_the_services_of_the_iac(pinned_source: Path) -> None:
    types = provider_subset.used_types(IAC_DIR)
    subset, _ = provider_subset.choose(pinned_source, types)
    assert {"containers", "network", "keyvault", "monitor", "storage"} <= subset.services
    assert len(subset.services) < subset.all_services / 4


def test_a_type_the_iac_adds_brings_its_service(pinned_source: Path) -> None:
    types = provider_subset.used_types(IAC_DIR) | {"azurerm_redis_cache"}
    subset, _ = provider_subset.choose(pinned_source, types)
    assert "redis" in subset.services
    assert "Redis" in subset.clients
