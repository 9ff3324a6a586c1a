"""An Azure environment's GitOps channel from its Terraform outputs, and what is refused.

The outputs the relation checks against a real plan are in tests/contract/test_gitops.py; here
each missing part fails with what to fix, and the account goes to git only as a header.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.core import contract
from pipelines.targets import azure_gitops
from pipelines.targets.azure_gitops import TOKEN_VARIABLE, USER_VARIABLE, ChannelUnknown

URL = "https://github.com/example-org/inventory-platform"
CREDENTIALS = {USER_VARIABLE: "inventory-pipeline", TOKEN_VARIABLE: "s3cret-token"}


def outputs(**overrides: Any) -> dict[str, Any]:
    values = {
        "delivery_mode": "flux",
        "flux_configuration_name": "inventory-platform",
        "flux_delivery": {
            "repository_url": URL,
            "branch": "deploy/staging",
            "path": "gitops/staging",
            "namespace": "flux-system",
        },
        **overrides,
    }
    return {name: {"value": value, "sensitive": False} for name, value in values.items()}


def test_a_flux_environment_promotes_to_its_branch_and_folder() -> None:
    channel = azure_gitops.channel("staging", outputs(), CREDENTIALS)
    assert (channel.repository.url, channel.branch) == (URL, "deploy/staging")
    assert channel.release_file == Path("gitops/staging/helmrelease.yaml")
    assert channel.names.kustomization == "inventory-platform-workloads"
    assert channel.names.release == contract.load().release
    assert channel.configuration == (), "on AKS Terraform makes the configuration"


def test_the_token_reaches_git_only_as_a_header() -> None:
    env = azure_gitops.channel("staging", outputs(), CREDENTIALS).repository.env()
    carrying = [key for key, value in env.items() if "s3cret-token" in value]
    assert carrying == []  # base64 in the header, never in plain text
    assert env["GIT_CONFIG_VALUE_0"].startswith("Authorization: Basic ")
    assert "GIT_SSL_CAINFO" not in env, "a public host is trusted by the system store"
    assert "s3cret-token" not in repr(azure_gitops.channel("staging", outputs(), CREDENTIALS))


@pytest.mark.parametrize("missing", [USER_VARIABLE, TOKEN_VARIABLE])
def test_a_missing_account_names_the_variable_and_the_credential(missing: str) -> None:
    credentials = {key: value for key, value in CREDENTIALS.items() if key != missing}
    with pytest.raises(ChannelUnknown, match=rf"{missing} not set.*gitops-promotion-staging"):
        azure_gitops.channel("staging", outputs(), credentials)


def test_outputs_of_a_push_environment_give_no_channel() -> None:
    pushed = outputs(delivery_mode="push", flux_configuration_name=None, flux_delivery=None)
    assert azure_gitops.delivery_mode(pushed) == "push"
    with pytest.raises(ChannelUnknown, match=r"flux_delivery are not set.*infra-apply"):
        azure_gitops.channel("dev", pushed, CREDENTIALS)


@pytest.mark.parametrize("mode", [None, "pull"])
def test_an_unknown_delivery_mode_is_refused(mode: str | None) -> None:
    with pytest.raises(ChannelUnknown, match="output delivery_mode is"):
        azure_gitops.delivery_mode(outputs(delivery_mode=mode))
