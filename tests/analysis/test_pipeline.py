"""The pipeline end to end on synthetic streams: chunk invariance, warnings, honesty, gaps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.pipeline import Pipeline, PipelineConfig, analyze
from analysis.stream import Channel, EventKind, Frame, StreamInfo
from analysis.warning_level import Level

FORCE = (Channel("force", "N", "force"),)
PAD4 = tuple(Channel(f"force{i}", "N", "force") for i in range(1, 5))
ACC = tuple(Channel(f"acc {a}", "m/s^2", "accel") for a in "xyz")


def _session(rate_hz: float, seconds: float = 12.0) -> tuple[np.ndarray, np.ndarray]:
    """Total force (N, thumb 2 cm²): rest, slow press to 60 kPa, kneading, fast ramp."""
    t = np.arange(round(seconds * rate_hz)) / rate_hz
    kpa = np.interp(t, [0, 2, 5, 12], [0, 0, 60, 60])
    knead = (t > 5) & (t < 9)
    kpa = np.where(knead, 60 * (0.6 + 0.4 * np.cos(2 * np.pi * 1.0 * (t - 5))), kpa)
    kpa = np.where(t >= 10, 60 + np.clip((t - 10) * 80, 0, 80), kpa)  # 80 kPa/s ramp
    return t, kpa * 2.0 / 10.0


def _pad4(t: np.ndarray, force: np.ndarray) -> np.ndarray:
    w = 0.25 + 0.1 * np.column_stack(
        [
            np.cos(2 * np.pi * t),
            np.sin(2 * np.pi * t),
            -np.cos(2 * np.pi * t),
            -np.sin(2 * np.pi * t),
        ]
    )
    g = np.tile([0.0, 0.0, 9.81], (t.size, 1))
    return np.column_stack([force[:, None] * w, g])


def test_fast_ramp_warns_and_kneading_does_not() -> None:
    t, force = _session(100.0)
    info = StreamInfo("test", "pad", 100.0, FORCE)
    result = analyze(info, Frame.from_arrays(t, force))
    ramps = [e for e in result.episodes if e.kind == "ramp"]
    assert len(ramps) == 1
    assert 10.0 < ramps[0].start < 10.3 and ramps[0].peak > 70
    strokes = {w.stroke for w in result.windows if w.start > 5.5 and w.end < 9}
    assert strokes == {"kneading"}
    assert result.summary["warnings"] == 1
    assert result.summary["peak_kpa"] == pytest.approx(140, abs=1)


@settings(max_examples=15, deadline=None)
@given(sizes=st.lists(st.integers(1, 700), min_size=1, max_size=30))
def test_results_do_not_depend_on_chunking(sizes: list[int]) -> None:
    rate_hz = 200.0
    t, force = _session(rate_hz, 8.0)
    info = StreamInfo("test", "pad", rate_hz, PAD4 + ACC)
    frame = Frame.from_arrays(t, _pad4(t, force))
    whole = Pipeline(info).process(frame)
    pipe = Pipeline(info)
    blocks, start = [], 0
    for size in sizes * (frame.n // sum(sizes) + 1):
        if start >= frame.n:
            break
        blocks.append(pipe.process(frame.slice(start, min(start + size, frame.n))))
        start += size
    for name in ("pressure_kpa", "level_kpa", "rate_kpa_s", "warning"):
        got = np.concatenate([getattr(b, name) for b in blocks])
        np.testing.assert_allclose(got, getattr(whole, name), rtol=0, atol=1e-6, err_msg=name)
    assert [w for b in blocks for w in b.windows] == whole.windows
    assert [e for b in blocks for e in b.events] == whole.events


def test_too_slow_stream_is_honest() -> None:
    t, force = _session(8.0)
    info = StreamInfo("fsr", "8 Hz board", 8.0, FORCE)
    pipe = Pipeline(info)
    block = pipe.process(Frame.from_arrays(t, force))
    assert np.isnan(block.rate_kpa_s).all()
    assert (block.warning == Level.UNKNOWN).all()
    assert block.events[0].kind == EventKind.SENSOR and "too slow" in block.events[0].data["reason"]
    assert pipe.result()["warnings"] == 0 and "too slow" in pipe.result()["notes"][0]


def test_a_stream_slower_than_it_says_is_judged_by_its_measured_rate() -> None:
    # a board that says 100 Hz delivers 10 Hz from 3 s to 9 s, with a fast press-in at 5 s
    # there and another at 12 s, back at 100 Hz
    t = np.concatenate([np.arange(0, 3, 0.01), np.arange(3, 9, 0.1), np.arange(9, 15, 0.01)])
    kpa = np.interp(t, [0, 5, 5.5, 7, 7.5, 12, 12.5, 15], [20, 20, 60, 60, 20, 20, 60, 60])
    info = StreamInfo("board", "says 100 Hz", 100.0, FORCE)
    pipe = Pipeline(info)
    block = pipe.process(Frame.from_arrays(t, kpa * 2.0 / 10.0))
    told = [e for e in block.events if e.kind == EventKind.SENSOR]
    assert len(told) == 2
    assert 3.0 < told[0].t < 4.0 and "too slow to judge" in told[0].data["reason"]
    assert 9.0 < told[1].t < 10.2 and "judged again" in told[1].data["reason"]
    slow = (t > 4.0) & (t < 9.0)
    assert np.isnan(block.rate_kpa_s[slow]).all() and (block.warning[slow] == Level.UNKNOWN).all()
    assert np.isfinite(block.rate_kpa_s[t > 10.5]).all()
    ramps = [e for e in pipe.episodes() if e.kind == "ramp"]
    assert len(ramps) == 1 and 12.0 < ramps[0].start < 12.3
    assert "lowest 10 Hz" in pipe.result()["notes"][-1]


def test_accel_only_stream_has_no_pressure() -> None:
    t = np.arange(600) / 100.0
    acc = np.column_stack([np.cos(2 * np.pi * t), np.sin(2 * np.pi * t), np.full(t.size, 9.81)])
    result = analyze(StreamInfo("phone", "phone", 100.0, ACC), Frame.from_arrays(t, acc))
    assert {w.stroke for w in result.windows} == {"circular"}
    assert result.summary["peak_kpa"] is None and result.summary["warnings"] == 0


def test_gaps_become_events() -> None:
    info = StreamInfo("test", "pad", 100.0, FORCE)
    pipe = Pipeline(info)
    pipe.process(Frame.from_arrays(np.arange(10) / 100, np.ones(10), index=0))
    block = pipe.process(Frame.from_arrays(np.arange(15, 20) / 100, np.ones(5), index=15))
    gap = [e for e in block.events if e.kind == EventKind.GAP]
    assert gap and gap[0].data["missing"] == 5
    assert pipe.result()["gaps"] == 1


def test_streams_without_usable_channels_are_refused() -> None:
    raw = StreamInfo("diy", "board", 100.0, (Channel("adc", "adc", "raw"),))
    with pytest.raises(ValueError, match="calibration"):
        Pipeline(raw)
    with pytest.raises(ValueError, match="contact area"):
        PipelineConfig(area_cm2=0.0)


def test_pressure_channels_are_used_as_they_are() -> None:
    info = StreamInfo("x", "y", 100.0, (Channel("p", "kPa", "pressure"),))
    block = Pipeline(info, PipelineConfig(area_cm2=7.0)).process(
        Frame.from_arrays(np.arange(5) / 100, np.full(5, 33.0))
    )
    assert np.allclose(block.pressure_kpa, 33.0)


def test_adc_spikes_do_not_warn() -> None:
    rate_hz = 80.0
    t = np.arange(round(60 * rate_hz)) / rate_hz
    force = np.full(t.size, 16.0)  # a steady 80 kPa hold on a thumb
    rng = np.random.default_rng(4)
    spikes = rng.choice(t.size, 30, replace=False)
    force[spikes] += rng.uniform(5, 20, spikes.size) * rng.choice([-1, 1], spikes.size)
    result = analyze(StreamInfo("cell", "load cell", rate_hz, FORCE), Frame.from_arrays(t, force))
    assert result.summary["warnings"] == 0
    assert result.summary["peak_kpa"] == pytest.approx(80.0, abs=1.0)


def test_pain_mark_lowers_the_ceiling_for_the_rest_of_the_session() -> None:
    info = StreamInfo("test", "pad", 100.0, FORCE)
    pipe = Pipeline(info, PipelineConfig(area_cm2=2.0))
    t = np.arange(300) / 100.0
    pipe.process(Frame.from_arrays(t, np.full(300, 20.0)))  # a 100 kPa hold
    pain = pipe.mark_pain(3.0)
    assert pain.data["personal_ceiling_kpa"] == pytest.approx(80.0, abs=1.0)
    block = pipe.process(Frame.from_arrays(3.0 + t, np.full(300, 20.0), index=300))
    ceiling = [e for e in block.events if e.kind == EventKind.CEILING]
    assert ceiling and ceiling[0].data["which"] == "personal" and ceiling[0].data["on"]


def test_a_pulse_under_a_deep_hold_is_told() -> None:
    rate_hz = 100.0
    t = np.arange(round(40 * rate_hz)) / rate_hz
    beat = np.maximum(np.sin(2 * np.pi * 1.2 * t), 0.0) ** 2  # 72 bpm
    kpa = 60.0 * (1 + 0.02 * beat + 0.015 * np.sin(2 * np.pi * 0.25 * t))
    info = StreamInfo("test", "pad", rate_hz, FORCE)
    result = analyze(info, Frame.from_arrays(t, kpa * 2.0 / 10.0))
    pulses = [e for e in result.events if e.kind == EventKind.PULSE and e.data["on"]]
    assert pulses and pulses[0].data["bpm"] == pytest.approx(72, abs=3)
    assert result.summary["pulses_felt"] == 1 and result.summary["warnings"] == 0
    calm = analyze(info, Frame.from_arrays(t, 60.0 * np.ones(t.size) * 0.2))
    assert not [e for e in calm.events if e.kind == EventKind.PULSE]


def test_a_break_in_the_stream_is_not_a_slow_rate() -> None:
    # 100 Hz with a 3 s break (a dropped link): the second after it is not "too slow"
    t = np.concatenate([np.arange(0, 4, 0.01), np.arange(7, 12, 0.01)])
    pipe = Pipeline(StreamInfo("board", "pad", 100.0, FORCE))
    block = pipe.process(Frame.from_arrays(t, np.full(t.size, 8.0)))
    assert not [e for e in block.events if e.kind == EventKind.SENSOR]
    assert np.isfinite(block.rate_kpa_s[t > 0.1]).all()
    assert not any("measured" in n for n in pipe.result()["notes"])


def test_a_stream_with_a_sample_every_second_and_a_half_is_too_slow() -> None:
    # says 100 Hz (blocks of 2 samples), brings a sample every 1.5 s after 3 s at 100 Hz:
    # each block comes 3 s after the last, which must not pass for one break after another
    t = np.concatenate([np.arange(0, 3, 0.01), 3.0 + 1.5 * np.arange(1, 20)])
    pipe = Pipeline(StreamInfo("board", "says 100 Hz", 100.0, FORCE))
    block = pipe.process(Frame.from_arrays(t, np.full(t.size, 8.0)))
    told = [e for e in block.events if e.kind == EventKind.SENSOR]
    assert len(told) == 1 and "too slow to judge" in told[0].data["reason"]
    assert told[0].t < 10.0
    assert np.isnan(block.rate_kpa_s[block.t > 10.0]).all()


@pytest.mark.parametrize("chunk", [7, 100, 5000])
def test_missing_and_infinite_samples_are_told_as_missing_not_as_warnings(chunk: int) -> None:
    # NaN, inf and absurd values from a device or file: no numpy warning (tests turn them
    # into errors), no infinite rate, every window named with a real confidence, and the
    # same results in any chunking
    rate_hz = 100.0
    t, force = _session(rate_hz)
    x = _pad4(t, force)
    rng = np.random.default_rng(8)
    for value in (np.nan, np.inf, -np.inf, 3e38, -1e30):
        x[rng.choice(np.arange(10, t.size), 6, replace=False), rng.integers(0, 7)] = value
    info = StreamInfo("test", "pad", rate_hz, PAD4 + ACC)
    pipe = Pipeline(info)
    blocks = [pipe.process(Frame.from_arrays(t[s], x[s])) for s in _chunks(t.size, chunk)]
    blocks.append(pipe.flush())
    windows = [w for b in blocks for w in b.windows]
    assert len(windows) == (t.size - 200) // 25 + 1
    assert all(np.isfinite(w.confidence) for w in windows)
    rate = np.concatenate([b.rate_kpa_s for b in blocks])
    assert not np.isinf(rate).any()
    whole = Pipeline(info)
    once = [whole.process(Frame.from_arrays(t, x)), whole.flush()]
    assert [w for b in once for w in b.windows] == windows


def _chunks(n: int, size: int) -> list[slice]:
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]
