"""Session figures: contact, zones, integral, longest hold, warning time."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.strokes import StrokeLabel
from analysis.summary import SummaryBuilder
from analysis.warning_level import Episode, Level


def test_figures_from_samples_and_windows() -> None:
    b = SummaryBuilder(rate_hz=10.0, hop_s=0.25, window_s=2.0)
    t = np.arange(40) / 10.0
    p = np.concatenate([np.zeros(10), np.full(10, 30.0), np.full(10, 100.0), np.full(10, 200.0)])
    warning = np.full(40, Level.OK, np.int8)
    warning[20:25] = Level.CAUTION
    warning[25:27] = Level.TOO_FAST
    b.add_samples(t, p, gaps=1)
    b.add_blocks(np.linspace(-5, 40, 40), warning, block_s=0.1)
    b.add_windows([StrokeLabel(0, 2, "hold", 0.9)] * 5 + [StrokeLabel(0, 2, "kneading", 0.9)])
    s = b.result([Episode("ramp", 2.5, 2.7, 40.0), Episode("ceiling", 3.0, None, 200.0)])
    assert s["samples"] == 40 and s["gaps"] == 1
    assert s["duration_s"] == pytest.approx(4.0)
    assert s["zone_s"] == {"gentle": 1.0, "working": 1.0, "deep": 1.0}
    assert s["contact_s"] == 3.0 and s["peak_kpa"] == 200.0 and s["mean_kpa"] == 110.0
    assert s["pressure_time_integral_kpa_s"] == pytest.approx(330.0)
    assert s["longest_hold_s"] == pytest.approx(3.0)  # 5 windows: 4 hops + one window
    assert s["stroke_s"]["hold"] == 1.25 and s["stroke_s"]["kneading"] == 0.25
    assert s["caution_s"] == pytest.approx(0.5)
    assert s["warnings"] == 1 and s["ceiling_crossings"] == 1
    assert s["warning_s"] == pytest.approx(0.2)
    assert s["max_rate_kpa_s"] == 40.0


def test_streams_without_pressure_report_none() -> None:
    b = SummaryBuilder(rate_hz=100.0, hop_s=0.25)
    b.add_samples(np.arange(5) / 100, None)
    b.add_blocks(np.full(5, np.nan), np.full(5, Level.UNKNOWN, np.int8), block_s=0.01)
    s = b.result([])
    assert s["peak_kpa"] is None and s["zone_s"] is None and s["max_rate_kpa_s"] is None


def test_any_chunking_gives_the_same_sums() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(20_000) / 1000.0
    p = np.abs(np.cumsum(rng.normal(0, 2.0, t.size)))
    whole = SummaryBuilder(rate_hz=1000.0, hop_s=0.25)
    whole.add_samples(t, p)
    parts = SummaryBuilder(rate_hz=1000.0, hop_s=0.25)
    for i in np.split(np.arange(t.size), np.cumsum(rng.integers(1, 3000, 30))):
        parts.add_samples(t[i], p[i])
    assert whole.result([]) == parts.result([])
