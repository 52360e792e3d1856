"""Working level and ramp rate: track deepening, ignore steady rhythm, stream = batch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.ramp import RampConfig, RampTracker, ramp_batch

RATE_HZ = 200.0


def _t(seconds: float, rate_hz: float = RATE_HZ) -> np.ndarray:
    return np.arange(round(seconds * rate_hz)) / rate_hz


def test_linear_ramp_rate_is_measured() -> None:
    t = _t(6.0)
    p = np.clip((t - 1.0) * 30.0, 0.0, 90.0)  # 30 kPa/s from 1 s to 4 s
    level, rate = ramp_batch(t, p, RATE_HZ)
    middle = (t > 1.6) & (t < 3.8)
    assert np.allclose(rate[middle], 30.0, atol=1.0)
    assert abs(level[-1] - 90.0) < 0.5


def test_steady_kneading_keeps_the_level_flat() -> None:
    t = _t(30.0)
    p = 80.0 * (0.6 + 0.4 * np.cos(2 * np.pi * 0.8 * t))  # deep rhythmic compressions
    level, rate = ramp_batch(t, p, RATE_HZ)
    settled = t > 3.0
    assert np.ptp(level[settled]) < 1.0
    assert np.abs(rate[settled]).max() < 5.0


def test_release_gives_negative_or_zero_rate() -> None:
    t = _t(8.0)
    p = np.where(t < 3.0, 100.0, np.clip(100.0 - (t - 3.0) * 200.0, 0.0, None))
    _, rate = ramp_batch(t, p, RATE_HZ)
    assert rate[t > 1.0].max() < 1.0
    assert rate.min() < -50.0


def test_nan_samples_are_bridged() -> None:
    t = _t(2.0)
    p = np.full(t.size, 40.0)
    p[100:120] = np.nan
    level, rate = ramp_batch(t, p, RATE_HZ)
    assert np.isfinite(level).all() and np.isfinite(rate).all()
    assert np.abs(rate[50:]).max() < 1e-6


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="slope_s"):
        RampConfig(slope_s=0.0)
    with pytest.raises(ValueError, match="rate_hz"):
        RampTracker(0.0)
    with pytest.raises(ValueError, match="peak_spread"):
        RampConfig(peak_spread=-1.0)
    with pytest.raises(ValueError, match="hold_span_s"):
        RampConfig(hold_span_s=float("nan"))


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(1, 400), min_size=1, max_size=20), seed=st.integers(0, 2**16))
def test_any_chunking_gives_the_batch_result(cuts: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = _t(8.0)
    p = np.cumsum(rng.normal(0, 1.0, t.size)) + 50 * (t > 2)
    level, rate = ramp_batch(t, p, RATE_HZ)
    tracker = RampTracker(RATE_HZ)
    bounds = np.unique(np.clip(np.cumsum(cuts), 0, t.size))
    parts = np.split(np.arange(t.size), bounds)
    got = [tracker.update(t[i], p[i]) for i in parts if i.size]
    np.testing.assert_allclose(np.concatenate([g[0] for g in got]), level, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.concatenate([g[1] for g in got]), rate, rtol=0, atol=1e-6)


def test_slow_deepening_of_kneading_reads_as_the_envelope_slope() -> None:
    t = _t(30.0)
    level = 60.0 + 6.0 * t  # deepening at 6 kPa/s while kneading at 1.5 Hz
    p = level * (0.6 + 0.4 * np.cos(2 * np.pi * 1.5 * t))
    _, rate = ramp_batch(t, p, RATE_HZ)
    settled = t > 3.0
    assert rate[settled].max() < 15.0  # well under a 20 kPa/s limit: no flank slopes


def test_pulse_in_a_deep_hold_is_not_a_ramp() -> None:
    t = _t(30.0)
    beat = np.maximum(np.sin(2 * np.pi * 1.3 * t), 0) ** 3  # sharp systolic upstrokes
    p = 140.0 * (1 + 0.03 * beat + 0.02 * np.sin(2 * np.pi * 0.25 * t))
    _, rate = ramp_batch(t, p, RATE_HZ)
    assert rate[t > 3.0].max() < 15.0


def test_fast_press_in_at_one_and_a_half_times_the_limit_is_seen_within_250_ms() -> None:
    t = _t(6.0)
    p = 40.0 + np.clip((t - 3.0) * 30.0, 0.0, 45.0)  # hold, then 30 kPa/s (1.5x of 20)
    _, rate = ramp_batch(t, p, RATE_HZ)
    first = t[np.argmax(rate >= 20.0)]
    assert 3.0 < first < 3.25


def _kneading(
    t: np.ndarray, level: np.ndarray, freq_hz: float, spread: float, seed: int
) -> np.ndarray:
    """Kneading whose cycle peaks vary by ``spread`` (fraction, one draw per cycle)."""
    rng = np.random.default_rng(seed)
    cycle = np.floor(freq_hz * t).astype(int)
    peaks = 1.0 + spread * rng.standard_normal(cycle.max() + 1)
    return level * peaks[cycle] * (0.3 + 0.7 * (0.5 + 0.5 * np.cos(2 * np.pi * freq_hz * t)))


def test_slow_deepening_with_uneven_cycle_peaks_is_not_a_ramp() -> None:
    # kneading deepening from 90 to 146 kPa at 8 kPa/s, then steady; its peaks vary 4 %
    # from cycle to cycle, so a peak 10 kPa above its neighbour is ordinary, not a ramp
    t = _t(40.0)
    # (a draw whose uneven peaks fool the plain peak-to-peak rule: checked below)
    p = _kneading(t, 90.0 + 8.0 * np.clip(t - 5.0, 0.0, 7.0), 1.4, 0.04, seed=5)
    plain = RampConfig(peak_spread=0.0)
    assert ramp_batch(t, p, RATE_HZ, plain)[1][t > 3.0].max() >= 20.0  # without the spread
    assert ramp_batch(t, p, RATE_HZ)[1][t > 3.0].max() < 20.0


def test_deepening_within_one_kneading_cycle_is_warned_at_the_next_peak() -> None:
    t = _t(20.0)
    level = np.where(t < 10.0, 60.0, 90.0)  # +30 kPa between two cycle peaks
    p = _kneading(t, level, 1.0, 0.03, seed=5)
    _, rate = ramp_batch(t, p, RATE_HZ)
    first = t[np.argmax(rate >= 20.0)]
    assert 10.0 < first < 10.4
    assert rate[t < 9.9][t[t < 9.9] > 3.0].max() < 20.0


def test_press_in_from_a_breathing_trough_is_timed_from_the_trough() -> None:
    t = _t(12.0)
    breath = 1.0 + 0.03 * np.sin(2 * np.pi * 0.25 * t)  # troughs at 3 s, 7 s, 11 s
    p = (100.0 + np.clip((t - 7.0) * 30.0, 0.0, 20.0)) * breath  # 30 kPa/s from a trough
    _, rate = ramp_batch(t, p, RATE_HZ)
    first = t[np.argmax(rate >= 20.0)]
    assert 7.0 < first < 7.3
    assert rate[(t > 2.0) & (t < 7.0)].max() < 10.0


def test_a_negative_spike_in_the_first_sample_is_not_a_press_in() -> None:
    t = _t(3.0)
    p = np.zeros(t.size)
    p[0] = -40.0  # the spike gate cannot judge a stream's first sample
    _, rate = ramp_batch(t, p, RATE_HZ)
    assert rate.max() < 1.0


def test_press_in_soon_after_a_release_is_timed_from_where_the_pressure_stood() -> None:
    # a deep hold eased off to 30 kPa, then, 2 s later, pressed in again at 40 kPa/s: the
    # working level of the strokes before must not hide the press-in
    t = _t(12.0)
    p = np.interp(t, [0.0, 2.0, 5.5, 7.5, 8.25, 12.0], [100.0, 100.0, 30.0, 30.0, 60.0, 60.0])
    _, rate = ramp_batch(t, p, RATE_HZ)
    first = t[np.argmax(rate >= 20.0)]
    assert 7.5 < first < 7.8


def _kneading_from_rest(
    t: np.ndarray, start: float, deepen_kpa_s: float, freq_hz: float, compress_frac: float
) -> np.ndarray:
    """Kneading begun from rest at ``start`` whose cycle peaks deepen at ``deepen_kpa_s``;
    each compression takes ``compress_frac`` of its cycle (a quick compress, slow release)
    and swings down to a fifth of its peak."""
    since = np.clip(t - start, 0.0, None)
    phase = (freq_hz * since) % 1.0
    press = 0.5 - 0.5 * np.cos(np.pi * np.minimum(phase / compress_frac, 1.0))
    ease = 0.5 + 0.5 * np.cos(np.pi * np.clip((phase - compress_frac) / (1 - compress_frac), 0, 1))
    shape = np.where(phase < compress_frac, press, ease)
    return np.where(t >= start, deepen_kpa_s * since * (0.2 + 0.8 * shape), 0.0)


def test_kneading_begun_from_rest_at_a_slow_deepening_is_not_a_ramp() -> None:
    # the first cycle peaks at 1.8 kPa, the second at 9 kPa, 0.19 s after its trough:
    # measured from that first peak (contact from 1.5 kPa) the envelope rises at 9.5 kPa/s;
    # measured from zero (contact from 3 kPa) the second compression reads as a press-in
    # at 30 kPa/s
    t = _t(12.0)
    p = _kneading_from_rest(t, 2.0, 9.5, 1.3, 0.25)
    assert ramp_batch(t, p, RATE_HZ)[1].max() < 20.0
    assert ramp_batch(t, p, RATE_HZ, RampConfig(contact_kpa=3.0))[1].max() >= 20.0


def test_a_step_from_a_breathing_trough_is_not_hidden_by_a_bump_before_it() -> None:
    # a hold at 137 kPa breathing by 3 %, a 4 kPa tremor bump 0.55 s before a trough, then
    # 12.5 kPa more within 90 ms: the base reaches back 0.3 s, not to the bump
    t = _t(10.0)
    onset = 8.75  # a breathing trough
    p = 137.0 * (1.0 + 0.03 * np.sin(2 * np.pi * 0.2 * t))
    p += 4.0 * np.exp(-0.5 * ((t - (onset - 0.55)) / 0.04) ** 2)
    p += 12.5 * np.clip((t - onset) / 0.09, 0.0, 1.0)
    _, rate = ramp_batch(t, p, RATE_HZ)
    first = t[np.argmax(rate >= 20.0)]
    assert onset < first < onset + 0.3
    assert rate[(t > 2.0) & (t < onset)].max() < 10.0
    # (the quick-rise floor alone would also catch this step: off, to test the span)
    old = RampConfig(hold_span_s=0.6, quick_rise_kpa=None)
    assert ramp_batch(t, p, RATE_HZ, old)[1].max() < 20.0


def test_a_steep_press_in_counts_before_a_quarter_second_but_a_small_quick_bump_does_not() -> None:
    # at the default 50 kPa/s limit: a press-in at 75 kPa/s is told within 150 ms, as its
    # rise soon passes what a pulse or tremor gives; with the full 0.25 s floor for every
    # rise it takes over 200 ms
    t = _t(6.0)
    p = 40.0 + np.clip((t - 3.0) * 75.0, 0.0, 45.0)
    _, rate = ramp_batch(t, p, RATE_HZ)
    assert 3.0 < t[np.argmax(rate >= 50.0)] < 3.15
    _, slow = ramp_batch(t, p, RATE_HZ, RampConfig(quick_rise_kpa=None))
    assert t[np.argmax(slow >= 50.0)] > 3.2
    # a 3.9 kPa bump within 80 ms (a strong pulse upstroke) keeps the full floor
    bump = 100.0 + 3.9 * np.clip((t - 3.0) / 0.08, 0.0, 1.0)
    assert ramp_batch(t, bump, RATE_HZ)[1].max() < 17.0


def test_quick_rise_must_be_positive_or_none() -> None:
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="quick_rise_kpa"):
            RampConfig(quick_rise_kpa=bad)
    assert RampConfig(quick_rise_kpa=None).quick_rise_kpa is None
