"""A promotion commit's edits: the image digests of a gitops HelmRelease and the chart digest
of its OCIRepository, and nothing else.

The gitops files are reviewed documents with comments, so an edit replaces the value of each
`digest:` line in place instead of re-serialising the YAML; the result is parsed back and must
equal the original with exactly those fields changed, so an edit that touched anything else (or
missed a field) is refused instead of committed.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

import yaml

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
VALUES_PATH = ("spec", "values")
"""Where a HelmRelease keeps its inline values (the image settings a promotion writes)."""
CHART_DIGEST_PATH = ("spec", "ref", "digest")
"""Where an OCIRepository pins the artefact it pulls (the chart a promotion writes)."""
_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(?P<rest>.*)$")


class PromotionRefused(ValueError):
    """The HelmRelease cannot take these digests (a field is missing or a digest malformed)."""


def digest_path(values_key: str) -> tuple[str, ...]:
    """The document path of an image's digest, e.g. `inventory-api.image` ->
    spec.values.inventory-api.image.digest."""
    return (*VALUES_PATH, *values_key.split("."), "digest")


def promote(text: str, digests: Mapping[str, str], keys: Mapping[str, str]) -> str:
    """`text` (one HelmRelease) with each image's digest set; `keys`: image -> its values key."""
    unknown = sorted(set(digests) - set(keys))
    malformed = sorted(image for image, value in digests.items() if not DIGEST.fullmatch(value))
    if unknown or malformed:
        raise PromotionRefused(
            "; ".join(
                [
                    *(f"no values key for image {image}" for image in unknown),
                    *(f"{image}: {digests[image]!r} is not sha256:<64 hex>" for image in malformed),
                ]
            )
        )
    wanted = {digest_path(keys[image]): value for image, value in digests.items()}
    return _set_fields(text, wanted, "HelmRelease")


def pin_chart(text: str, digest: str) -> str:
    """`text` (one OCIRepository) pinned to the chart artefact `digest`."""
    if not DIGEST.fullmatch(digest):
        raise PromotionRefused(f"chart: {digest!r} is not sha256:<64 hex>")
    return _set_fields(text, {CHART_DIGEST_PATH: digest}, "OCIRepository")


def _set_fields(text: str, wanted: Mapping[tuple[str, ...], str], kind: str) -> str:
    """`text` with each wanted path's scalar line set in place, checked by parsing it back."""
    lines = text.splitlines(keepends=True)
    found: set[tuple[str, ...]] = set()
    stack: list[tuple[int, str]] = []
    for number, line in enumerate(lines):
        match = _KEY_LINE.match(line)
        if not match:
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"]))
        path = tuple(key for _, key in stack)
        if path in wanted:
            ending = "\n" if line.endswith("\n") else ""
            lines[number] = f'{match["indent"]}{match["key"]}: "{wanted[path]}"{ending}'
            found.add(path)
    missing = sorted(".".join(path) for path in set(wanted) - found)
    if missing:
        raise PromotionRefused(f"the {kind} has no {', '.join(missing)}")
    promoted = "".join(lines)
    _check(text, promoted, wanted)
    return promoted


def promoted_digests(text: str, keys: Mapping[str, str]) -> dict[str, str]:
    """The digests a HelmRelease holds, image -> digest (empty ones left out)."""
    document = yaml.safe_load(text)
    found = {}
    for image, key in keys.items():
        value = _get(document, digest_path(key))
        if value:
            found[image] = str(value)
    return found


def _check(original: str, promoted: str, wanted: Mapping[tuple[str, ...], str]) -> None:
    """The promoted document is the original with exactly the wanted fields set."""
    expected = copy.deepcopy(yaml.safe_load(original))
    for path, value in wanted.items():
        parent = _get(expected, path[:-1])
        if not isinstance(parent, dict):
            raise PromotionRefused(f"{'.'.join(path[:-1])} is not a mapping")
        parent[path[-1]] = value
    if yaml.safe_load(promoted) != expected:
        raise PromotionRefused("the edit changed more than the digests")


def _get(document: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document
