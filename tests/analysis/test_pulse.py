"""Pulse check: a small steady rhythm at heart rate during a hold is found, strokes are not."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.pressure import PressureMap
from analysis.pulse import PULSE_REASON, PulseConfig, PulseDetector, PulseState
from analysis.stream import Event, EventKind
from firmware_bridge.devices.simulator import Script, simulate

AREA_CM2 = 2.0  # the simulator's default contact area


_RENDERED: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def _pressure(
    steps: tuple[tuple[object, ...], ...], rate_hz: float, channels: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Times (s) and pressure (kPa) of a simulated script, rendered once per test run."""
    key = repr((steps, rate_hz, channels, seed))
    if key not in _RENDERED:
        script = Script.scripted(list(steps))
        info, frame = simulate(script, rate_hz=rate_hz, channels=channels, seed=seed)
        pressure = PressureMap(info, AREA_CM2).pressure_kpa(frame.x)
        assert pressure is not None
        _RENDERED[key] = (frame.t, pressure)
    return _RENDERED[key]


def _run(
    t: np.ndarray,
    p: np.ndarray,
    rate_hz: float,
    chunk_s: float = 0.5,
    config: PulseConfig | None = None,
) -> tuple[list[Event], PulseDetector]:
    detector = PulseDetector(rate_hz, config)
    step = max(1, round(chunk_s * rate_hz))
    events: list[Event] = []
    for i in range(0, t.size, step):
        events += detector.update(t[i : i + step], p[i : i + step])
    return events, detector


def _hold(level_kpa: float, seconds: float, **options: float) -> tuple[object, ...]:
    return ("hold", seconds, level_kpa, {"ramp_kpa_s": 20.0, **options})


def _synthetic(seconds: float, rate_hz: float) -> np.ndarray:
    return np.arange(round(seconds * rate_hz)) / rate_hz


# -- pulses are found -------------------------------------------------------------------------


@pytest.mark.parametrize("rate_hz", [100.0, 1000.0])
@pytest.mark.parametrize("channels", [1, 4])
@pytest.mark.parametrize(("bpm", "frac"), [(50.0, 0.015), (72.0, 0.01), (110.0, 0.03)])
def test_a_pulse_under_the_hand_is_found(
    rate_hz: float, channels: int, bpm: float, frac: float
) -> None:
    # a deep abdominal hold; 1 % of 60 kPa is 0.6 kPa peak to peak
    steps = (("rest", 3.0), _hold(60.0, 25.0, pulse_bpm=bpm, pulse_frac=frac), ("rest", 4.0))
    t, p = _pressure(steps, rate_hz, channels, 11)
    events, detector = _run(t, p, rate_hz)
    on = [e for e in events if e.data["on"]]
    off = [e for e in events if not e.data["on"]]
    assert len(on) == 1 and len(off) == 1
    assert on[0].kind == EventKind.PULSE
    assert 6.0 < on[0].t <= 6.0 + 9.0  # within 9 s of the end of the press-in
    assert on[0].data["bpm"] == pytest.approx(bpm, abs=5.0)
    assert on[0].data["reason"] == PULSE_REASON
    assert 0.5 * frac * 60.0 < on[0].data["amplitude_kpa"] < 1.5 * frac * 60.0
    assert 28.0 - 2.0 < off[0].t < 28.0 + 1.5  # the release starts 0.7 s before 28 s
    assert detector.state == PulseState()


def test_state_reports_the_pulse_while_it_is_felt() -> None:
    steps = (("rest", 2.0), _hold(60.0, 30.0, pulse_bpm=64.0, pulse_frac=0.02))
    t, p = _pressure(steps, 200.0, 1, 3)
    detector = PulseDetector(200.0)
    detector.update(t[t < 20.0], p[t < 20.0])
    state = detector.state
    assert state.on and state.bpm == pytest.approx(64.0, abs=2.0)
    assert state.amplitude_kpa == pytest.approx(0.02 * 60.0, rel=0.35)


def test_a_deep_breath_does_not_hide_the_pulse() -> None:
    # belly breathing under the hand swings the pressure by 10 %, the pulse by 1.5 %
    rate_hz = 100.0
    t = _synthetic(30.0, rate_hz)
    beat = np.exp(-(((((t * 80.0 / 60.0) % 1.0) - 0.3) / 0.08) ** 2))
    p = 50.0 * (1.0 + 0.1 * np.sin(2 * np.pi * 0.22 * t) + 0.015 * (beat - beat.mean()))
    events, _ = _run(t, p + np.random.default_rng(0).normal(0.0, 0.1, t.size), rate_hz)
    assert [e.data["on"] for e in events] == [True]
    assert events[0].data["bpm"] == pytest.approx(80.0, abs=2.0)


