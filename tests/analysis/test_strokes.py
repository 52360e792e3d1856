"""Stroke windows: features, the shipped classifier, streaming and chunk invariance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.pressure import PressureMap
from analysis.stroke_model import MODEL
from analysis.strokes import (
    FEATURES,
    STROKES,
    StrokeLabel,
    StrokeTracker,
    classify,
    decimation_factor,
    model_for,
    window_features,
)
from firmware_bridge.devices.simulator import Script, simulate

RATE_HZ = 100.0
T = np.arange(200) / RATE_HZ  # one 2 s window
G = np.array([0.0, 0.0, 9.81])


def _hold(level: float = 40.0, seed: int = 1) -> np.ndarray:
    """A held pressure with breathing, tremor and sensor noise, kPa."""
    rng = np.random.default_rng(seed)
    breath = 0.02 * np.sin(2 * np.pi * 0.25 * T)
    tremor = 0.005 * np.sin(2 * np.pi * 10.0 * T)
    return level * (1 + breath + tremor) + rng.normal(0, 0.05, T.size)


def _knead(level: float = 60.0, freq_hz: float = 1.0, compress: float = 0.35) -> np.ndarray:
    """Kneading: fast compress, slow release, 75 % deep, kPa."""
    u = np.mod(freq_hz * T, 1.0)
    rising = 0.5 - 0.5 * np.cos(np.pi * u / compress)
    falling = 0.5 + 0.5 * np.cos(np.pi * (u - compress) / (1 - compress))
    return level * (0.25 + 0.75 * np.where(u < compress, rising, falling))


def _circles(level: float = 60.0, freq_hz: float = 1.0) -> np.ndarray:
    """Circular strokes: a mild, symmetric 30 % swing, kPa."""
    return level * (1 - 0.3 * (0.5 - 0.5 * np.cos(2 * np.pi * freq_hz * T)))


def _tremor_ms2(seed: int = 2) -> np.ndarray:
    """A pressing hand's tremor (10 Hz, 0.1 m/s²) plus phone noise, shape (n, 3)."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, 3)
    wave = 0.1 * np.sin(2 * np.pi * 10.0 * T[:, None] + phase)
    return wave + rng.normal(0, 0.02, (T.size, 3))


def _label(p=None, cop=None, acc=None) -> str:
    return classify(window_features(p, RATE_HZ, cop=cop, accel=acc)).stroke


# -- features ----------------------------------------------------------------------------------


def test_decimation_keeps_the_feature_rate_between_32_and_64_hz() -> None:
    for rate_hz in (50.0, 64.0, 65.0, 80.0, 82.0, 100.0, 250.0, 400.0, 1000.0):
        q = decimation_factor(rate_hz)
        assert 32.0 < rate_hz / q <= 64.0 or q == 1
    with pytest.raises(ValueError, match="positive"):
        decimation_factor(0.0)


def test_pressure_features_describe_the_stroke() -> None:
    rest = window_features(np.random.default_rng(0).normal(0, 0.05, T.size), RATE_HZ)
    hold, knead, circles = (window_features(x, RATE_HZ) for x in (_hold(), _knead(), _circles()))
    assert rest["p_contact"] == 0 and rest["p_level"] < 0.2
    assert hold["p_contact"] == knead["p_contact"] == 1
    assert hold["p_level"] == pytest.approx(np.log1p(40 * 1.02), abs=0.05)
    # modulation: a hold barely moves, circles swing mildly, kneading deeply
    assert hold["p_mod"] < circles["p_mod"] < knead["p_mod"]
    assert hold["p_depth"] < np.log10(0.1) < circles["p_depth"] < np.log10(0.4) < knead["p_depth"]
    # rhythm: both strokes are periodic; only kneading is asymmetric
    assert knead["p_share"] > 0.5 and circles["p_share"] > 0.8
    assert knead["p_rise"] > 0.2 > circles["p_rise"]
    assert knead["p_harm"] > circles["p_harm"]
    ramp = window_features(np.linspace(0.0, 20.0, T.size), RATE_HZ)
    assert ramp["p_ramp"] > np.log10(0.8) and ramp["p_mod"] < -3


