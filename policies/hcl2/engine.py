"""Parse an IaC tree once with python-hcl2 and run rules over it.

A rule is an id, a severity, a title and a function from the parsed project to violations.
python-hcl2 keeps no line numbers, so violations locate themselves by searching the file text
for the block or attribute they are about (good enough for a reviewer to jump to it).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

from policies.findings import Finding, Severity, Status

_OPTIONS = SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False
)
_SUFFIXES = (".tf", ".tfvars", ".hcl")
_SKIP_DIRS = {".terraform", ".git"}
PLATFORM_ROOT = "platform"
"""The root shared by all environments (init/plan with ../environments/<env>/ files)."""


class HclParseError(ValueError):
    """A file under the IaC tree is not valid HCL; the message names the file."""


@dataclass(frozen=True)
class HclFile:
    """One parsed file: its path relative to the IaC root, raw text and parse tree."""

    rel: str
    text: str
    body: dict[str, Any]

    @property
    def directory(self) -> str:
        """Directory relative to the IaC root ('.' for the root itself)."""
        return str(Path(self.rel).parent)

    @property
    def name(self) -> str:
        """File name without directory."""
        return Path(self.rel).name

    def blocks(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        """Labelled blocks of one kind (variable, output, module, provider) as (label, body)."""
        result: list[tuple[str, dict[str, Any]]] = []
        for entry in self.body.get(kind, []):
            result.extend((label, body) for label, body in entry.items())
        return result

    def typed_blocks(self, kind: str) -> list[tuple[str, str, dict[str, Any]]]:
        """Two-label blocks (resource, data, ephemeral) as (type, name, body)."""
        result: list[tuple[str, str, dict[str, Any]]] = []
        for entry in self.body.get(kind, []):
            for type_name, named in entry.items():
                result.extend((type_name, name, body) for name, body in named.items())
        return result

    def line_of(self, *labels: str, kind: str | None = None) -> int | None:
        """First line declaring `kind "label" ...` or, without kind, an attribute `label =`."""
        if kind is not None:
            quoted = r"\s+".join(f'"{re.escape(label)}"' for label in labels)
            pattern = re.compile(rf"^[ \t]*{re.escape(kind)}\s+{quoted}", re.MULTILINE)
        else:
            pattern = re.compile(rf"^[ \t]*\"?{re.escape(labels[0])}\"?\s*=", re.MULTILINE)
        match = pattern.search(self.text)
        return self.text.count("\n", 0, match.start()) + 1 if match else None


@dataclass(frozen=True)
class Project:
    """Every HCL file under the IaC root, grouped by directory."""

    root: Path
    files: list[HclFile]
    by_directory: dict[str, list[HclFile]] = field(init=False)

    def __post_init__(self) -> None:
        grouped: dict[str, list[HclFile]] = {}
        for hcl_file in self.files:
            grouped.setdefault(hcl_file.directory, []).append(hcl_file)
        object.__setattr__(self, "by_directory", grouped)

    def tf_files(self, directory: str) -> list[HclFile]:
        """The .tf files of one directory (one Terraform module or root)."""
        return [f for f in self.by_directory.get(directory, []) if f.name.endswith(".tf")]

    def file(self, rel: str) -> HclFile | None:
        """A file by its path relative to the root."""
        return next((f for f in self.files if f.rel == rel), None)

    @property
    def configurations(self) -> list[str]:
        """Directories holding .tf files (each a Terraform module or root)."""
        return sorted(d for d in self.by_directory if self.tf_files(d))

    @staticmethod
    def is_module(directory: str) -> bool:
        """Reusable modules live under modules/; everything else is a root."""
        return directory.split("/", maxsplit=1)[0] == "modules"

    @staticmethod
    def is_environment(directory: str) -> bool:
        """Environment folders (data only: tfvars and backend.hcl) live directly under
        environments/."""
        parts = directory.split("/")
        return len(parts) == 2 and parts[0] == "environments"

    @property
    def environments(self) -> list[str]:
        """Environment folders, e.g. environments/prod."""
        return sorted(d for d in self.by_directory if self.is_environment(d))

    @property
    def platform(self) -> str | None:
        """The one root every environment is planned with, when the tree has it."""
        return PLATFORM_ROOT if self.tf_files(PLATFORM_ROOT) else None


@dataclass(frozen=True)
class Violation:
    """One place a rule is broken."""

    file: str
    line: int | None
    resource: str
    message: str


@dataclass(frozen=True)
class Rule:
    """A named check over the whole project."""

    id: str
    title: str
    severity: Severity
    check: Callable[[Project], Iterable[Violation]]


@functools.lru_cache(maxsize=512)
def _parse(text: str) -> dict[str, Any]:
    # Parsing dominates the run time; identical text (copies of a tree) parses once. Rules
    # only read the trees, so sharing them is safe.
    result: dict[str, Any] = hcl2.loads(text, serialization_options=_OPTIONS)
    return result


def load_project(root: Path) -> Project:
    """Parse every .tf, .tfvars and .hcl file under `root` (skipping .terraform)."""
    files: list[HclFile] = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in _SUFFIXES or not path.is_file():
            continue
        if _SKIP_DIRS.intersection(path.relative_to(root).parts):
            continue
        text = path.read_text(encoding="utf-8")
        try:
            body = _parse(text)
        except Exception as error:  # python-hcl2 raises lark errors of several types
            raise HclParseError(f"{path}: not valid HCL: {error}") from error
        files.append(HclFile(rel=path.relative_to(root).as_posix(), text=text, body=body))
    return Project(root=root, files=files)


def run_rules(project: Project, rules: Iterable[Rule]) -> list[Finding]:
    """One PASSED finding per clean rule, one FAILED finding per violation."""
    findings: list[Finding] = []
    for rule in rules:
        violations = list(rule.check(project))
        if not violations:
            findings.append(
                Finding("hcl2", rule.id, rule.title, rule.severity, Status.PASSED, ".", None, "*")
            )
        findings.extend(
            Finding(
                "hcl2",
                rule.id,
                rule.title,
                rule.severity,
                Status.FAILED,
                violation.file,
                violation.line,
                violation.resource,
                violation.message,
            )
            for violation in violations
        )
    return findings
