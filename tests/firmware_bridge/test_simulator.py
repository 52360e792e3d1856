"""The simulated pad: reproducible, block-size independent, physically plausible, honest truth."""

from __future__ import annotations

import asyncio
import time
from itertools import pairwise

import numpy as np
import pytest
from scipy import signal

from analysis.stream import G_STANDARD, Frame, StreamInfo, concat_frames
from firmware_bridge.devices.simulator import (
    DEMO_STEPS,
    PAGE_SAMPLES,
    STROKE_CODES,
    STROKES,
    TRANSITION_S,
    Ramp,
    Script,
    Segment,
    SimulatedPad,
    simulate,
)

AREA_CM2 = 2.0

# every stroke, a slow press-in, a fast deepening, a release; 49 s
TOUR = Script.scripted(
    [
        ("rest", 3.0),
        ("hold", 14.0, 40.0, {"ramp_kpa_s": 6.0, "pulse_bpm": 72.0}),
        ("hold", 6.0, 100.0, {"ramp_kpa_s": 80.0}),
        ("circular", 10.0, 100.0, 1.0, {"direction": -1, "radius_frac": 0.5}),
        ("kneading", 12.0, 80.0, 1.2, {"compress_frac": 0.3, "depth": 0.8}),
        ("rest", 4.0),
    ]
)


async def _stream(pad: SimulatedPad, max_samples: int | None = None) -> tuple[StreamInfo, Frame]:
    frames: list[Frame] = []
    async with pad:
        async for frame in pad.frames():
            frames.append(frame)
            if max_samples is not None and frames[-1].next_index >= max_samples:
                break
    return pad.info, concat_frames(frames)


def stream(pad: SimulatedPad, max_samples: int | None = None) -> tuple[StreamInfo, Frame]:
    return asyncio.run(_stream(pad, max_samples))


def pressure_kpa(frame: Frame, channels: int = 1) -> np.ndarray:
    """Total force of the force columns as pressure, kPa."""
    return frame.x[:, :channels].sum(axis=1).astype(np.float64) * 10.0 / AREA_CM2


def inside(script: Script, k: int, t: np.ndarray, margin_s: float = 1.0) -> np.ndarray:
    seg = script.segments[k]
    return (t >= seg.start_s + margin_s) & (t < seg.end_s - margin_s)


def dominant_hz(x: np.ndarray, rate_hz: float, lo_hz: float = 0.2, hi_hz: float = 5.0) -> float:
    spectrum = np.abs(np.fft.rfft((x - x.mean()) * np.hanning(x.size)))
    freqs = np.fft.rfftfreq(x.size, 1.0 / rate_hz)
    band = (freqs >= lo_hz) & (freqs <= hi_hz)
    return float(freqs[band][np.argmax(spectrum[band])])


# -- reproducibility and streaming ----------------------------------------------------------------


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not() -> None:
    options = {"duration_s": 20.0, "channels": 4, "accel": True, "spike_rate_hz": 0.5}
    _, a = simulate(3, **options)
    _, b = simulate(3, **options)
    _, c = simulate(4, **options)
    _, d = simulate(Script.random(3, 20.0), seed=9, **options)  # same script, other person
    assert a.x.tobytes() == b.x.tobytes() and a.t.tobytes() == b.t.tobytes()
    assert a.x.tobytes() != c.x.tobytes()
    assert a.x.tobytes() != d.x.tobytes()
    assert Script.random(3, 20.0) == Script.random(3, 20.0) != Script.random(4, 20.0)


@pytest.mark.parametrize("block_s", [0.001, 0.013, 0.37, 12.0])
def test_streaming_gives_exactly_the_batch_samples(block_s: float) -> None:
    options = {"rate_hz": 100.0, "channels": 4, "accel": True, "spike_rate_hz": 0.5, "seed": 11}
    _, batch = simulate(TOUR, duration_s=25.0, **options)
    pad = SimulatedPad(script=TOUR, duration_s=25.0, realtime=False, block_s=block_s, **options)
    _, streamed = stream(pad)
    assert streamed.n == batch.n == 2500 > 2 * PAGE_SAMPLES
    assert streamed.x.tobytes() == batch.x.tobytes()
    assert streamed.t.tobytes() == batch.t.tobytes()