def test_cop_features_tell_circles_from_a_wobble() -> None:
    circle = 0.4 * np.column_stack([np.cos(2 * np.pi * T), np.sin(2 * np.pi * T)])
    jitter = np.random.default_rng(6).normal(0.1, 0.01, (T.size, 2))  # a hold on a noisy pad
    c = window_features(_circles(), RATE_HZ, cop=circle)
    w = window_features(_hold(), RATE_HZ, cop=jitter)
    assert c["c_valid"] == w["c_valid"] == 1
    assert c["c_spread"] == pytest.approx(np.log10(0.4 + 0.003), abs=0.02)
    assert c["c_consist"] > 0.99 and w["c_consist"] < 0.5
    # a pad that reports its CoP in mm: the same circle once scaled to half-widths
    mm = window_features(_circles(), RATE_HZ, cop=30 * circle, cop_scale=30.0)
    assert mm["c_spread"] == pytest.approx(c["c_spread"])
    lifted = window_features(np.zeros(T.size), RATE_HZ, cop=np.full((T.size, 2), np.nan))
    assert lifted["c_valid"] == 0 and np.isfinite(list(lifted.values())).all()


def _rotation(angle: float) -> np.ndarray:
    """A rotation about the axis (1, 1, 0): the phone held tilted."""
    axis = np.array([1.0, 1.0, 0.0]) / np.sqrt(2)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def test_accel_features_do_not_depend_on_how_the_phone_is_held() -> None:
    circle = np.column_stack([np.cos(2 * np.pi * T), np.sin(2 * np.pi * T), np.zeros(T.size)])
    pulses = np.zeros((T.size, 3))
    pulses[:, 2] = 0.8 * np.maximum(np.sin(2 * np.pi * 1.2 * T), 0) ** 3
    for angle in (0.0, 0.7):
        r = _rotation(angle)
        c = window_features(None, RATE_HZ, accel=(G + circle + _tremor_ms2()) @ r.T)
        k = window_features(None, RATE_HZ, accel=(G + pulses + _tremor_ms2()) @ r.T)
        assert c["a_quad"] > 0.95 and c["a_vshare"] < 0.05
        assert k["a_quad"] < 0.1 and k["a_vshare"] > 0.9
    still = window_features(None, RATE_HZ, accel=G + np.zeros((T.size, 3)))
    trembling = window_features(None, RATE_HZ, accel=G + _tremor_ms2())
    assert trembling["a_tremor"] > np.log10(0.05) > still["a_tremor"]
    assert trembling["a_motion"] < c["a_motion"]


def test_a_window_needs_data() -> None:
    with pytest.raises(ValueError, match="pressure or acceleration"):
        window_features(None, RATE_HZ)
    with pytest.raises(ValueError, match="pressure or acceleration"):
        classify({})
    with pytest.raises(ValueError, match="at least"):
        window_features(np.zeros(5), RATE_HZ)


# -- the classifier ----------------------------------------------------------------------------


def test_one_force_channel() -> None:
    assert _label(np.random.default_rng(3).normal(0, 0.05, T.size)) == "rest"
    assert _label(_hold()) == "hold"
    assert _label(_hold(15.0) * np.linspace(0.3, 1.0, T.size)) == "hold"  # pressing in
    assert _label(_circles()) == "circular"
    assert _label(_knead()) == "kneading"
    assert _label(_knead(compress=0.7, freq_hz=0.6)) == "kneading"


def test_pad_with_centre_of_pressure() -> None:
    circle = 0.45 * np.column_stack([np.cos(2 * np.pi * T), np.sin(2 * np.pi * T)])
    sway = 0.03 * np.column_stack([np.sin(2 * np.pi * T), np.cos(2 * np.pi * T + 1)])
    assert _label(_circles(), cop=circle + 0.1) == "circular"
    assert _label(_knead(), cop=sway - 0.1) == "kneading"
    assert _label(_hold(), cop=sway * 0.2) == "hold"
    nothing = np.full((T.size, 2), np.nan)
    assert _label(np.random.default_rng(4).normal(0, 0.05, T.size), cop=nothing) == "rest"


