"""An Azure environment's GitOps channel, read from its Terraform outputs.

`delivery_mode` says whether the environment is delivered by Flux (its tfvars choose);
`flux_configuration_name` and `flux_delivery` say which repository and environment branch the
configuration follows, which folder it reconciles and where its objects live. The pipeline
pushes promotion commits with the account Jenkins binds as GITOPS_USERNAME and GITOPS_TOKEN:
one that may push the environment branches and nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.core import contract
from pipelines.core.gitops_commits import Repository
from pipelines.core.stage import StageContext
from pipelines.targets.flux_reconcile import Names
from pipelines.targets.gitops_delivery import Channel

MODES = ("push", "flux")
USER_VARIABLE = "GITOPS_USERNAME"
TOKEN_VARIABLE = "GITOPS_TOKEN"  # noqa: S105 (a variable's name)
RELEASE_FILE = "helmrelease.yaml"


class ChannelUnknown(ValueError):
    """The outputs do not say how, or where to, the environment is delivered."""


def delivery_mode(outputs: Mapping[str, Any]) -> str:
    """`push` or `flux`, as the environment's tfvars chose (output delivery_mode)."""
    mode = (outputs.get("delivery_mode") or {}).get("value")
    if mode not in MODES:
        raise ChannelUnknown(f"output delivery_mode is {mode!r}, not one of {', '.join(MODES)}")
    return str(mode)


def channel(
    environment: str, outputs: Mapping[str, Any], credentials: Mapping[str, str]
) -> Channel:
    """The environment's channel; `credentials` holds GITOPS_USERNAME and GITOPS_TOKEN."""
    name = (outputs.get("flux_configuration_name") or {}).get("value")
    where = (outputs.get("flux_delivery") or {}).get("value")
    if not name or not isinstance(where, dict):
        raise ChannelUnknown(
            "outputs flux_configuration_name and flux_delivery are not set: check "
            "iac/platform/outputs.tf and run infra-apply again"
        )
    missing = [key for key in (USER_VARIABLE, TOKEN_VARIABLE) if not credentials.get(key)]
    if missing:
        raise ChannelUnknown(
            f"{' and '.join(missing)} not set: the account that pushes promotion commits to "
            f"{where['repository_url']} {where['branch']} (the Jenkins credential "
            f"gitops-promotion-{environment}, bound in the Jenkinsfile)"
        )
    names = contract.load()
    return Channel(
        environment=environment,
        repository=Repository(
            url=where["repository_url"],
            user=credentials[USER_VARIABLE],
            password=credentials[TOKEN_VARIABLE],
        ),
        branch=where["branch"],
        release_file=Path(where["path"]) / RELEASE_FILE,
        names=Names.pinned(
            namespace=where["namespace"],
            source=name,
            release=names.release,
            platform=(names.cert_manager["release"],),
        ),
    )


def environment_channel(ctx: StageContext, outputs: Mapping[str, Any]) -> Channel:
    """The channel of the stage's environment, or the stage fails saying what to fix."""
    try:
        return channel(ctx.deploy_env, outputs, os.environ)
    except ChannelUnknown as unknown:
        ctx.fail(f"{ctx.deploy_env} is delivered by Flux, but {unknown}")