def test_an_endless_pad_plays_the_demo_script() -> None:
    pad = SimulatedPad(seed=5, realtime=False, block_s=1.0)
    info, streamed = stream(pad, max_samples=7000)  # past the 57 s scripted intro
    script = Script.demo(5, 70.0)
    _, batch = simulate(script, seed=5)
    assert streamed.x.tobytes() == batch.x.tobytes()
    assert info.meta["script"] == {"demo_seed": 5}
    assert np.array_equal(pad.truth(batch.t).labels, script.labels_at(batch.t))
    assert pad.script.length_s >= 70.0


def test_scripts_are_prefix_stable() -> None:
    assert Script.random(8, 100.0) == Script.random(8, 400.0).clip(100.0)
    assert Script.demo(8, 90.0) == Script.demo(8, 200.0).clip(90.0)
    assert Script.random(8, 33.3).length_s == pytest.approx(33.3)


def test_clipping_mid_ramp_keeps_every_sample_before_the_cut() -> None:
    short = TOUR.clip(5.0)  # in the press-in: 0 -> 40 kPa at 6 kPa/s from 3 s
    assert short.ramps == (Ramp(3.0, 5.0, 0.0, 12.0, 6.0),)
    assert short.segments[-1] == Segment("hold", 3.0, 5.0, 40.0, pulse_bpm=72.0)
    _, part = simulate(short, seed=2, channels=4)
    _, whole = simulate(TOUR, seed=2, channels=4)
    assert part.x.tobytes() == whole.x[: part.n].tobytes()


# -- the Frame / StreamInfo contract --------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate_hz", "channels", "accel"),
    [(50.0, 1, False), (1000.0, 1, True), (100.0, 4, False), (1000.0, 4, True)],
)
def test_frames_keep_the_contract(rate_hz: float, channels: int, accel: bool) -> None:
    pad = SimulatedPad(
        rate_hz=rate_hz,
        channels=channels,
        accel=accel,
        seed=2,
        duration_s=2.0,
        realtime=False,
        block_s=0.05,
    )
    frames: list[Frame] = []

    async def collect() -> None:
        async with pad:
            async for frame in pad.frames():
                frames.append(frame)

    asyncio.run(collect())
    info = pad.info
    assert info.source == "sim" and info.device == "palpate simulator (seed 2)"
    assert info.rate_hz == rate_hz
    forces = ["force"] if channels == 1 else ["force1", "force2", "force3", "force4"]
    names = forces + (["acc x", "acc y", "acc z"] if accel else [])
    assert [c.name for c in info.channels] == names
    assert info.indices("force") == tuple(range(channels))
    assert all(c.unit == "N" for c in info.channels[:channels])
    assert all(c.unit == "m/s^2" and c.kind == "accel" for c in info.channels[channels:])
    assert info.meta["seed"] == 2 and info.meta["area_cm2"] == 2.0
    assert info.meta["strokes"] == list(STROKES)
    if channels == 4:
        corners = info.meta["pad"]["corners_mm"]
        assert corners == {
            "force1": [-30.0, -30.0],
            "force2": [30.0, -30.0],
            "force3": [30.0, 30.0],
            "force4": [-30.0, 30.0],
        }
    expected = round(0.05 * rate_hz)
    next_index = 0
    for frame in frames:
        info.check(frame)
        assert frame.index == next_index and frame.n == expected
        assert frame.t.dtype == np.float64 and frame.x.dtype == np.float32
        assert np.array_equal(frame.t, np.arange(frame.index, frame.next_index) / rate_hz)
        next_index = frame.next_index
    assert next_index == round(2.0 * rate_hz)


def test_stream_info_carries_the_script() -> None:
    info, _ = simulate(TOUR, seed=1)
    assert Script.from_dict(info.meta["script"]) == TOUR
    info, _ = simulate(6, duration_s=30.0)
    assert Script.from_dict(info.meta["script"]) == Script.random(6, 30.0)
    assert info.meta["seed"] == 6


# -- physics --------------------------------------------------------------------------------------


