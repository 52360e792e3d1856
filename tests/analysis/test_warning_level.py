"""The warning state machine: levels with hysteresis, release never warns, ceilings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.stream import EventKind
from analysis.warning_level import (
    LEVEL_NAMES,
    Level,
    WarningConfig,
    WarningTracker,
)


def _run(rates: list[float], levels_kpa: list[float] | None = None, **cfg: float | None):
    tracker = WarningTracker(WarningConfig(**cfg))  # type: ignore[arg-type]
    r = np.asarray(rates, dtype=float)
    lv = np.zeros_like(r) if levels_kpa is None else np.asarray(levels_kpa, dtype=float)
    levels, events = tracker.update(np.arange(r.size) * 0.1, r, lv)
    return tracker, [LEVEL_NAMES[Level(int(v))] for v in levels], events


def test_nan_keeps_the_state_and_reads_unknown() -> None:
    _, names, events = _run([60, np.nan, 40, 10], ceiling_kpa=None)
    assert names == ["too fast", "unknown", "too fast", "ok"]
    assert [e.data["level"] for e in events] == ["too fast", "unknown", "too fast", "ok"]


def test_levels_rise_and_clear_with_hysteresis() -> None:
    _, names, events = _run([0, 30, 55, 45, 35, 29, 14, 0], ceiling_kpa=None)
    assert names == ["ok", "caution", "too fast", "too fast", "too fast", "caution", "ok", "ok"]
    assert [e.data["level"] for e in events] == ["caution", "too fast", "caution", "ok"]
    ended = events[2].data
    assert ended["peak_rate_kpa_s"] == 55 and ended["since"] == pytest.approx(0.2)


def test_rate_hovering_at_the_limit_does_not_flicker() -> None:
    rates = 50 + 8 * np.sin(np.arange(100))  # 42..58 kPa/s around the 50 kPa/s limit
    tracker, _, events = _run([0, *rates.tolist()], ceiling_kpa=None)
    assert sum(e.data["level"] == "too fast" for e in events) == 1
    assert tracker.open_episodes()[0].peak == pytest.approx(rates.max())


def test_release_never_warns() -> None:
    _, names, events = _run([-200, -80, -10, 0], ceiling_kpa=None)
    assert set(names) == {"ok"} and events == []


def test_unknown_rate_is_reported_as_unknown() -> None:
    _, names, _ = _run([np.nan, np.nan], ceiling_kpa=None)
    assert names == ["unknown", "unknown"]


def test_episodes_close_across_blocks() -> None:
    tracker = WarningTracker(WarningConfig(ceiling_kpa=None))
    t = np.arange(10) * 0.1
    tracker.update(t[:4], np.array([0, 60, 70, 65.0]), np.zeros(4))
    tracker.update(t[4:], np.array([90, 40, 20, 0, 0, 0.0]), np.zeros(6))
    (ep,) = tracker.episodes
    assert (ep.start, ep.end, ep.peak) == (pytest.approx(0.1), pytest.approx(0.6), 90)


def test_ceiling_crossing_and_warmup() -> None:
    cfg = WarningConfig(ceiling_kpa=100.0, warmup_s=100.0, warmup_start_fraction=0.5)
    assert [cfg.ceiling_at_time(t, 0.0) for t in (0.0, 50.0, 200.0)] == [50.0, 75.0, 100.0]
    tracker = WarningTracker(cfg)
    t = np.array([0.0, 1.0, 2.0, 3.0])
    _, events = tracker.update(t, np.zeros(4), np.array([10.0, 60.0, 70.0, 20.0]))
    kinds = [(e.kind, e.data["on"], e.data["which"]) for e in events]
    assert kinds == [(EventKind.CEILING, True, "warm-up"), (EventKind.CEILING, False, "warm-up")]
    assert tracker.episodes[0].peak == 70.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"caution_kpa_s": 60.0, "limit_kpa_s": 50.0}, "caution <= limit"),
        ({"release_fraction": 1.0}, "release_fraction"),
        ({"ceiling_kpa": -1.0}, "ceiling_kpa"),
        ({"warmup_s": -1.0}, "warmup_s"),
    ],
)
def test_bad_config_raises(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WarningConfig(**kwargs)


def test_pain_mark_sets_a_personal_ceiling() -> None:
    tracker = WarningTracker(WarningConfig(ceiling_kpa=300.0, pain_fraction=0.8))
    event = tracker.mark_pain(5.0, 100.0)
    assert event.kind == EventKind.PAIN and event.data["personal_ceiling_kpa"] == 80.0
    tracker.mark_pain(6.0, 150.0)  # a later mark at a higher level keeps the lower ceiling
    assert tracker.personal_ceiling_kpa == 80.0
    t = np.array([7.0, 8.0, 9.0])
    _, events = tracker.update(t, np.zeros(3), np.array([70.0, 85.0, 60.0]))
    assert [(e.data["on"], e.data["which"]) for e in events] == [
        (True, "personal"),
        (False, "personal"),
    ]
    with pytest.raises(ValueError, match="positive pressure"):
        tracker.mark_pain(10.0, float("nan"))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    cuts=st.lists(st.integers(1, 40), min_size=1, max_size=12),
    warmup=st.booleans(),
)
def test_any_chunking_gives_the_same_levels_and_events(
    seed: int, cuts: list[int], warmup: bool
) -> None:
    rng = np.random.default_rng(seed)
    n = 200
    t = np.arange(n) * 0.02
    # mostly calm, with bursts past the thresholds, a few NaN and a level near the ceiling
    rate = np.where(rng.random(n) < 0.9, rng.normal(0, 5, n), rng.uniform(20, 80, n))
    rate[rng.integers(0, n, 3)] = np.nan
    level = 80 + 30 * np.sin(t) + rng.normal(0, 2, n)
    cfg = WarningConfig(ceiling_kpa=100.0, warmup_s=2.0 if warmup else 0.0)
    whole = WarningTracker(cfg)
    levels, events = whole.update(t, rate, level)
    parts = WarningTracker(cfg)
    got_levels, got_events = [], []
    for i in np.split(np.arange(n), np.unique(np.clip(np.cumsum(cuts), 0, n))):
        if i.size:
            lv, ev = parts.update(t[i], rate[i], level[i])
            got_levels.append(lv)
            got_events += ev
    np.testing.assert_array_equal(np.concatenate(got_levels), levels)
    assert got_events == events
    assert parts.episodes == whole.episodes
