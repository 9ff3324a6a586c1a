"""JUnit XML for one stage, the format Jenkins' `junit` step publishes.

Each step is a test case; a failed check or command is a <failure> carrying its message and
output tail, so a red stage in Jenkins shows why without opening the console log.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Case:
    """One JUnit test case: a pipeline step and its outcome."""

    name: str
    seconds: float
    failure: str | None = None
    skipped: str | None = None
    output: str = ""


def write_junit(path: Path, suite: str, cases: list[Case]) -> None:
    """Write a <testsuites> document with one <testsuite> named after the stage."""
    failures = sum(1 for case in cases if case.failure is not None)
    skipped = sum(1 for case in cases if case.skipped is not None)
    total = sum(case.seconds for case in cases)
    root = ET.Element("testsuites", name="pipelines")
    element = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{total:.3f}",
    )
    for case in cases:
        node = ET.SubElement(
            element,
            "testcase",
            classname=f"pipelines.{suite}",
            name=case.name,
            time=f"{case.seconds:.3f}",
        )
        if case.failure is not None:
            failure = ET.SubElement(node, "failure", message=case.failure)
            failure.text = case.output
        elif case.skipped is not None:
            ET.SubElement(node, "skipped", message=case.skipped)
        elif case.output:
            ET.SubElement(node, "system-out").text = case.output
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