def test_rest_is_zero_force_plus_sensor_noise_and_gravity() -> None:
    script = Script.scripted([("rest", 20.0)])
    _, frame = simulate(script, rate_hz=200.0, accel=True, seed=3, quant_n=0.01)
    force = frame.x[:, 0].astype(np.float64)
    assert abs(force.mean()) < 0.02 and 0.015 < force.std() < 0.04
    steps = force / 0.01
    assert np.allclose(steps, np.round(steps), atol=1e-3)  # quantised to 0.01 N
    acc = frame.x[:, 1:].astype(np.float64)
    assert acc[:, 2].mean() == pytest.approx(G_STANDARD, abs=0.01)
    assert np.abs(acc[:, :2].mean(axis=0)).max() < 0.01
    assert acc.std(axis=0).max() < 0.03


def test_adc_spikes_are_rare_and_seeded() -> None:
    script = Script.scripted([("rest", 100.0)])
    _, frame = simulate(script, seed=1, spike_rate_hz=0.2, channels=4)
    spikes = np.abs(frame.x) > 1.0
    assert 5 <= spikes.sum() <= 45  # about 20 expected
    assert (np.abs(frame.x[spikes]) >= 1.9).all()  # 2-20 N glitches
    _, again = simulate(script, seed=1, spike_rate_hz=0.2, channels=4)
    assert np.array_equal(np.abs(again.x) > 1.0, spikes)


def test_four_corner_forces_sum_to_the_single_channel_force() -> None:
    options = {"seed": 4, "noise": False, "quant_n": 0.0}
    _, one = simulate(TOUR, channels=1, **options)
    _, four = simulate(TOUR, channels=4, **options)
    assert np.allclose(four.x.sum(axis=1), one.x[:, 0], rtol=1e-5, atol=1e-4)
    assert (four.x >= 0).all()


def test_the_centre_of_pressure_circles_during_circular_strokes() -> None:
    _, frame = simulate(TOUR, channels=4, seed=4, noise=False, quant_n=0.0)
    k = 3
    seg = TOUR.segments[k]
    f = frame.x[inside(TOUR, k, frame.t, margin_s=TRANSITION_S + 0.1)].astype(np.float64)
    total = f.sum(axis=1)
    u = (f[:, 1] + f[:, 2] - f[:, 0] - f[:, 3]) / total
    v = (f[:, 2] + f[:, 3] - f[:, 0] - f[:, 1]) / total
    angle = np.unwrap(np.arctan2(v - v.mean(), u - u.mean()))
    turning = np.diff(angle) * seg.direction
    assert (turning > 0).all()  # winds one way, monotonically
    turns = abs(angle[-1] - angle[0]) / (2 * np.pi)
    span_s = f.shape[0] / 100.0
    assert turns == pytest.approx(seg.freq_hz * span_s, rel=0.1)
    radius = np.hypot(u - u.mean(), v - v.mean())
    assert radius.mean() == pytest.approx(seg.radius_frac, rel=0.15)


def test_circular_strokes_modulate_pressure_mildly_and_move_the_hand_in_quadrature() -> None:
    _, frame = simulate(TOUR, accel=True, seed=4, noise=False, quant_n=0.0)
    k = 3
    seg = TOUR.segments[k]
    m = inside(TOUR, k, frame.t)
    p = pressure_kpa(frame)[m]
    peaks, _ = signal.find_peaks(p, distance=50)
    assert np.median(p[peaks]) == pytest.approx(seg.level_kpa, rel=0.06)
    assert 0.1 < (p.max() - p.min()) / p.max() < 0.5
    assert dominant_hz(p, 100.0) == pytest.approx(seg.freq_hz, abs=0.1)
    ax, ay = frame.x[m, 1].astype(np.float64), frame.x[m, 2].astype(np.float64)
    assert dominant_hz(ax, 100.0) == pytest.approx(seg.freq_hz, abs=0.1)
    assert 0.2 < ax.std() < 2.0
    # x leads y by a quarter cycle counter-clockwise, lags it clockwise
    x_spec, y_spec = np.fft.rfft(ax - ax.mean()), np.fft.rfft(ay - ay.mean())
    peak = np.argmax(np.abs(x_spec))
    lag = np.angle(y_spec[peak] / x_spec[peak])
    assert lag == pytest.approx(np.pi / 2 * -seg.direction, abs=0.35)


