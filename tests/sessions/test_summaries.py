"""Joining the summaries of the parts of a session split by a settings change."""

from __future__ import annotations

import pytest

from analysis.pipeline import Pipeline, PipelineConfig
from firmware_bridge.devices.simulator import simulate
from sessions.summaries import merge_summaries


def test_parts_of_a_real_session_join_up() -> None:
    info, frame = simulate(4, duration_s=40.0)
    half = frame.n // 2
    first = Pipeline(info, PipelineConfig(area_cm2=2.0))
    first.process(frame.slice(0, half))
    second = Pipeline(info, PipelineConfig(area_cm2=4.0))
    second.process(frame.slice(half, frame.n))
    a, b = first.result(), second.result()
    m = merge_summaries([a, b])
    assert m["samples"] == frame.n
    assert m["duration_s"] == pytest.approx(40.0, abs=0.02)
    assert m["peak_kpa"] == max(a["peak_kpa"], b["peak_kpa"])
    assert m["contact_s"] == pytest.approx(a["contact_s"] + b["contact_s"])
    for k in a["stroke_s"]:
        assert m["stroke_s"][k] == pytest.approx(a["stroke_s"][k] + b["stroke_s"][k])
    lo, hi = sorted((a["mean_kpa"], b["mean_kpa"]))
    assert lo <= m["mean_kpa"] <= hi
    assert m["rate_hz"] == pytest.approx(100.0, rel=1e-3)
    assert set(m) == set(b)


def test_one_part_and_none() -> None:
    only = {"samples": 3, "peak_kpa": None, "notes": ["n"]}
    assert merge_summaries([only]) == only
    assert merge_summaries([only, {"samples": 2, "peak_kpa": 5.0, "notes": ["n"]}]) == {
        "samples": 5,
        "peak_kpa": 5.0,
        "notes": ["n"],
    }
    with pytest.raises(ValueError, match="at least one"):
        merge_summaries([])
