"""The honest benchmark's A/B: a variant is the chart's set with only the named settings
replaced, cannot take a server's name, and counts only beyond the control pair's band."""

from __future__ import annotations

import argparse

import pytest

from benchmarks.postgres.honest import DURABLE, outside, server_configs, versus_chart

TUNED = {"max_connections": "100", "shared_buffers": "512MB", "jit": "off", **DURABLE}


def test_variant_changes_only_its_settings() -> None:
    configs, variants = server_configs(TUNED, ["jit-on:jit=on"])
    assert list(configs) == ["chart-a", "chart-b", "defaults", "jit-on"]
    assert variants["jit-on"] == {**TUNED, "jit": "on"}
    assert configs["chart-a"] == configs["chart-b"] == TUNED


@pytest.mark.parametrize("spec", ["chart-b:jit=on", "defaults:jit=on", "jit-on", "jit-on:jit"])
def test_bad_variant_is_refused(spec: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        server_configs(TUNED, [spec])


def test_variant_counts_only_outside_the_control_band() -> None:
    noise = [0.9, 1.05]
    band = noise + [1 / r for r in noise]
    assert not outside([0.95, 1.08], band)
    assert outside([0.5, 0.6], band)
    tps = {"chart-a": [100.0, 100.0], "jit-on": [95.0, 120.0]}
    cpu = {"chart-a": [10.0, 10.0], "jit-on": [11.0, 9.0]}
    report = versus_chart(tps, cpu, "jit-on", band)
    assert report["ratio_vs_chart_a"] == {"median": 1.075, "min": 0.95, "max": 1.2}
    assert report["cpu_ratio_vs_chart_a"] == {"median": 1.0, "min": 0.9, "max": 1.1}
    assert report["outside_noise"] is False