@pytest.mark.parametrize(
    ("freq_hz", "compress_frac", "depth"), [(1.2, 0.3, 0.8), (0.6, 0.65, 0.65), (1.8, 0.4, 0.9)]
)
def test_kneading_follows_its_rhythm_depth_and_asymmetry(
    freq_hz: float, compress_frac: float, depth: float
) -> None:
    options = {"compress_frac": compress_frac, "depth": depth}
    script = Script.scripted([("rest", 2.0), ("kneading", 24.0, 80.0, freq_hz, options)])
    _, frame = simulate(script, accel=True, seed=4, noise=False, quant_n=0.0)
    m = frame.t > 14.0  # 80 kPa at 8 kPa/s reached at 12 s
    p = pressure_kpa(frame)[m]
    assert dominant_hz(p, 100.0) == pytest.approx(freq_hz, abs=0.1)
    distance = round(0.5 * 100.0 / freq_hz)
    peaks, _ = signal.find_peaks(p, distance=distance)
    troughs, _ = signal.find_peaks(-p, distance=distance)
    assert np.median(p[peaks]) == pytest.approx(80.0, rel=0.06)  # cycle peaks at the level
    assert np.median(p[troughs]) / np.median(p[peaks]) == pytest.approx(1 - depth, abs=0.08)
    compressing = [
        (peak[0] - a) / (b - a)
        for a, b in pairwise(troughs)
        if (peak := peaks[(peaks > a) & (peaks < b)]).size == 1
    ]
    assert len(compressing) >= 0.8 * freq_hz * 12
    assert np.median(compressing) == pytest.approx(compress_frac, abs=0.04)
    below_tremor = signal.butter(4, 5.0, fs=100.0, output="sos")
    acc = signal.sosfiltfilt(below_tremor, frame.x[m, 1:].astype(np.float64), axis=0)
    assert acc[:, 2].std() > 3 * acc[:, :2].std(axis=0).max()  # vertical pulses


def test_holds_breathe_tremble_and_can_carry_a_pulse() -> None:
    _, frame = simulate(TOUR, rate_hz=200.0, seed=4, noise=False, quant_n=0.0)
    k = 1
    m = (frame.t >= 10.0) & (frame.t < 16.6)  # after the press-in at 6 kPa/s, 3-9.7 s
    p = pressure_kpa(frame)[m]
    level = TOUR.segments[k].level_kpa
    assert np.abs(p / level - 1).max() < 0.1  # breathing + drift + tremor + pulse
    assert dominant_hz(p, 200.0, lo_hz=0.8, hi_hz=3.0) == pytest.approx(72 / 60, abs=0.1)
    assert dominant_hz(p, 200.0, lo_hz=7.0, hi_hz=13.0) == pytest.approx(10.0, abs=2.2)


def test_pressure_never_jumps_between_strokes() -> None:
    script = Script.random(12, 120.0)
    _, frame = simulate(script, rate_hz=1000.0, seed=12, noise=False, quant_n=0.0)
    p = pressure_kpa(frame)
    level = np.maximum(script.level_at(frame.t), 1.0)
    # ≤ 2 % of the level per millisecond (fast kneading) or the fastest scripted ramp
    assert (np.abs(np.diff(p)) <= 0.02 * level[1:] + 0.16).all()


# -- ground truth ---------------------------------------------------------------------------------


def test_labels_cover_the_recording_and_match_the_script() -> None:
    script = Script.random(21, 200.0)
    _, frame = simulate(script, seed=21)
    truth = script.truth(frame.t)
    assert truth.labels.shape == frame.t.shape and truth.labels.dtype == np.int8
    assert set(np.unique(truth.labels)) <= set(STROKE_CODES.values())
    for k, seg in enumerate(script.segments):
        m = (frame.t >= seg.start_s) & (frame.t < seg.end_s)
        assert (truth.labels[m] == STROKE_CODES[seg.stroke]).all()
        assert (truth.segment[m] == k).all()
    covered = sum(((frame.t >= s.start_s) & (frame.t < s.end_s)).sum() for s in script.segments)
    assert covered == frame.n
    assert list(truth.strokes[:1]) == ["rest"]
    assert STROKES == ("rest", "hold", "circular", "kneading")
    rest = truth.labels == STROKE_CODES["rest"]
    assert (truth.level_kpa[rest] == 0).all()
    assert (truth.level_kpa[~rest] > 0).mean() > 0.99  # 0 only where a press-in starts


