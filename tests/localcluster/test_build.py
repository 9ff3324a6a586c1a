"""The build refuses a tools module whose go.mod disagrees with the catalog's pin."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tools.localcluster.build import inputs_digest, verify_pin
from tools.localcluster.catalog import (
    CERT_MANAGER,
    COMPONENTS,
    FLUX,
    FLUX_CONTROLLERS,
    Component,
)
from tools.localcluster.images import build_id
from tools.localcluster.trim import PreparedCopy
from tools.toolchain.process import ToolchainError
from tools.toolchain.stamps import Stamp, write_stamp


def _component(directory: Path) -> Component:
    return Component(
        name="kubernetes",
        version="1.34.2",
        module_dir=str(directory),  # absolute: replaces GO_DIR
        module="k8s.io/kubernetes",
        module_version="v1.34.2",
        packages=(("kubectl", "k8s.io/kubernetes/cmd/kubectl"),),
    )


def test_the_repository_modules_match_the_catalog() -> None:
    for component in (*COMPONENTS, CERT_MANAGER):
        verify_pin(component)


def test_the_flux_module_pins_each_controller_at_the_catalogs_version() -> None:
    """One tools module builds the three controllers; each must be the version Flux's release
    pins, not only the one the component's own pin checks."""
    for name, version in FLUX_CONTROLLERS.items():
        controller = replace(FLUX, module=f"github.com/fluxcd/{name}", module_version=f"v{version}")
        verify_pin(controller)


def test_a_mismatched_pin_is_refused(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module x\n\nrequire k8s.io/kubernetes v1.33.0\n")
    (tmp_path / "go.sum").write_text("")
    with pytest.raises(ToolchainError, match=r"at v1\.33\.0, but .* pins v1\.34\.2"):
        verify_pin(_component(tmp_path))


def test_inputs_digest_changes_with_go_sum(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module x\n\nrequire k8s.io/kubernetes v1.34.2\n")
    (tmp_path / "go.sum").write_text("a\n")
    before = inputs_digest(_component(tmp_path))
    (tmp_path / "go.sum").write_text("b\n")
    assert inputs_digest(_component(tmp_path)) != before


def test_inputs_digest_covers_nested_stand_in_modules_and_prepared_copies(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module x\n\nrequire k8s.io/kubernetes v1.34.2\n")
    (tmp_path / "go.sum").write_text("a\n")
    (tmp_path / "ext").mkdir()
    (tmp_path / "ext" / "ext.go").write_text("package ext\n")
    component = _component(tmp_path)
    before = inputs_digest(component)
    (tmp_path / "ext" / "ext.go").write_text("package ext\n\ntype HTTP struct{}\n")
    assert inputs_digest(component) != before
    prepared = PreparedCopy(module="example.com/m", version="v1.0.0", replace_dir="m")
    with_copy = Component(**{**component.__dict__, "prepared": (prepared,)})
    assert inputs_digest(with_copy) != inputs_digest(component)


def test_an_image_names_the_build_of_its_binary_or_says_how_to_make_one(tmp_path: Path) -> None:
    program = tmp_path / "traefik"
    program.write_bytes(b"\x7fELF")
    with pytest.raises(
        RuntimeError, match=r"no build stamp: run `python -m tools\.localcluster build`"
    ):
        build_id(program)
    write_stamp(tmp_path, Stamp("traefik", "3.7.13", "abc123", "go1.26.8", 1.0, 1))
    assert build_id(program) == "abc123"
