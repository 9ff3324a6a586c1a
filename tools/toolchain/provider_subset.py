"""The azurerm provider compiled with only the services whose resources the IaC declares.

The provider registers about 130 services and builds a client for each; compiling all of them
is most of a cold toolchain build. The IaC uses a handful, so the build compiles a copy of the
provider whose four generated registration files list only the services registering a type the
IaC declares, and only the clients the compiled code reaches (the Go command refuses to overlay
files in the module cache, hence a copy). Everything compiled is upstream's code: the schemas
Terraform validates and plans against are the real ones. A resource type the IaC starts to use
changes the inputs, so the next `make tools` rebuilds with its service; a type no service
declares fails the build by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tools.toolchain.catalog import GoTool
from tools.toolchain.copies import prepare_work_copy, writable_copy
from tools.toolchain.paths import GO_MODULES_DIR
from tools.toolchain.process import ToolchainError
from tools.toolchain.stamps import digest

MODULE = "github.com/hashicorp/terraform-provider-azurerm"
SERVICES_DIR = "internal/services"
REGISTRATION_FILES = ("internal/provider/services.go", "internal/provider/services_gen.go")
CLIENT_FILES = ("internal/clients/client.go", "internal/clients/client_gen.go")
CLIENTS_PACKAGE = f"{MODULE}/internal/clients"

_BLOCK = re.compile(r'^\s*(resource|data|ephemeral)\s+"(azurerm_\w+)"', re.MULTILINE)
# How a service registers a type: a key of its registration map, or a ResourceType() return.
_DECLARED = re.compile(r'^\s*"(azurerm_\w+)"\s*:|\breturn\s+"(azurerm_\w+)"', re.MULTILINE)
_IMPORT_BLOCK = re.compile(r"^import\s*\((.*?)^\)", re.MULTILINE | re.DOTALL)
_IMPORT_LINE = re.compile(r'^import\s+(?:[\w.]+\s+)?"([^"]+)"', re.MULTILINE)
_QUOTED = re.compile(r'"([^"]+)"')
_ALIASED_IMPORT = re.compile(r'^\s*(?:(\w+)\s+)?"([^"]+)"\s*$')
_REGISTRATION = re.compile(r"^\s*(\w+)\.Registration\{\},\s*$")
_FIELD = re.compile(r"^\t(\w+)\s+\*[\w.]+\s*$")
# String and rune literals and comments, which name services without referencing their clients.
_NOT_CODE = re.compile(
    r'"(?:[^"\\\n]|\\.)*"|`[^`]*`|\'(?:[^\'\\\n]|\\.)*\'|//[^\n]*|/\*.*?\*/', re.DOTALL
)
_ASSIGNED = re.compile(r"^\t(?:if )?client\.(\w+)(?:, err)? = \w+\.New\w*\(o\)")


@dataclass(frozen=True)
class Subset:
    """What one build keeps: the services (directories under internal/services) and clients."""

    services: frozenset[str]
    clients: frozenset[str]
    all_services: int
    all_clients: int

    def describe(self) -> str:
        return (
            f"compiling {len(self.services)} of {self.all_services} services "
            f"({', '.join(sorted(self.services))}) and {len(self.clients)} of "
            f"{self.all_clients} clients, for the resource types iac/ declares"
        )


def used_types(iac_dir: Path) -> frozenset[str]:
    """Every azurerm resource, data source and ephemeral resource type the IaC declares."""
    return frozenset(
        match.group(2)
        for path in sorted(iac_dir.rglob("*.tf"))
        for match in _BLOCK.finditer(path.read_text(encoding="utf-8"))
    )


def inputs(iac_dir: Path) -> str:
    """What decides the trimmed files besides the pinned source: the types and this code."""
    return digest(" ".join(sorted(used_types(iac_dir))), Path(__file__).read_bytes())


def _go_files(directory: Path) -> Iterable[Path]:
    return (path for path in sorted(directory.rglob("*.go")) if not path.name.endswith("_test.go"))


def declaring_services(source: Path, types: Iterable[str]) -> dict[str, set[str]]:
    """resource type -> the service directories declaring it (a legacy and a current one may
    both); a type none declares fails."""
    wanted = set(types)
    found: dict[str, set[str]] = {}
    for service in sorted(p for p in (source / SERVICES_DIR).iterdir() if p.is_dir()):
        for path in _go_files(service):
            for match in _DECLARED.finditer(path.read_text(encoding="utf-8")):
                name = next(group for group in match.groups() if group)
                if name in wanted:
                    found.setdefault(name, set()).add(service.name)
    missing = sorted(wanted - set(found))
    if missing:
        raise ToolchainError(
            f"no service of {MODULE} declares {', '.join(missing)}: check the type names in iac/"
        )
    return found


def imports(text: str) -> list[str]:
    """The import paths of one Go file."""
    block = _IMPORT_BLOCK.search(text)
    paths = _QUOTED.findall(block.group(1)) if block else []
    return paths + _IMPORT_LINE.findall(text)


def keep_lines(text: str, drop: re.Pattern[str], kept: frozenset[str]) -> str:
    """`text` without the lines `drop` matches whose first group is not kept, nor the lines up
    to the closing brace of a dropped `if` block, nor the imports only those lines used."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        matched = drop.match(line)
        if matched and matched.group(1) not in kept:
            if line.rstrip().endswith("{"):
                while not lines[index].startswith("\t}"):
                    index += 1
            index += 1
            continue
        out.append(line)
        index += 1
    return _without_imports_no_longer_used(text, "".join(out))


