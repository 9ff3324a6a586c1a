"""The committed PDF of the talk is the render of the committed sources (no browser needed).

The renderer records a digest of every source and of the PDF it wrote; `stale_reasons` is the
same check `python docs/render-presentation.py --check` runs.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from tests.docs import deck
from tests.support.tools import REPO_ROOT


def _renderer() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "render_presentation", REPO_ROOT / "docs" / "render-presentation.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RENDER = _renderer()


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    """A copy of the committed deck, its diagrams, the PDF and its record."""
    for relative in [*RENDER.sources(REPO_ROOT), RENDER.PDF, RENDER.RECORD]:
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / relative, target)
    return tmp_path


def test_the_committed_pdf_is_current() -> None:
    reasons = RENDER.stale_reasons(REPO_ROOT)
    assert not reasons, "\n".join(reasons)


def test_the_pdf_has_one_page_per_slide_and_12_to_14_pages() -> None:
    record = (REPO_ROOT / RENDER.RECORD).read_text(encoding="utf-8")
    pages = int(json.loads(record)["pages"])
    slides = deck.slides((REPO_ROOT / RENDER.DECK).read_text(encoding="utf-8"))
    assert 12 <= pages <= 14
    assert pages == len(slides), f"{pages} PDF pages for {len(slides)} slides"


def test_a_copy_of_the_committed_render_is_current(rendered: Path) -> None:
    assert RENDER.stale_reasons(rendered) == []


def test_an_edited_deck_makes_the_pdf_stale(rendered: Path) -> None:
    deck_file = rendered / RENDER.DECK
    deck_file.write_text(deck_file.read_text(encoding="utf-8") + "\nOne more line.\n")
    reasons = RENDER.stale_reasons(rendered)
    assert reasons[0] == "docs/presentation.md changed since the last render"
    assert "python docs/render-presentation.py" in reasons[-1]


def test_an_edited_or_new_diagram_source_makes_the_pdf_stale(rendered: Path) -> None:
    dot = rendered / RENDER.DIAGRAMS / "pipeline.dot"
    dot.write_text(dot.read_text(encoding="utf-8").replace("smoke", "smoke-test"))
    (rendered / RENDER.DIAGRAMS / "extra.dot").write_text("digraph extra { a -> b }\n")
    reasons = RENDER.stale_reasons(rendered)
    assert "docs/diagrams/pipeline.dot changed since the last render" in reasons
    assert "docs/diagrams/extra.dot is new since the last render" in reasons
    assert "docs/diagrams/extra.dot has no rendered SVG beside it" in reasons


def test_a_replaced_pdf_or_a_missing_record_is_caught(rendered: Path) -> None:
    (rendered / RENDER.PDF).write_bytes(b"%PDF-1.7 not the render\n")
    assert RENDER.stale_reasons(rendered)[0] == (
        "docs/presentation.pdf is not the file the last render wrote"
    )
    (rendered / RENDER.RECORD).unlink()
    assert "is missing" in RENDER.stale_reasons(rendered)[0]