def test_accelerometer_alone() -> None:
    rng = np.random.default_rng(5)
    circle = 0.5 * np.column_stack([np.cos(2 * np.pi * T), np.sin(2 * np.pi * T), np.zeros(T.size)])
    pulses = np.zeros((T.size, 3))
    pulses[:, 2] = 0.5 * np.maximum(np.sin(2 * np.pi * 1.2 * T), 0) ** 3
    assert _label(acc=G + rng.normal(0, 0.02, (T.size, 3))) == "rest"
    assert _label(acc=G + _tremor_ms2()) == "hold"
    assert _label(acc=G + circle + _tremor_ms2()) == "circular"
    assert _label(acc=G + circle) == "circular"  # no tremor does not mean rest
    assert _label(acc=G + pulses + _tremor_ms2()) == "kneading"


def test_confidence_is_the_probability_of_the_named_stroke() -> None:
    label = classify(window_features(_knead(), RATE_HZ))
    assert label.stroke in STROKES and 0.25 < label.confidence <= 1.0
    model = model_for(("pressure",))
    x = np.array([[window_features(_knead(), RATE_HZ)[n] for n in model.features]])
    prob = model.probabilities(x)
    assert prob.shape == (1, 4) and prob.sum() == pytest.approx(1.0)
    assert label.confidence == pytest.approx(prob.max())
    with pytest.raises(ValueError, match="no stroke model"):
        model_for(("cop",))


def test_the_shipped_model_matches_the_features() -> None:
    assert tuple(MODEL["strokes"]) == STROKES
    assert set(MODEL["models"]) == {
        "pressure",
        "pressure+cop",
        "accel",
        "pressure+accel",
        "pressure+cop+accel",
    }
    for key, m in MODEL["models"].items():
        names = tuple(n for g in key.split("+") for n in FEATURES[g])
        assert tuple(m["scaling"]) == tuple(m["weights"]) == names
        for name in names:
            lo, hi, _mean, scale = m["scaling"][name]
            assert lo <= hi and scale > 0 and len(m["weights"][name]) == 4
        assert len(m["bias"]) == 4 and 0.9 < m["training_accuracy"] <= 1
    training = MODEL["training"]
    seeds = range(*training["seed_range"])
    assert len(seeds) >= 40 and max(seeds) < 5000  # evaluation seeds start at 5000
    assert {1, 4} == set(training["channels"]) and training["accel"]


# -- streaming ---------------------------------------------------------------------------------


def _stream(rate_hz: float, seconds: float, seed: int, channels: int = 4):
    script = Script.random(seed, seconds)
    info, frame = simulate(
        script, rate_hz=rate_hz, channels=channels, accel=True, area_cm2=3.0, seed=seed
    )
    pmap = PressureMap(info, 3.0)
    x = frame.x
    return script, frame.t, pmap.pressure_kpa(x), pmap.cop(x), pmap.accel(x)


_STREAMS = {rate: _stream(rate, 12.0, 31) for rate in (50.0, 130.0, 1000.0)}


@settings(max_examples=12, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 900), min_size=1, max_size=20),
    rate_hz=st.sampled_from([50.0, 130.0, 1000.0]),
)
def test_windows_do_not_depend_on_chunking(sizes: list[int], rate_hz: float) -> None:
    _, t, p, cop, acc = _STREAMS[rate_hz]
    whole = StrokeTracker(rate_hz).update(t, p, cop=cop, accel=acc)
    tracker, got, start = StrokeTracker(rate_hz), [], 0
    while start < t.size:
        for size in sizes:
            s = slice(start, min(start + size, t.size))
            got += tracker.update(t[s], p[s], cop=cop[s], accel=acc[s])
            start = s.stop
    assert got == whole


