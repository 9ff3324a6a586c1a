"""Every object a runbook command names exists in the release as deployed.

The runbooks and the disaster-recovery guide are read for the objects their commands address
(`kubectl ... get pod NAME`, `cronjob/NAME`, `job="NAME"`, `-n NAMESPACE`, ...). The umbrella is
rendered with the deploy stage's contract values (release and names from iac/contract.yaml),
and each name must be a rendered object, a StatefulSet pod or one of its volume claims, so a
renamed release or object fails here instead of in an incident.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helm.rendering import CONTRACT, NAMESPACE, Rendered, Renderer
from tests.support.tools import REPO_ROOT, require_tool
from tools.localcluster.interface import FLUX_NAMESPACE

DOCS = (
    *sorted((REPO_ROOT / "docs" / "runbooks").glob("*.md")),
    REPO_ROOT / "docs" / "disaster-recovery.md",
)
NAME = r"([a-z0-9][-a-z0-9]*[a-z0-9])(?![-a-z0-9$<./=_])"
"""A whole object name; one continued by `$(...)`, `<id>` or a path is generated or no name."""
KINDS = r"(?:pods?|deploy(?:ment)?|statefulset|sts|cronjobs?|jobs?|hpa|svc|services?|pvc|configmap)"
SINGULAR = r"(?:pod|deploy(?:ment)?|statefulset|sts|cronjob|job|hpa|svc|service|pvc|configmap)"
REFERENCES = (
    re.compile(rf"\b{SINGULAR}/{NAME}"),
    re.compile(rf"kubectl\b[^\n`]*?\b(?:get|describe)\s+{KINDS}\s+{NAME}"),
    re.compile(rf"kubectl\b[^\n`]*?\b(?:logs|exec)\s+(?:-[a-z]+\s+)*{NAME}"),
    re.compile(rf"service-name={NAME}"),
    re.compile(rf'\bjob="{NAME}"'),
)
NAMESPACES = (
    re.compile(rf"kubectl\b[^\n`|]*?\s(?:-n|--namespace)[\s=]+{NAME}"),
    re.compile(rf'namespace="{NAME}"'),
)
SHELL_VARIABLE = re.compile(r"^(\w+)=(\S+)$")


def references(text: str, patterns: tuple[re.Pattern[str], ...]) -> Iterator[tuple[int, str]]:
    """(line number, name) for every match, with shell variables of the document expanded."""
    variables: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        for assignment in line.split(";"):
            match = SHELL_VARIABLE.match(assignment.strip())
            if match:
                variables[match[1]] = match[2]
        expanded = re.sub(r"\$(\w+)", lambda m: variables.get(m[1], m[0]), line)
        for pattern in patterns:
            for match in pattern.finditer(expanded):
                yield number, match[1]


def deployed_names(rendered: Rendered) -> set[str]:
    """Every object name of the render, plus StatefulSet pods and their volume claims."""
    names = {str(doc["metadata"]["name"]) for doc in rendered.docs}
    for statefulset in rendered.of_kind("StatefulSet"):
        name = statefulset["metadata"]["name"]
        pods = [f"{name}-{index}" for index in range(int(statefulset["spec"].get("replicas", 1)))]
        claims = [
            t["metadata"]["name"] for t in statefulset["spec"].get("volumeClaimTemplates", [])
        ]
        names |= {*pods, *(f"{claim}-{pod}" for claim in claims for pod in pods)}
    return names


def unknown_references(
    text: str, known: set[str], namespace: str, others: frozenset[str] = frozenset()
) -> list[str]:
    """Names a document addresses that the release does not have; `others`: namespaces the
    release's own delivery objects live in (its Flux HelmRelease)."""
    problems = [
        f"line {line}: {name} is not an object of the release"
        for line, name in references(text, REFERENCES)
        if name not in known
    ]
    problems += [
        f"line {line}: namespace {name} is not the release's ({namespace})"
        for line, name in references(text, NAMESPACES)
        if name != namespace and name not in others
    ]
    return problems


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    renderer = Renderer(
        helm=require_tool("helm", "make tools"), workdir=tmp_path_factory.mktemp("helm")
    )
    renderer.prepare()
    return deployed_names(renderer.env_render("dev")) | deployed_names(renderer.env_render("local"))


@pytest.mark.parametrize("doc", DOCS, ids=[path.name for path in DOCS])
def test_runbook_commands_name_objects_of_the_deployed_release(known: set[str], doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    assert unknown_references(text, known, NAMESPACE, frozenset({FLUX_NAMESPACE})) == []


def test_the_runbooks_address_the_database_pod() -> None:
    """The scan is not vacuous: the runbooks name the database pod among other objects."""
    found = {
        name for doc in DOCS for _, name in references(doc.read_text(encoding="utf-8"), REFERENCES)
    }
    assert CONTRACT.database_pod in found
    assert len(found) >= 5


def test_a_pod_of_another_release_is_reported() -> None:
    known = {"db-0", "db-backup-full", "api"}
    text = (
        "NS=inventory; DB=db\n"
        "kubectl -n $NS logs old-db-0 -c postgresql\n"
        "kubectl -n $NS create job --from=cronjob/$DB-backup-full full-$(date +%s)\n"
        "kubectl -n elsewhere get hpa api\n"
        'rate(x{namespace="inventory",job="old-api"}[5m])\n'
    )
    assert unknown_references(text, known, "inventory") == [
        "line 2: old-db-0 is not an object of the release",
        "line 5: old-api is not an object of the release",
        "line 4: namespace elsewhere is not the release's (inventory)",
    ]
