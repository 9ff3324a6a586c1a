"""A true memory budget: in every environment the database's worst case fits its container
memory limit, computed here from the rendered settings (what PostgreSQL will run with), not from
the template's arithmetic; and a configuration that does not fit is refused at render time."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import yaml

from tests.helm.rendering import CHARTS_SRC, DB, UMBRELLA, Rendered, Renderer, containers

DEFAULTS = yaml.safe_load((CHARTS_SRC / "postgresql" / "values.yaml").read_text())


def settings(rendered: Rendered) -> dict[str, str]:
    text = rendered.one("ConfigMap", f"{DB}-config")["data"]["10-tuning.conf"]
    pairs = (ln.partition("=") for ln in text.splitlines() if not ln.startswith("#"))
    return {k.strip(): v.strip() for k, sep, v in pairs if sep}


def megabytes(value: str) -> int:
    match = re.fullmatch(r"(\d+)(MB|GB)", value)
    assert match, value
    return int(match.group(1)) * (1024 if match.group(2) == "GB" else 1)


def limit_mb(rendered: Rendered) -> int:
    sts = rendered.one("StatefulSet", DB)
    postgres = next(c for c in containers(sts) if c["name"] == "postgresql")
    memory = str(postgres["resources"]["limits"]["memory"])
    number, unit = int(memory[:-2]), memory[-2:]
    return number * {"Mi": 1, "Gi": 1024}[unit]


def budget_terms(env: str | None) -> dict[str, int]:
    """tuning.memoryBudget as that environment sets it (chart default, umbrella override)."""
    terms = dict(DEFAULTS["tuning"]["memoryBudget"])
    if env:
        env_file = CHARTS_SRC / UMBRELLA / f"values-{env}.yaml"
        override = yaml.safe_load(env_file.read_text()).get("postgresql", {})
        terms.update(override.get("tuning", {}).get("memoryBudget", {}))
    return {name: int(value) for name, value in terms.items()}


def worst_case_mb(conf: dict[str, str], terms: dict[str, int]) -> float:
    """Everything at once: every connection and parallel worker running its sort/hash nodes at
    hash_mem_multiplier x work_mem, every autovacuum worker and the manual maintenance at their
    limits, shared memory, and each process's own overhead plus page tables for shared memory."""
    shared = megabytes(conf["shared_buffers"]) + megabytes(conf["wal_buffers"])
    workers = int(conf["max_parallel_workers"])
    autovacuum = int(conf["autovacuum_max_workers"])
    query_processes = int(conf["max_connections"]) + workers
    queries = (
        query_processes
        * megabytes(conf["work_mem"])
        * terms["nodesPerQuery"]
        * float(conf["hash_mem_multiplier"])
    )
    maintenance = autovacuum * megabytes(conf["autovacuum_work_mem"]) + terms[
        "maintenanceSessions"
    ] * megabytes(conf["maintenance_work_mem"])
    processes = query_processes + autovacuum + terms["auxiliaryProcesses"]
    page_tables = math.ceil(megabytes(conf["shared_buffers"]) / 512)
    backends = processes * (terms["backendOverheadMB"] + page_tables)
    return shared + queries + maintenance + backends


def test_every_environment_fits_its_memory_limit(env_manifests: Rendered, env: str) -> None:
    conf = settings(env_manifests)
    worst = worst_case_mb(conf, budget_terms(env))
    assert worst <= limit_mb(env_manifests), (env, worst, conf)
    assert conf["jit"] == "off"
    assert megabytes(conf["work_mem"]) >= 1


def test_the_template_reports_the_same_worst_case(renderer: Renderer) -> None:
    """The figure in the rendered file's header is this test's computation, term for term."""
    rendered = renderer.render("postgresql")
    header = rendered.one("ConfigMap", f"{DB}-config")["data"]["10-tuning.conf"]
    match = re.search(r"worst case (\d+)MB of (\d+)MB", header)
    assert match, header
    assert int(match.group(1)) == worst_case_mb(settings(rendered), budget_terms(None))
    assert int(match.group(2)) == limit_mb(rendered)


def test_a_budget_that_does_not_fit_is_refused(renderer: Renderer, fixtures_dir: Path) -> None:
    message = renderer.render_error(
        "postgresql", values=[fixtures_dir / "memory-budget-exceeded.yaml"]
    )
    assert "postgresql memory budget: the worst case is" in message
    assert "resources.limits.memory is 1024MB" in message
    assert "(300 connections + 1 parallel workers) x work_mem 16MB" in message
    assert "Lower tuning.maxConnections" in message


@pytest.mark.parametrize(
    "sets",
    [
        ["tuning.maxConnections=200"],  # 2 GiB: more backends than the budget holds
        ["tuning.workMemMB=64"],  # an explicit work_mem is checked, not trusted
        ["tuning.memoryBudget.nodesPerQuery=8"],  # analytical plans: more nodes per query
    ],
)
def test_each_term_can_break_the_budget(renderer: Renderer, sets: list[str]) -> None:
    assert "postgresql memory budget" in renderer.render_error("postgresql", sets=sets)


def test_the_derived_work_mem_just_fits(renderer: Renderer) -> None:
    """The derived work_mem leaves the headroom; one more MB per node would not."""
    rendered = renderer.render("postgresql", sets=["resources.limits.memory=8Gi",
                                                   "resources.requests.memory=8Gi"])  # fmt: skip
    conf = settings(rendered)
    terms = budget_terms(None)
    target = limit_mb(rendered) * (100 - terms["headroomPercent"]) / 100
    assert worst_case_mb(conf, terms) <= target
    bigger = {**conf, "work_mem": f"{megabytes(conf['work_mem']) + 1}MB"}
    assert worst_case_mb(bigger, terms) > target
