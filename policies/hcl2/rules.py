"""The project's python-hcl2 rules: what checkov cannot express about the shape of iac/.

Each rule yields Violations; ids are stable (INV_HCL_0NN) so waivers and reports can name them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from policies.findings import Severity
from policies.hcl2.engine import PLATFORM_ROOT, HclFile, Project, Rule, Violation

EXACT_VERSION = re.compile(r"^=?\s*\d+\.\d+\.\d+$")
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")
KEBAB_CASE = re.compile(r"^[a-z][a-z0-9-]*$")
GIT_REF = re.compile(r"[?&]ref=([0-9a-f]{40}|v?\d+\.\d+\.\d+)$")
REGISTRY_SOURCE = re.compile(r"^[a-z0-9-]+/[a-z0-9-]+/[a-z0-9-]+$", re.IGNORECASE)
SECRET_KEY = re.compile(
    r"(^|_)(password|passwd|secret|token|access_key|api_key|account_key|shared_key|"
    r"client_secret|connection_string|private_key|sas_token)$",
    re.IGNORECASE,
)
SECRET_VALUES = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "storage connection string": re.compile(r"AccountKey=[A-Za-z0-9+/=]{20,}"),
    "SAS token": re.compile(r"(^|[?&])sig=[A-Za-z0-9%+/=]{20,}"),
    "storage account key": re.compile(r"^[A-Za-z0-9+/]{86}==$"),
    "JSON web token": re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    "password in a connection string": re.compile(r"(?i)\bpassword=(?!\$\{)[^;\s]{4,}"),
}
MODULE_LAYOUT = ("README.md", "main.tf", "variables.tf", "outputs.tf", "versions.tf")
ROOT_BLOCKS = {"terraform", "provider", "module", "variable", "output", "locals", "data"}
ROOT_BLOCKS |= {"moved", "import", "removed"}
BUILTIN_PROVIDERS = {"terraform"}
GEO_REDUNDANT = {"GRS", "RAGRS", "GZRS", "RAGZRS"}
BACKEND_KEYS = ("resource_group_name", "storage_account_name", "container_name", "key")
ENVIRONMENT_FILES = ("terraform.tfvars", "backend.hcl")
BACKEND_FORBIDDEN = ("access_key", "sas_token", "client_secret", "client_certificate_password")


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("${")


def _terraform_settings(files: list[HclFile]) -> Iterator[tuple[HclFile, dict[str, Any]]]:
    for hcl_file in files:
        for settings in hcl_file.body.get("terraform", []):
            yield hcl_file, settings


def _required_providers(files: list[HclFile]) -> dict[str, tuple[HclFile, Any]]:
    providers: dict[str, tuple[HclFile, Any]] = {}
    for hcl_file, settings in _terraform_settings(files):
        for block in settings.get("required_providers", []):
            for name, spec in block.items():
                providers[name] = (hcl_file, spec)
    return providers


def _used_providers(files: list[HclFile]) -> dict[str, HclFile]:
    used: dict[str, HclFile] = {}
    for hcl_file in files:
        for kind in ("resource", "data", "ephemeral"):
            for type_name, _, _ in hcl_file.typed_blocks(kind):
                used.setdefault(type_name.split("_")[0], hcl_file)
        for name, _ in hcl_file.blocks("provider"):
            used.setdefault(name, hcl_file)
    return {name: f for name, f in used.items() if name not in BUILTIN_PROVIDERS}


def providers_pinned(project: Project) -> Iterator[Violation]:
    """Roots pin exact provider versions; modules bound them above; both set required_version."""
    for directory in project.configurations:
        files = project.tf_files(directory)
        module = project.is_module(directory)
        if not any("required_version" in s for _, s in _terraform_settings(files)):
            yield Violation(
                f"{directory}/versions.tf", None, directory, "no required_version for Terraform"
            )
        declared = _required_providers(files)
        for name, hcl_file in _used_providers(files).items():
            if name not in declared:
                yield Violation(
                    hcl_file.rel,
                    None,
                    directory,
                    f"provider '{name}' is used but not in required_providers",
                )
        for name, (hcl_file, spec) in declared.items():
            line = hcl_file.line_of(name)
            version = spec.get("version") if isinstance(spec, dict) else None
            if not isinstance(spec, dict) or not spec.get("source"):
                yield Violation(
                    hcl_file.rel, line, name, f"provider '{name}' has no source address"
                )
            if not isinstance(version, str):
                yield Violation(
                    hcl_file.rel, line, name, f"provider '{name}' has no version constraint"
                )
            elif not module and not EXACT_VERSION.match(version.strip()):
                yield Violation(
                    hcl_file.rel,
                    line,
                    name,
                    f"root pins provider '{name}' loosely ('{version}'); use '= X.Y.Z'",
                )
            elif (
                module
                and "<" not in version
                and "~>" not in version
                and not EXACT_VERSION.match(version)
            ):
                yield Violation(
                    hcl_file.rel,
                    line,
                    name,
                    f"module constraint for '{name}' ('{version}') has no upper bound",
                )


def modules_pinned(project: Project) -> Iterator[Violation]:
    """Module sources are local paths, exact registry versions, or git refs to a tag or commit."""
    for hcl_file in project.files:
        for name, body in hcl_file.blocks("module"):
            source = str(body.get("source", ""))
            line = hcl_file.line_of(name, kind="module")
            if source.startswith(("./", "../")):
                if not (project.root / hcl_file.directory / source).resolve().is_dir():
                    yield Violation(
                        hcl_file.rel,
                        line,
                        f"module.{name}",
                        f"local source '{source}' does not exist",
                    )
            elif REGISTRY_SOURCE.match(source):
                if not EXACT_VERSION.match(str(body.get("version", ""))):
                    yield Violation(
                        hcl_file.rel,
                        line,
                        f"module.{name}",
                        f"registry module '{source}' needs an exact version",
                    )
            elif not GIT_REF.search(source):
                yield Violation(
                    hcl_file.rel,
                    line,
                    f"module.{name}",
                    f"source '{source}' is not pinned to a tag or commit (?ref=)",
                )


def _backend_hcl(project: Project, directory: str) -> Iterator[Violation]:
    backend_hcl = project.file(f"{directory}/backend.hcl")
    if backend_hcl is None:
        yield Violation(f"{directory}/backend.hcl", None, directory, "no backend.hcl")
        return
    for key in BACKEND_KEYS:
        if not backend_hcl.body.get(key):
            yield Violation(backend_hcl.rel, None, directory, f"backend.hcl does not set {key}")
    if backend_hcl.body.get("use_azuread_auth") is not True:
        line = backend_hcl.line_of("use_azuread_auth")
        yield Violation(
            backend_hcl.rel, line, directory, "backend.hcl must set use_azuread_auth = true"
        )
    for key in BACKEND_FORBIDDEN:
        if key in backend_hcl.body:
            message = f"backend.hcl must not set {key} (Entra ID only)"
            yield Violation(backend_hcl.rel, backend_hcl.line_of(key), directory, message)


def backend_azurerm_entra(project: Project) -> Iterator[Violation]:
    """The platform root keeps state in azurerm with Entra ID auth, one state per environment
    (its backend.hcl); modules declare no backend."""
    for directory in project.configurations:
        backends = [
            (hcl_file, name, body)
            for hcl_file, settings in _terraform_settings(project.tf_files(directory))
            for block in settings.get("backend", [])
            for name, body in block.items()
        ]
        module = project.is_module(directory)
        for hcl_file, name, body in backends:
            line = hcl_file.line_of(name, kind="backend")
            if module:
                message = "modules must not declare a backend"
            elif name != "azurerm":
                message = f"backend '{name}' is not azurerm"
            elif body.get("use_azuread_auth") is not True:
                message = "azurerm backend must set use_azuread_auth = true"
            else:
                continue
            yield Violation(hcl_file.rel, line, directory, message)
        if directory == project.platform and not backends:
            yield Violation(f"{directory}/backend.tf", None, directory, "no backend declared")
    states: dict[tuple[str, ...], str] = {}
    for directory in project.environments:
        yield from _backend_hcl(project, directory)
        yield from _own_state(project, directory, states)


def _own_state(
    project: Project, directory: str, states: dict[tuple[str, ...], str]
) -> Iterator[Violation]:
    """One root, several states: two environments sharing a state would overwrite each other."""
    backend_hcl = project.file(f"{directory}/backend.hcl")
    if backend_hcl is None:
        return
    location = tuple(str(backend_hcl.body.get(key, "")) for key in BACKEND_KEYS)
    other = states.setdefault(location, directory)
    if other != directory:
        yield Violation(
            backend_hcl.rel,
            backend_hcl.line_of("key"),
            directory,
            f"backend.hcl points at the same state as {other}/backend.hcl; "
            "each environment needs its own container_name and key",
        )


def variables_typed_described(project: Project) -> Iterator[Violation]:
    """Every variable declares a type and a description."""
    for hcl_file in project.files:
        for name, body in hcl_file.blocks("variable"):
            line = hcl_file.line_of(name, kind="variable")
            if "type" not in body:
                yield Violation(hcl_file.rel, line, f"var.{name}", "variable has no type")
            if not str(body.get("description", "")).strip():
                yield Violation(hcl_file.rel, line, f"var.{name}", "variable has no description")


def outputs_described(project: Project) -> Iterator[Violation]:
    """Every output is documented with a description."""
    for hcl_file in project.files:
        for name, body in hcl_file.blocks("output"):
            if not str(body.get("description", "")).strip():
                yield Violation(
                    hcl_file.rel,
                    hcl_file.line_of(name, kind="output"),
                    f"output.{name}",
                    "output has no description",
                )


def _walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, str(key)))
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, path)
    else:
        yield path, value


def no_secret_literals(project: Project) -> Iterator[Violation]:
    """No literal credential: by attribute name, by value shape, or as a variable default."""
    for hcl_file in project.files:
        for path, value in _walk(hcl_file.body):
            if not isinstance(value, str) or not value or _is_expression(value):
                continue
            key = path[-1] if path else ""
            where = ".".join(path)
            if SECRET_KEY.search(key):
                yield Violation(
                    hcl_file.rel,
                    hcl_file.line_of(key),
                    where,
                    f"'{key}' is set to a literal; use a generated or referenced secret",
                )
                continue
            for kind, pattern in SECRET_VALUES.items():
                if pattern.search(value):
                    yield Violation(
                        hcl_file.rel,
                        hcl_file.line_of(key) if key else None,
                        where,
                        f"value of '{key}' looks like a {kind}",
                    )
                    break
        for name, body in hcl_file.blocks("variable"):
            if SECRET_KEY.search(name):
                line = hcl_file.line_of(name, kind="variable")
                if (
                    isinstance(body.get("default"), str)
                    and body["default"]
                    and not _is_expression(body["default"])
                ):
                    yield Violation(
                        hcl_file.rel, line, f"var.{name}", "secret variable has a literal default"
                    )
                if body.get("sensitive") is not True:
                    yield Violation(
                        hcl_file.rel,
                        line,
                        f"var.{name}",
                        "secret variable is not marked sensitive = true",
                    )


def thin_platform_root(project: Project) -> Iterator[Violation]:
    """The platform root only wires modules: no resources of its own."""
    if project.platform is None:
        return
    for hcl_file in project.tf_files(project.platform):
        for kind in sorted(set(hcl_file.body) - ROOT_BLOCKS):
            for type_name, name, _ in hcl_file.typed_blocks(kind):
                yield Violation(
                    hcl_file.rel,
                    hcl_file.line_of(type_name, name, kind=kind),
                    f"{type_name}.{name}",
                    f"'{kind}' declared in the platform root; move it into a module",
                )


def _declared_variables(project: Project, directory: str) -> dict[str, bool]:
    """Variable name -> whether it is required (has no default) in one configuration."""
    return {
        name: "default" not in body
        for hcl_file in project.tf_files(directory)
        for name, body in hcl_file.blocks("variable")
    }


def environments_hold_only_data(project: Project) -> Iterator[Violation]:
    """Environment folders hold data only: a terraform.tfvars naming the environment and
    setting only (and all required) variables of the platform root, and a backend.hcl."""
    environments = project.environments
    if not environments:
        return
    if project.platform is None:
        yield Violation(
            f"{PLATFORM_ROOT}/main.tf", None, PLATFORM_ROOT, "no platform root for the environments"
        )
        return
    declared = _declared_variables(project, project.platform)
    for directory in environments:
        for hcl_file in project.by_directory[directory]:
            if hcl_file.name not in ENVIRONMENT_FILES:
                yield Violation(
                    hcl_file.rel,
                    None,
                    directory,
                    f"{hcl_file.name} in an environment folder: Terraform code lives in "
                    f"{project.platform}/, environments hold only terraform.tfvars and backend.hcl",
                )
        for required in ENVIRONMENT_FILES:
            if project.file(f"{directory}/{required}") is None:
                yield Violation(
                    f"{directory}/{required}", None, directory, f"environment has no {required}"
                )
        tfvars = project.file(f"{directory}/terraform.tfvars")
        if tfvars is None:
            continue
        environment = directory.split("/")[-1]
        if tfvars.body.get("environment") != environment:
            yield Violation(
                tfvars.rel,
                tfvars.line_of("environment"),
                directory,
                f'terraform.tfvars must set environment = "{environment}"',
            )
        for name in sorted(set(tfvars.body) - set(declared)):
            yield Violation(
                tfvars.rel,
                tfvars.line_of(name),
                directory,
                f"terraform.tfvars sets '{name}', which {project.platform}/ does not declare",
            )
        for name in sorted(n for n, required in declared.items() if required):
            if name not in tfvars.body:
                yield Violation(
                    tfvars.rel,
                    None,
                    directory,
                    f"terraform.tfvars does not set '{name}', required by {project.platform}/",
                )


def naming_and_layout(project: Project) -> Iterator[Violation]:
    """snake_case labels, kebab-case module directories, the standard module file layout."""
    for hcl_file in project.files:
        for kind in ("resource", "data", "ephemeral"):
            for type_name, name, _ in hcl_file.typed_blocks(kind):
                if not SNAKE_CASE.match(name):
                    yield Violation(
                        hcl_file.rel,
                        hcl_file.line_of(type_name, name, kind=kind),
                        f"{type_name}.{name}",
                        f"{kind} name '{name}' is not snake_case",
                    )
        for kind in ("module", "variable", "output"):
            for name, _ in hcl_file.blocks(kind):
                if not SNAKE_CASE.match(name):
                    yield Violation(
                        hcl_file.rel,
                        hcl_file.line_of(name, kind=kind),
                        f"{kind}.{name}",
                        f"{kind} name '{name}' is not snake_case",
                    )
    for directory in project.configurations:
        if not project.is_module(directory):
            continue
        module_name = directory.split("/")[-1]
        if not KEBAB_CASE.match(module_name):
            yield Violation(
                directory, None, directory, f"module directory '{module_name}' is not kebab-case"
            )
        for required in MODULE_LAYOUT:
            if not (project.root / directory / required).is_file():
                yield Violation(
                    f"{directory}/{required}", None, directory, f"module has no {required}"
                )


def prod_resilience(project: Project) -> Iterator[Violation]:
    """prod: geo-redundant locked immutable backups, three zones, private endpoints and API,
    egress through the firewall, public ingress through the WAF in Prevention mode (stated in
    the tfvars, not left to a default), cluster policy that denies."""
    for directory in project.environments:
        tfvars = project.file(f"{directory}/terraform.tfvars")
        if tfvars is None or tfvars.body.get("environment") != "prod":
            continue
        body = tfvars.body
        backup = body.get("backup") or {}
        aks = body.get("aks") or {}
        ingress = body.get("ingress") or {}
        expectations = [
            (
                "backup",
                backup.get("replication_type") in GEO_REDUNDANT,
                "backup.replication_type must be GRS, RAGRS, GZRS or RAGZRS",
            ),
            (
                "backup",
                backup.get("immutability_locked") is True,
                "backup.immutability_locked must be true",
            ),
            (
                "aks",
                sorted(aks.get("zones") or []) == ["1", "2", "3"],
                'aks.zones must be ["1", "2", "3"]',
            ),
            (
                "aks",
                aks.get("private_cluster_enabled") is True,
                "aks.private_cluster_enabled must be true",
            ),
            (
                "private_endpoints_enabled",
                body.get("private_endpoints_enabled") is True,
                "private_endpoints_enabled must be true",
            ),
            (
                "egress",
                (body.get("egress") or {}).get("mode") == "firewall",
                'egress.mode must be "firewall" (filtered egress)',
            ),
            (
                "ingress",
                ingress.get("exposure") == "application_gateway",
                'ingress.exposure must be "application_gateway" (the WAF in front of the ingress)',
            ),
            (
                "ingress",
                (ingress.get("gateway") or {}).get("waf_mode") == "Prevention",
                'ingress.gateway.waf_mode must be "Prevention" (blocking, not only logging)',
            ),
            (
                "cluster_policy",
                (body.get("cluster_policy") or {}).get("effect") == "Deny",
                'cluster_policy.effect must be "Deny"',
            ),
        ]
        for key, satisfied, message in expectations:
            if not satisfied:
                yield Violation(tfvars.rel, tfvars.line_of(key), directory, message)


PAID_TIERS = ("Standard", "Premium")
"""AKS control-plane tiers with an uptime SLA (and cost analysis)."""
SLA_ENVIRONMENTS = ("staging", "prod")


def sla_control_plane(project: Project) -> Iterator[Violation]:
    """staging and prod run a control plane with an uptime SLA: aks.sku_tier Standard or Premium
    (the Free tier has none, and cost analysis needs a paid tier)."""
    for directory in project.environments:
        tfvars = project.file(f"{directory}/terraform.tfvars")
        if tfvars is None or tfvars.body.get("environment") not in SLA_ENVIRONMENTS:
            continue
        tier = (tfvars.body.get("aks") or {}).get("sku_tier")
        if tier not in PAID_TIERS:
            yield Violation(
                tfvars.rel,
                tfvars.line_of("aks"),
                directory,
                f"aks.sku_tier is {tier!r}; {tfvars.body.get('environment')} needs Standard or "
                "Premium (uptime SLA, cost analysis)",
            )


RULES: tuple[Rule, ...] = (
    Rule(
        "INV_HCL_001",
        "Providers and Terraform are pinned (exact in roots, bounded in modules)",
        Severity.HIGH,
        providers_pinned,
    ),
    Rule(
        "INV_HCL_002",
        "Module sources are pinned (local, exact registry version, or git tag/commit)",
        Severity.HIGH,
        modules_pinned,
    ),
    Rule(
        "INV_HCL_003",
        "State lives in the azurerm backend with Entra ID auth, one state per environment",
        Severity.HIGH,
        backend_azurerm_entra,
    ),
    Rule(
        "INV_HCL_004",
        "Every variable has a type and a description",
        Severity.MEDIUM,
        variables_typed_described,
    ),
    Rule("INV_HCL_005", "Every output has a description", Severity.LOW, outputs_described),
    Rule(
        "INV_HCL_006",
        "No secret-looking literal in code, tfvars or backend config",
        Severity.CRITICAL,
        no_secret_literals,
    ),
    Rule(
        "INV_HCL_007",
        "The platform root declares no resources of its own",
        Severity.HIGH,
        thin_platform_root,
    ),
    Rule(
        "INV_HCL_008",
        "Environments differ only in data: terraform.tfvars and backend.hcl, no code",
        Severity.HIGH,
        environments_hold_only_data,
    ),
    Rule(
        "INV_HCL_009",
        "Names follow the conventions; modules have the standard layout",
        Severity.MEDIUM,
        naming_and_layout,
    ),
    Rule(
        "INV_HCL_010",
        "prod is resilient: geo-redundant immutable backups, 3 zones, private access, "
        "filtered egress, a blocking WAF in front of the ingress, denying cluster policy",
        Severity.HIGH,
        prod_resilience,
    ),
    Rule(
        "INV_HCL_011",
        "staging and prod run the AKS Standard (or Premium) tier",
        Severity.HIGH,
        sla_control_plane,
    ),
)
