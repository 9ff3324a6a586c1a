"""Building the cluster's binaries from their pinned tools modules into the per-user cache.

Reuses the toolchain's Go environment, measured runs and stamps: a component's directory is
current when its stamp records the digest of its inputs (go.mod, go.sum, ldflags, version,
sources of our own modules), so a warm `up` never starts the compiler. The stamp is written
after every binary is in place, so an interrupted build is redone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from tools.localcluster.catalog import COMPONENTS, Component
from tools.localcluster.trim import add_prepared_copy
from tools.toolchain.copies import prepare_work_copy
from tools.toolchain.gobuild import (
    compile_binary,
    go_binary,
    go_version,
    module_source,
    verify_go_mod_pin,
)
from tools.toolchain.paths import Layout
from tools.toolchain.process import Progress
from tools.toolchain.stamps import Stamp, digest, is_current, write_stamp

MEASUREMENTS = "measurements.json"


def verify_pin(component: Component) -> None:
    """Fail when go.mod and the catalog disagree about the upstream version."""
    if component.module:
        verify_go_mod_pin(component.directory, component.module, component.module_version)


def inputs_digest(component: Component) -> str:
    """Everything that determines the binaries: module graph, packages, flags, own sources
    (nested stand-in modules included), and the prepared copies of dependencies."""
    root = component.directory
    sources = sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and (path.name in ("go.mod", "go.sum") or path.suffix == ".go")
    )
    return digest(
        component.name,
        component.version,
        repr(component.packages),
        " ".join(component.ldflags),
        *(repr(prepared) for prepared in component.prepared),
        *((f"tags={','.join(component.tags)}",) if component.tags else ()),
        *(part for path in sources for part in (str(path.relative_to(root)), path.read_bytes())),
    )


@contextlib.contextmanager
def build_tags(tags: tuple[str, ...]) -> Iterator[None]:
    """Pass `-tags` through GOFLAGS, which the toolchain's Go environment appends to its own."""
    if not tags:
        yield
        return
    saved = os.environ.get("GOFLAGS")
    os.environ["GOFLAGS"] = f"{saved or ''} -tags={','.join(tags)}".strip()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["GOFLAGS"]
        else:
            os.environ["GOFLAGS"] = saved


def build_directory(component: Component, layout: Layout) -> Path:
    """Where `go build` runs: the tools module itself, or a work copy holding the prepared
    dependencies its go.mod replaces (see trim.py)."""
    if not component.prepared:
        return component.directory
    work = artifact_dir(component, layout) / "work"
    prepare_work_copy(component.directory, work)
    for prepared in component.prepared:
        upstream = module_source(prepared.module, prepared.version, layout)
        add_prepared_copy(work, prepared, upstream)
    return work


def artifact_dir(component: Component, layout: Layout) -> Path:
    return layout.artifact_dir(component.name, component.version)


def binary(component: Component, name: str, layout: Layout | None = None) -> Path:
    """Path of one built binary (which may not exist yet: see `is_built`)."""
    return artifact_dir(component, layout or Layout.default()) / name


def is_built(component: Component, layout: Layout) -> bool:
    directory = artifact_dir(component, layout)
    return all((directory / name).is_file() for name in component.binaries) and is_current(
        directory, inputs_digest(component)
    )


def last_measurements(component: Component, layout: Layout) -> dict[str, float]:
    """Seconds per binary of the newest recorded build of `component` (any version)."""
    recorded = sorted(
        artifact_dir(component, layout).parent.glob(f"*/{MEASUREMENTS}"),
        key=lambda path: path.stat().st_mtime,
    )
    try:
        measured = json.loads(recorded[-1].read_text(encoding="utf-8")) if recorded else {}
        return {name: float(entry["seconds"]) for name, entry in measured.items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def build(component: Component, layout: Layout) -> Stamp | None:
    """Build every binary of `component` unless current; None when nothing had to be done."""
    verify_pin(component)
    if is_built(component, layout):
        return None
    go = go_binary()
    target = artifact_dir(component, layout)
    target.mkdir(parents=True, exist_ok=True)
    inputs = inputs_digest(component)  # before building: a later edit must not be stamped
    module = build_directory(component, layout)
    measured: dict[str, dict[str, float]] = {}
    total_seconds, peak = 0.0, 0
    last = last_measurements(component, layout)
    for name, package in component.packages:
        progress = Progress(f"{name} {component.version}", last.get(name))
        with build_tags(component.tags):
            measurement = compile_binary(
                go,
                package,
                target / name,
                module=module,
                ldflags=component.ldflags,
                layout=layout,
                log=target / f"build-{name}.log",
                progress=progress,
            )
        print(f"built {name} {component.version}: {measurement.describe()}", flush=True)
        measured[name] = {
            "seconds": round(measurement.seconds, 1),
            "peak_memory_bytes": measurement.peak_tree_bytes,
        }
        total_seconds += measurement.seconds
        peak = max(peak, measurement.peak_tree_bytes)
    (target / MEASUREMENTS).write_text(json.dumps(measured, indent=2) + "\n", encoding="utf-8")
    stamp = Stamp(
        tool=component.name,
        version=component.version,
        inputs=inputs,
        builder=go_version(go),
        seconds=round(total_seconds, 1),
        peak_memory_bytes=peak,
    )
    write_stamp(target, stamp)
    if module != component.directory:
        shutil.rmtree(module)  # the prepared copies are only needed while compiling
    return stamp


def build_all(layout: Layout | None = None) -> None:
    """Build whatever is missing, one component at a time (the machine is shared)."""
    layout = layout or Layout.default()
    for component in COMPONENTS:
        if build(component, layout) is None:
            print(f"{component.name} {component.version}: current", flush=True)