def test_random_sessions_start_gently_and_ramp_slow_fast_and_release() -> None:
    script = Script.random(2, 900.0, fast_ramp_prob=0.4)
    rates = np.array([r.rate_kpa_s for r in script.ramps])
    assert ((rates >= 40) & (rates <= 150)).sum() >= 5
    assert ((rates >= 3) & (rates <= 12)).sum() >= 5
    assert ((rates > 12) & (rates < 40)).sum() == 0  # nothing near the warning limits
    assert (rates < 0).sum() >= 5
    first = next(s for s in script.segments if s.stroke != "rest")
    assert first.level_kpa <= 40.0 and 0 < script.ramps[0].rate_kpa_s <= 12
    contact = [s for s in script.segments if s.stroke != "rest"]
    assert all(15.0 <= s.level_kpa <= 150.0 for s in contact)
    rests = [s.duration_s for s in script.segments if s.stroke == "rest"]
    assert min(rests) >= 2.0 and max(rests) <= 8.0
    assert {s.stroke for s in contact} == {"hold", "circular", "kneading"}
    for r in script.ramps:
        t = np.linspace(r.onset_s, r.end_s, 7)[1:-1]
        assert np.allclose(np.diff(script.level_at(t)) / np.diff(t), r.rate_kpa_s)
        assert np.allclose(script.rate_at(t), r.rate_kpa_s)
    assert not script.ramps_between(-1.0, 0.5)
    assert Script.random(2, 900.0, fast_ramp_prob=0.0).ramps[0].rate_kpa_s < 40


@pytest.mark.parametrize(("k", "rate_kpa_s"), [(1, 6.0), (2, 80.0)])
def test_the_realised_pressure_rises_at_the_scripted_rate(k: int, rate_kpa_s: float) -> None:
    _, frame = simulate(TOUR, rate_hz=1000.0, seed=4, noise=False, quant_n=0.0)
    ramp = TOUR.ramps[k - 1]
    assert ramp.rate_kpa_s == rate_kpa_s
    edge_s = 0.15 * ramp.duration_s
    m = (frame.t > ramp.onset_s + edge_s) & (frame.t < ramp.end_s - edge_s)
    slope = np.polyfit(frame.t[m], pressure_kpa(frame)[m], 1)[0]
    assert slope == pytest.approx(rate_kpa_s, rel=0.15)


def test_scripted_builds_ramps_where_levels_change() -> None:
    script = Script.scripted(
        [("rest", 2), ("hold", 8, 40), ("kneading", 6, 30, 1.0), ("rest", 2)],
        ramp_kpa_s=10.0,
        release_kpa_s=-50.0,
    )
    assert [(r.onset_s, r.end_s, r.start_kpa, r.end_kpa) for r in script.ramps] == [
        (2.0, 6.0, 0.0, 40.0),
        (10.0, 10.2, 40.0, 30.0),  # easing off at the release rate
        (15.4, 16.0, 30.0, 0.0),
    ]
    assert script.length_s == 18.0
    assert float(script.level_at(4.0)) == 20.0 and float(script.rate_at(4.0)) == 10.0
    assert script.segment_at(11.0).stroke == "kneading"
    ended = Script.scripted([("hold", 5, 40, {"ramp_kpa_s": 40})], release_at_end=True)
    assert ended.ramps[-1].end_kpa == 0.0 and ended.ramps[-1].end_s == 5.0


def test_the_demo_shows_every_stroke_and_a_fast_ramp() -> None:
    demo = Script.demo(0, 60.0)
    assert len(DEMO_STEPS) == 7
    intro = [s for s in demo.segments if s.end_s <= 57.0]
    assert {s.stroke for s in intro} == set(STROKES)
    assert any(r.rate_kpa_s >= 40 for r in demo.ramps_between(0.0, 57.0))
    assert any(0 < r.rate_kpa_s <= 12 for r in demo.ramps_between(0.0, 57.0))
    assert any(s.pulse_bpm > 0 for s in intro)
    assert Script.demo(0, 57.0).segments == Script.demo(1, 57.0).segments  # fixed intro