def _body(text: str) -> str:
    """A Go file without its import block."""
    block = _IMPORT_BLOCK.search(text)
    return text[: block.start()] + text[block.end() :] if block else text


def _uses(body: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\.", body) is not None


def _without_imports_no_longer_used(original: str, trimmed: str) -> str:
    block = _IMPORT_BLOCK.search(trimmed)
    if block is None:
        return trimmed
    before, after = _body(original), _body(trimmed)
    kept = []
    for line in block.group(1).splitlines(keepends=True):
        parsed = _ALIASED_IMPORT.match(line)
        name = (parsed.group(1) or parsed.group(2).rsplit("/", 1)[-1]) if parsed else ""
        if not name or _uses(after, name) or not _uses(before, name):
            kept.append(line)
    return trimmed[: block.start(1)] + "".join(kept) + trimmed[block.end(1) :]


def service_aliases(registration: str, services: frozenset[str]) -> frozenset[str]:
    """The import names, in a registration file, of the kept services' packages."""
    prefix = f"{MODULE}/{SERVICES_DIR}/"
    block = _IMPORT_BLOCK.search(registration)
    aliases = set()
    for line in block.group(1).splitlines() if block else ():
        parsed = _ALIASED_IMPORT.match(line)
        if parsed and parsed.group(2).removeprefix(prefix) in services:
            aliases.add(parsed.group(1) or parsed.group(2).rsplit("/", 1)[-1])
    return frozenset(aliases)


def trim_registrations(text: str, services: frozenset[str]) -> str:
    return keep_lines(text, _REGISTRATION, service_aliases(text, services))


def trim_clients(text: str, clients: frozenset[str], candidates: frozenset[str]) -> str:
    """Drop the struct field and the build block of every candidate client not kept."""
    dropped = frozenset(candidates - clients)
    kept_fields = keep_lines(text, _FIELD, frozenset(_all_fields(text) - dropped))
    return keep_lines(kept_fields, _ASSIGNED, frozenset(_assigned(kept_fields) - dropped))


def _all_fields(text: str) -> set[str]:
    return {m.group(1) for line in text.splitlines(keepends=True) if (m := _FIELD.match(line))}


def _assigned(text: str) -> set[str]:
    return {m.group(1) for line in text.splitlines(keepends=True) if (m := _ASSIGNED.match(line))}


class SourceTree:
    """The provider's own packages, with the trimmed files in place of the generated ones."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.replaced: dict[str, str] = {}
        self._read: dict[Path, str] = {}  # the choice re-reads the closure on every round

    def text(self, path: Path) -> str:
        relative = str(path.relative_to(self.source))
        if relative in self.replaced:
            return self.replaced[relative]
        if path not in self._read:
            self._read[path] = path.read_text(encoding="utf-8")
        return self._read[path]

    def package_files(self, package: str) -> list[Path]:
        directory = self.source / package.removeprefix(MODULE).lstrip("/")
        return [p for p in sorted(directory.glob("*.go")) if not p.name.endswith("_test.go")]

    def closure(self, root: str = MODULE) -> set[str]:
        """The provider's own packages that `root` imports, directly or not."""
        seen, pending = {root}, [root]
        while pending:
            for path in self.package_files(pending.pop()):
                for imported in imports(self.text(path)):
                    if imported.startswith(f"{MODULE}/") and imported not in seen:
                        seen.add(imported)
                        pending.append(imported)
        return seen


def choose(source: Path, types: Iterable[str]) -> tuple[Subset, dict[str, str]]:
    """The services declaring `types`, and every client the compiled code references: clients
    are added until the code of the packages compiled references no client left out."""
    services = frozenset().union(*declaring_services(source, types).values())
    tree = SourceTree(source)
    originals = {name: (source / name).read_text(encoding="utf-8") for name in CLIENT_FILES}
    candidates = frozenset(set().union(*(_assigned(text) for text in originals.values())))
    for name in REGISTRATION_FILES:
        registration = (source / name).read_text(encoding="utf-8")
        tree.replaced[name] = trim_registrations(registration, services)
    clients: frozenset[str] = frozenset()
    while True:
        for name, text in originals.items():
            tree.replaced[name] = trim_clients(text, clients, candidates)
        code = "\n".join(
            _NOT_CODE.sub(" ", tree.text(path))
            for package in sorted(tree.closure() - {CLIENTS_PACKAGE})
            for path in tree.package_files(package)
        )
        referenced = frozenset(name for name in candidates if re.search(rf"\.{name}\b", code))
        if referenced <= clients:
            listed = sum(1 for p in (source / SERVICES_DIR).iterdir() if p.is_dir())
            return Subset(services, clients, listed, len(candidates)), tree.replaced
        clients |= referenced


def prepare(tool: GoTool, source: Path, iac_dir: Path, work: Path) -> Subset:
    """A work copy of the tools module at `work` whose go.mod replaces the provider with a
    copy of `source` carrying the trimmed registration and client files."""
    subset, files = choose(source, used_types(iac_dir))
    prepare_work_copy(GO_MODULES_DIR / tool.module_dir, work)
    copy = work / "provider"
    writable_copy(source, copy)
    for name, text in files.items():
        (copy / name).write_text(text, encoding="utf-8")
    with (work / "go.mod").open("a", encoding="utf-8") as go_mod:
        go_mod.write(f"\nreplace {tool.module} => ./provider\n")
    return subset