# -- and go away -------------------------------------------------------------------------------


def test_moving_off_the_artery_switches_the_pulse_off() -> None:
    steps = (
        ("rest", 2.0),
        _hold(50.0, 20.0, pulse_bpm=70.0, pulse_frac=0.02),
        ("hold", 20.0, 50.0),  # same depth, a little to the side: no pulse
    )
    t, p = _pressure(steps, 100.0, 4, 5)
    events, detector = _run(t, p, 100.0)
    assert [e.data["on"] for e in events] == [True, False]
    assert 22.0 < events[1].t < 22.0 + 8.0
    assert events[1].data["bpm"] == pytest.approx(70.0, abs=3.0)
    assert not detector.state.on


# -- everything else is not a pulse -------------------------------------------------------------


@pytest.mark.parametrize("rate_hz", [100.0, 1000.0])
@pytest.mark.parametrize("channels", [1, 4])
def test_holds_without_a_pulse_are_never_flagged(rate_hz: float, channels: int) -> None:
    steps = (
        ("rest", 3.0),
        _hold(15.0, 40.0),
        ("rest", 3.0),
        _hold(40.0, 40.0),
        _hold(120.0, 40.0),
        ("rest", 3.0),
    )
    for seed in (1, 2):
        t, p = _pressure(steps, rate_hz, channels, seed)
        assert _run(t, p, rate_hz)[0] == []


@pytest.mark.parametrize("rate_hz", [100.0, 1000.0])
def test_strokes_ramps_and_rest_are_never_flagged(rate_hz: float) -> None:
    steps = (
        ("rest", 10.0),
        ("kneading", 20.0, 60.0, 0.8),
        ("kneading", 20.0, 60.0, 1.3, {"depth": 0.6}),
        ("kneading", 20.0, 60.0, 2.0, {"compress_frac": 0.6}),
        ("rest", 3.0),
        ("circular", 20.0, 50.0, 0.5, {"depth": 0.2}),
        ("circular", 20.0, 50.0, 1.0),
        ("circular", 20.0, 50.0, 1.5, {"depth": 0.45}),
        ("rest", 3.0),
        ("hold", 45.0, 120.0, {"ramp_kpa_s": 3.0}),  # a slow 40 s press-in
        ("rest", 3.0),
    )
    for channels in (1, 4):
        t, p = _pressure(steps, rate_hz, channels, 8)
        events, detector = _run(t, p, rate_hz)
        assert events == []
        assert not detector.state.on


# short deepenings and slow releases: where a ramp starts or stops, the trend leaves a
# brief ringing near 0.8 Hz that looks like a small, sharp pulse at 45-50 bpm
_KINKS = (
    ("rest", 3.0),
    ("hold", 15.0, 57.5, {"ramp_kpa_s": 8.0}),
    ("hold", 12.0, 75.0, {"ramp_kpa_s": 9.6}),
    ("hold", 12.0, 112.5, {"ramp_kpa_s": 12.0}),
    ("hold", 28.0, 123.5, {"ramp_kpa_s": 6.3, "release_kpa_s": -8.0}),
    ("rest", 3.0),
    ("hold", 20.0, 46.5, {"ramp_kpa_s": 10.0}),
    ("hold", 30.0, 149.0, {"ramp_kpa_s": 9.0, "release_kpa_s": -9.5}),
    ("rest", 3.0),
)


@pytest.mark.parametrize("rate_hz", [100.0, 1000.0])
def test_where_ramps_start_and_stop_is_not_a_pulse(rate_hz: float) -> None:
    loose = PulseConfig(min_steadiness=0.0, on_count=3)  # without the guards against it
    fooled = 0
    for seed in (1, 3):
        t, p = _pressure(_KINKS, rate_hz, 1, seed)
        assert _run(t, p, rate_hz)[0] == []
        fooled += len(_run(t, p, rate_hz, config=loose)[0])
    assert fooled > 0  # the script does hold the trap


def test_breathing_tremor_and_noise_alone_are_not_a_pulse() -> None:
    rate_hz = 500.0
    t = _synthetic(40.0, rate_hz)
    rng = np.random.default_rng(1)
    breath = 0.05 * np.sin(2 * np.pi * 0.3 * t) + 0.01 * np.sin(2 * np.pi * 0.6 * t + 1.0)
    tremor = 0.008 * np.sin(2 * np.pi * 9.5 * t)
    p = 40.0 * (1.0 + breath + tremor) + rng.normal(0.0, 0.2, t.size)
    assert _run(t, p, rate_hz)[0] == []