# -- pacing and arguments -------------------------------------------------------------------------


def test_realtime_streaming_follows_the_wall_clock() -> None:
    pad = SimulatedPad(seed=1, duration_s=0.3, realtime=True, block_s=0.02)
    start = time.perf_counter()
    _, frame = stream(pad)
    elapsed = time.perf_counter() - start
    assert frame.n == 30
    assert elapsed >= 0.25


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"rate_hz": 20.0}, "rate_hz must be 50-1000 Hz"),
        ({"rate_hz": 2000.0}, "rate_hz must be 50-1000 Hz"),
        ({"channels": 2}, "channels must be 1 .* or 4"),
        ({"channels": True}, "channels must be 1"),
        ({"area_cm2": 0.0}, "area_cm2 must be a positive"),
        ({"area_cm2": float("nan")}, "area_cm2 must be finite"),
        ({"block_s": 0.0}, "block_s"),
        ({"duration_s": -1.0}, "duration_s must be positive"),
        ({"seed": -3}, "seed must be a non-negative int"),
        ({"seed": 1.5}, "seed must be a non-negative int"),
        ({"noise_n": -0.1}, "noise_n must be >= 0"),
        ({"spike_rate_hz": 50.0}, "spike_rate_hz"),
        ({"script": "demo"}, "script must be a Script"),
        ({"script": TOUR, "duration_s": 999.0}, "can clip a 49 s script"),
    ],
)
def test_bad_arguments_are_refused_clearly(options: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SimulatedPad(**options)


def test_simulate_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="a Script or an int seed"):
        simulate("seven")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no sample"):
        simulate(1, duration_s=0.001)
    with pytest.raises(ValueError, match="channels"):
        simulate(1, channels=3)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Segment("jog", 0, 1), "unknown stroke 'jog'"),
        (lambda: Segment("rest", 0, 1, level_kpa=5.0), "rest means no contact"),
        (lambda: Segment("hold", 0, 1, 40.0, freq_hz=1.0), "a hold has no rhythm"),
        (lambda: Segment("kneading", 0, 1, 40.0), "freq_hz must be 0.1-5 Hz"),
        (lambda: Segment("kneading", 0, 1, 40.0, 1.0, depth=1.0), "depth must be"),
        (lambda: Segment("circular", 0, 1, 40.0, 1.0, direction=0), "direction must be"),
        (lambda: Segment("circular", 0, 1, 40.0, 1.0, pulse_bpm=70), "pulse_bpm is a hold"),
        (lambda: Ramp(0.0, 2.0, 0.0, 40.0, 5.0), "does not take 0 to 40 kPa in 2 s"),
        (lambda: Ramp.from_rate(0.0, 40.0, 10.0, 5.0), "non-zero rate of that sign"),
        (
            lambda: Script((Segment("rest", 0, 2), Segment("hold", 2, 5, 40.0))),
            "jumps from 0 kPa .rest. to 40 kPa .hold. at 2 s",
        ),
        (
            lambda: Script(
                (Segment("rest", 0, 2), Segment("hold", 2, 5, 40.0)),
                (Ramp.from_rate(1.0, 0.0, 40.0, 20.0),),
            ),
            "runs into the rest",
        ),
        (
            lambda: Script((Segment("hold", 0, 2, 40.0), Segment("hold", 3, 5, 40.0))),
            "contiguous",
        ),
        (
            lambda: Script((Segment("rest", 0, 0.1), Segment("rest", 0.1, 5))),
            "at least TRANSITION_S",
        ),
        (lambda: Script.scripted([("hold", 2, 100)]), "takes 12.5 s, longer than the step"),
        (lambda: Script.scripted([("hold", 2)]), "step 0 .*level_kpa must be in"),
        (lambda: Script.scripted([("hold", 5, 40, {"tempo": 1})]), "unknown options"),
        (lambda: Script.scripted([("hold",)]), "expected .stroke, duration_s"),
        (lambda: Script.random(1, 10.0, fast_ramp_prob=2.0), "probability"),
    ],
)
def test_bad_scripts_are_refused_clearly(build: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build()  # type: ignore[operator]
