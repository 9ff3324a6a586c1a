"""The promotion commit's edits: a gitops HelmRelease's image digests and its chart source's
digest, nothing else.

Runs on every HelmRelease and chart source under gitops/ with the deploy stage's own image
table, then on fixtures that break it: a missing digest field, an unknown image, a malformed
digest.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import yaml

from pipelines.core.image_promotion import (
    CHART_DIGEST_PATH,
    PromotionRefused,
    digest_path,
    pin_chart,
    promote,
    promoted_digests,
)
from pipelines.stages.deploy import IMAGE_VALUES
from tests.support.tools import REPO_ROOT

RELEASES = sorted((REPO_ROOT / "gitops").glob("*/helmrelease.yaml"))
CHART_SOURCES = sorted((REPO_ROOT / "gitops").glob("*/chart.yaml"))


def digest_of(name: str) -> str:
    return f"sha256:{hashlib.sha256(name.encode()).hexdigest()}"


DIGESTS = {image: digest_of(image) for image in IMAGE_VALUES}


@pytest.mark.parametrize("path", RELEASES, ids=lambda path: path.parent.name)
def test_every_image_digest_is_set_and_nothing_else_changes(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    promoted = promote(text, DIGESTS, IMAGE_VALUES)
    assert promoted_digests(promoted, IMAGE_VALUES) == DIGESTS
    changed = [
        (old, new)
        for old, new in zip(text.splitlines(), promoted.splitlines(), strict=True)
        if old != new
    ]
    assert len(changed) == len(DIGESTS)
    assert all(old.strip() == 'digest: ""' for old, _ in changed)


@pytest.mark.parametrize("path", RELEASES, ids=lambda path: path.parent.name)
def test_a_second_promotion_replaces_the_first(path: Path) -> None:
    first = promote(path.read_text(encoding="utf-8"), DIGESTS, IMAGE_VALUES)
    newer = {image: digest_of(f"{image}-2") for image in IMAGE_VALUES}
    assert promoted_digests(promote(first, newer, IMAGE_VALUES), IMAGE_VALUES) == newer


def test_comments_survive() -> None:
    text = RELEASES[0].read_text(encoding="utf-8")
    promoted = promote(text, DIGESTS, IMAGE_VALUES)
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert comments
    assert all(line in promoted.splitlines() for line in comments)


def test_a_release_without_a_digest_field_is_refused() -> None:
    document = yaml.safe_load(RELEASES[0].read_text(encoding="utf-8"))
    del document["spec"]["values"]["postgresql"]["pooler"]["image"]["digest"]
    with pytest.raises(PromotionRefused, match=re.escape("postgresql.pooler.image.digest")):
        promote(yaml.safe_dump(document), DIGESTS, IMAGE_VALUES)


def test_an_image_without_a_values_key_is_refused() -> None:
    text = RELEASES[0].read_text(encoding="utf-8")
    with pytest.raises(PromotionRefused, match="no values key for image cert-manager"):
        promote(text, {**DIGESTS, "cert-manager": digest_of("cert-manager")}, IMAGE_VALUES)


@pytest.mark.parametrize("digest", ["sha256:abc", "latest", f"sha512:{'0' * 64}", ""])
def test_a_malformed_digest_is_refused(digest: str) -> None:
    text = RELEASES[0].read_text(encoding="utf-8")
    with pytest.raises(PromotionRefused, match="is not sha256"):
        promote(text, {**DIGESTS, "api": digest}, IMAGE_VALUES)


def test_a_digest_key_elsewhere_is_not_taken_for_the_images() -> None:
    """A `digest:` at another path (here under spec.chartRef) is left alone."""
    text = RELEASES[0].read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    document["spec"]["chartRef"]["digest"] = ""
    document["spec"]["values"]["inventory-api"]["image"].pop("digest")
    wanted = re.escape(".".join(digest_path("inventory-api.image")))
    with pytest.raises(PromotionRefused, match=wanted):
        promote(yaml.safe_dump(document), DIGESTS, IMAGE_VALUES)


@pytest.mark.parametrize("path", CHART_SOURCES, ids=lambda path: path.parent.name)
def test_the_chart_digest_is_pinned_and_nothing_else_changes(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    pinned = yaml.safe_load(pin_chart(text, digest_of("chart")))
    original = yaml.safe_load(text)
    spec, ref = CHART_DIGEST_PATH[0], CHART_DIGEST_PATH[1]
    assert pinned[spec][ref] == {"digest": digest_of("chart")}
    pinned[spec][ref] = original[spec][ref]
    assert pinned == original


def test_every_environment_folder_has_a_chart_source_beside_its_release() -> None:
    assert [p.parent for p in CHART_SOURCES] == [p.parent for p in RELEASES]


def test_a_chart_source_without_a_digest_field_is_refused() -> None:
    text = "kind: OCIRepository\nspec:\n  ref:\n    tag: latest\n"
    with pytest.raises(PromotionRefused, match=r"the OCIRepository has no spec\.ref\.digest"):
        pin_chart(text, digest_of("chart"))


def test_a_malformed_chart_digest_is_refused() -> None:
    text = (REPO_ROOT / "gitops" / "local" / "chart.yaml").read_text(encoding="utf-8")
    with pytest.raises(PromotionRefused, match="chart: 'sha256:abc' is not sha256:<64 hex>"):
        pin_chart(text, "sha256:abc")