@pytest.mark.parametrize("rate_hz", [50.0, 1000.0])
def test_windows_start_on_samples_every_hop(rate_hz: float) -> None:
    _, t, p, _, _ = _STREAMS[rate_hz]
    labels = StrokeTracker(rate_hz, window_s=2.0, hop_s=0.25).update(t + 100.0, p)
    hop = round(0.25 * rate_hz)
    assert len(labels) == (t.size - round(2.0 * rate_hz)) // hop + 1
    assert [w.start for w in labels] == list(t[::hop][: len(labels)] + 100.0)
    assert all(isinstance(w, StrokeLabel) and w.end == w.start + 2.0 for w in labels)
    assert {w.stroke for w in labels} <= set(STROKES)


def test_the_tracker_computes_what_window_features_does() -> None:
    _, t, p, cop, acc = _STREAMS[1000.0]
    starts, feats = StrokeTracker(1000.0).features(t, p, cop=cop, accel=acc)
    assert starts[0] == 0.0 and set(feats) == {n for g in FEATURES.values() for n in g}
    single = window_features(p[:2000], 1000.0, cop=cop[:2000], accel=acc[:2000])
    assert single == {name: float(v[0]) for name, v in feats.items()}


def test_missing_samples_hold_the_last_value_in_any_chunking() -> None:
    # a NaN or infinite pressure or acceleration sample (a value a device or file did not
    # give) must not turn a window's features, and its confidence, into NaN
    _, t, p, cop, acc = _STREAMS[50.0]
    holes = np.random.default_rng(4).choice(np.arange(1, t.size), 40, replace=False)
    bad_p, bad_acc = p.copy(), acc.copy()
    bad_p[holes[:20]] = np.nan
    bad_p[holes[20:]] = np.inf
    bad_acc[holes[10:30], 1] = -np.inf
    held_p, held_acc = p.copy(), acc.copy()
    for i in sorted(holes[:20].tolist() + holes[20:].tolist()):
        held_p[i] = held_p[i - 1]
    for i in sorted(holes[10:30].tolist()):
        held_acc[i, 1] = held_acc[i - 1, 1]
    expected = StrokeTracker(50.0).update(t, held_p, cop=cop, accel=held_acc)
    tracker, got = StrokeTracker(50.0), []
    for s in np.array_split(np.arange(t.size), 37):
        got += tracker.update(t[s], bad_p[s], cop=cop[s], accel=bad_acc[s])
    assert got == expected
    assert all(np.isfinite(w.confidence) for w in got)


def test_a_stream_needs_pressure_or_acceleration() -> None:
    with pytest.raises(ValueError, match="pressure or acceleration"):
        StrokeTracker(100.0).update(T, None)
    with pytest.raises(ValueError, match="hop_s"):
        StrokeTracker(100.0, window_s=1.0, hop_s=2.0)


def _macro_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    scores = []
    for c in np.unique(truth):
        tp = np.sum((truth == c) & (pred == c))
        scores.append(2 * tp / (np.sum(truth == c) + np.sum(pred == c)))
    return float(np.mean(scores))


@pytest.mark.parametrize(
    ("seed", "rate_hz", "channels", "signals"),
    [
        (4242, 150.0, 1, "pressure"),
        (4343, 300.0, 4, "pad"),
        (4444, 100.0, 1, "accel"),
    ],
)
def test_held_out_streams_are_mostly_right(
    seed: int, rate_hz: float, channels: int, signals: str
) -> None:
    """Seeds nobody trained on; a loose floor (the benchmark reports the real figures)."""
    script, t, p, cop, acc = _stream(rate_hz, 120.0, seed, channels)
    tracker = StrokeTracker(rate_hz)
    if signals == "accel":
        labels = tracker.update(t, None, accel=acc)
    else:
        labels = tracker.update(t, p, cop=cop)
    centres = np.array([w.start + 1.0 for w in labels])
    truth = script.labels_at(centres)
    pred = np.array([STROKES.index(w.stroke) for w in labels])
    assert _macro_f1(truth, pred) > 0.85