def test_a_big_rhythm_at_heart_rate_is_a_stroke_not_a_pulse() -> None:
    rate_hz = 100.0
    t = _synthetic(30.0, rate_hz)
    for swing in (0.1, 0.3):  # 10 % and 30 % swings at 72 per minute
        p = 40.0 * (1.0 + swing * np.sin(2 * np.pi * 1.2 * t))
        assert _run(t, p, rate_hz)[0] == []


def test_light_contact_is_not_judged() -> None:
    rate_hz = 100.0
    t = _synthetic(30.0, rate_hz)
    beat = np.sin(2 * np.pi * 1.2 * t)
    p = 6.0 * (1.0 + 0.03 * beat)  # a clear pulse, but below min_level_kpa
    assert _run(t, p, rate_hz)[0] == []


def test_nan_and_infinite_samples_are_not_contact() -> None:
    rate_hz = 100.0
    t = _synthetic(30.0, rate_hz)
    p = 40.0 * (1.0 + 0.02 * np.sin(2 * np.pi * 1.2 * t))
    p[t > 15.0] = np.nan
    p[t > 22.0] = np.inf
    events, detector = _run(t, p, rate_hz)
    assert [e.data["on"] for e in events] == [True, False]
    assert not detector.state.on


# -- streaming ----------------------------------------------------------------------------------

_STREAM_STEPS = (
    ("rest", 2.0),
    _hold(45.0, 16.0, pulse_bpm=90.0, pulse_frac=0.02),
    ("kneading", 8.0, 45.0, 1.0),
    _hold(30.0, 14.0, pulse_bpm=58.0, pulse_frac=0.03),
    ("rest", 2.0),
)


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(1, 700), min_size=1, max_size=30))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    rate_hz = 200.0
    t, p = _pressure(_STREAM_STEPS, rate_hz, 1, 21)
    whole, reference = _run(t, p, rate_hz, chunk_s=1e9)
    assert [e.data["on"] for e in whole] == [True, False, True, False]
    detector = PulseDetector(rate_hz)
    sizes = np.resize(np.array(cuts), t.size)  # the pattern of cuts, repeated
    bounds = np.unique(np.clip(np.cumsum(sizes), 0, t.size))
    events: list[Event] = []
    for part in np.split(np.arange(t.size), bounds):
        events += detector.update(t[part], p[part])
    assert events == whole
    assert detector.state == reference.state


def test_empty_and_tiny_blocks_are_fine() -> None:
    rate_hz = 1000.0
    t, p = _pressure(_STREAM_STEPS, rate_hz, 1, 21)
    whole, _ = _run(t, p, rate_hz, chunk_s=1.0)
    detector = PulseDetector(rate_hz)
    events: list[Event] = []
    for i in range(0, t.size, 7):
        events += detector.update(t[i:i], p[i:i])
        events += detector.update(t[i : i + 7], p[i : i + 7])
    assert events == whole


# -- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"window_s": 0.0}, "window_s"),
        ({"hop_s": -1.0}, "hop_s"),
        ({"window_s": 2.0, "hop_s": 1.0}, "at least 3 cycles"),
        ({"window_s": 4.0, "hop_s": 5.0}, "hop_s"),
        ({"band_hz": (2.0, 0.8)}, "band_hz"),
        ({"band_hz": (0.8,)}, "band_hz"),
        ({"min_rel_amplitude": 0.1, "max_rel_amplitude": 0.05}, "min_rel_amplitude"),
        ({"min_level_kpa": float("nan")}, "min_level_kpa"),
        ({"on_count": 0}, "on_count"),
        ({"off_count": 1.5}, "off_count"),
        ({"harmonics": 9}, "harmonics"),
        ({"stay_ratio_frac": 1.5}, "stay_ratio_frac"),
        ({"floor_hi_hz": 1.5}, "floor_hi_hz"),
    ],
)
def test_bad_config_raises(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PulseConfig(**kwargs)  # type: ignore[arg-type]


def test_bad_rate_or_block_raises() -> None:
    with pytest.raises(ValueError, match="rate_hz"):
        PulseDetector(0.0)
    with pytest.raises(ValueError, match="too slow"):
        PulseDetector(5.0)
    with pytest.raises(ValueError, match="times"):
        PulseDetector(100.0).update(np.arange(5) / 100.0, np.zeros(4))
