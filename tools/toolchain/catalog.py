"""The single declaration of every external tool, its pinned version and how it is built.

Go tools are built from the modules under `go/<module>/` (go.mod pins the exact upstream
version, go.sum its hashes); this file names what to build from them and the version it is.
The Go module proxy reachable offline serves one snapshot commit of each provider, so the
providers are pinned by commit and named by the version that commit's `version/VERSION` and
CHANGELOG.md declare (see README.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tools.toolchain.paths import CHECKOV_LOCK


@dataclass(frozen=True)
class GoTool:
    """A binary built with `go build` from one of the tools modules under `go/`."""

    name: str  # cache key and command-line name
    version: str  # the upstream release this build is (no leading "v")
    module_dir: str  # directory under tools/toolchain/go/
    module: str  # the module go.mod requires (must appear there at `module_version`)
    module_version: str
    package: str  # the main package to build
    output: str  # file name of the built binary
    ldflags: tuple[str, ...] = ()
    # Compile only the provider services whose resources the IaC declares (provider_subset.py).
    iac_services_only: bool = False


@dataclass(frozen=True)
class Provider:
    """A Terraform provider built from source and published in the filesystem mirror."""

    namespace: str
    type: str
    build: GoTool

    @property
    def version(self) -> str:
        return self.build.version

    def source(self, host: str) -> str:
        return f"{host}/{self.namespace}/{self.type}"


# Both CLIs resolve `hashicorp/<type>` against their own registry host; the mirror serves both.
REGISTRY_HOSTS = ("registry.terraform.io", "registry.opentofu.org")
PLATFORM = "linux_amd64"

_HELM_VERSION = "3.19.5"
_HELM_K8S = "1", "34"  # client-go v0.34.x, as upstream's Makefile derives it
HELM = GoTool(
    name="helm",
    version=_HELM_VERSION,
    module_dir="helm",
    module="helm.sh/helm/v3",
    module_version=f"v{_HELM_VERSION}",
    package="helm.sh/helm/v3/cmd/helm",
    output="helm",
    ldflags=(
        f"-X helm.sh/helm/v3/internal/version.version=v{_HELM_VERSION}",
        f"-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor={_HELM_K8S[0]}",
        f"-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor={_HELM_K8S[1]}",
        f"-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor={_HELM_K8S[0]}",
        f"-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor={_HELM_K8S[1]}",
    ),
)

TFLINT = GoTool(
    name="tflint",
    version="0.64.0",
    module_dir="tflint",
    module="github.com/terraform-linters/tflint",
    module_version="v0.64.0",
    package="github.com/terraform-linters/tflint",
    output="tflint",
)

# Built only when the `terraform` on PATH is outside TERRAFORM_RANGE (or tofu is requested).
OPENTOFU = GoTool(
    name="tofu",
    version="1.12.6",  # >= 1.11 for ephemeral resources; the proxy's newest release
    module_dir="opentofu",
    module="github.com/opentofu/opentofu",
    module_version="v1.12.6",
    package="github.com/opentofu/opentofu/cmd/tofu",
    output="tofu",
    ldflags=("-X github.com/opentofu/opentofu/version.dev=no",),
)

_AZURERM_VERSION = "5.2.0"
_RANDOM_VERSION = "3.9.0"
PROVIDERS = (
    Provider(
        namespace="hashicorp",
        type="random",
        build=GoTool(
            name="terraform-provider-random",
            version=_RANDOM_VERSION,
            module_dir="terraform-provider-random",
            module="github.com/terraform-providers/terraform-provider-random",
            module_version="v0.0.0-00010101000000-000000000000",  # replaced by commit e1092b0cfc07
            package="github.com/terraform-providers/terraform-provider-random",
            output=f"terraform-provider-random_v{_RANDOM_VERSION}",
        ),
    ),
    Provider(
        namespace="hashicorp",
        type="azurerm",
        build=GoTool(
            name="terraform-provider-azurerm",
            version=_AZURERM_VERSION,
            module_dir="terraform-provider-azurerm",
            module="github.com/hashicorp/terraform-provider-azurerm",
            module_version="v1.44.1-0.20260824201233-fae580791926",
            package="github.com/hashicorp/terraform-provider-azurerm",
            output=f"terraform-provider-azurerm_v{_AZURERM_VERSION}",
            ldflags=(
                "-X github.com/hashicorp/terraform-provider-azurerm/version.ProviderVersion="
                + _AZURERM_VERSION,
            ),
            iac_services_only=True,
        ),
    ),
)

# The Terraform CLI versions the IaC supports (required_version in iac/ must agree).
TERRAFORM_MIN = (1, 11, 0)  # inclusive: the IaC uses ephemeral resources and write-only args
TERRAFORM_MAX = (2, 0, 0)  # exclusive
TERRAFORM_RANGE = ">= 1.11.0, < 2.0.0"

GO_TOOLS = (HELM, TFLINT)


def checkov_version() -> str:
    """The checkov version pinned by the hashed lock file (its one source of truth)."""
    match = re.search(r"^checkov==(\S+)", CHECKOV_LOCK.read_text(encoding="utf-8"), re.MULTILINE)
    if match is None:
        raise ValueError(f"{CHECKOV_LOCK} pins no checkov version (expected 'checkov==X.Y.Z')")
    return match.group(1)


def parse_version(text: str) -> tuple[int, int, int]:
    """`1.11.4` -> (1, 11, 4); a precise error for anything that is not MAJOR.MINOR.PATCH."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?", text.strip())
    if match is None:
        raise ValueError(f"not a MAJOR.MINOR.PATCH version: {text!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def terraform_supported(version: str) -> bool:
    """Whether a Terraform CLI version lies in TERRAFORM_RANGE (pre-releases are refused)."""
    if not re.fullmatch(r"v?\d+\.\d+\.\d+", version.strip()):
        return False
    return TERRAFORM_MIN <= parse_version(version) < TERRAFORM_MAX
