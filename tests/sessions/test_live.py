"""LiveSession with the real simulator on a real acquisition thread."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pytest

from analysis.pipeline import Pipeline, PipelineConfig
from analysis.stream import Channel, EventKind, Frame, StreamInfo
from analysis.warning_level import WarningConfig
from firmware_bridge import open_source
from firmware_bridge.devices.simulator import Script, SimulatedPad, simulate
from firmware_bridge.source import Source
from sessions.live import LiveSession

RAMP_SCRIPT = Script.scripted(
    [
        ("rest", 2.0),
        ("hold", 8.0, 40.0),
        ("hold", 5.0, 200.0, {"ramp_kpa_s": 120.0}),
        ("kneading", 6.0, 80.0, 1.0),
    ]
)


def test_fast_session_matches_the_offline_pipeline() -> None:
    """Everything the live session shows equals the pipeline run on the same samples."""
    pad = SimulatedPad(script=RAMP_SCRIPT, seed=3, realtime=False, block_s=0.05)
    session = LiveSession(pad)
    with session:
        assert session.wait(60.0)
    assert session.error is None
    info, whole = simulate(RAMP_SCRIPT, seed=3)
    live_p = session.pressure.latest(10**6)
    assert live_p.shape[0] == whole.n
    offset = live_p[0, 0] - whole.t[0]
    np.testing.assert_allclose(live_p[:, 0], whole.t + offset, rtol=0, atol=1e-9)
    shifted = Frame(whole.t + offset, whole.x, 0)
    pipe = Pipeline(info)
    block = pipe.process(shifted)
    np.testing.assert_allclose(live_p[:, 1], block.pressure_kpa, equal_nan=True)
    q = pipe.block_size  # level, rate and warning: a row at the end of each block
    rate = session.rate.latest(10**6)
    np.testing.assert_allclose(rate[:, 0], shifted.t[q - 1 : block.t.size : q], atol=1e-9)
    np.testing.assert_allclose(rate[:, 1], block.rate_kpa_s[q - 1 :: q], equal_nan=True)
    warning = session.warning.latest(10**6)[:, 1]
    np.testing.assert_array_equal(warning, block.warning[q - 1 :: q])
    events = session.poll_events()
    assert [e.kind for e in events] == [e.kind for e in block.events]
    assert [e.t for e in events] == pytest.approx([e.t for e in block.events], abs=1e-9)
    for got, want in zip(events, block.events, strict=True):
        assert got.data.keys() == want.data.keys()
        for key, value in want.data.items():
            assert got.data[key] == (pytest.approx(value) if isinstance(value, float) else value)
    assert any(e.kind == EventKind.WARNING for e in events)  # 40 -> 200 kPa ramps fast
    strokes = session.strokes.latest(10**6)
    assert strokes.shape[0] == len(block.windows)
    assert session.summary()["samples"] == whole.n
    assert session.poll_events() == []
    (status,) = session.status()
    assert status.link == "closed" and status.name == "sim"
    assert status.rate_hz == pytest.approx(100.0, rel=0.01)
    assert session.raw["sim"].latest(10**6).shape == (whole.n, 2)


def test_realtime_status_rate_and_data_age(wait_for: Callable[..., None]) -> None:
    session = LiveSession(open_source("sim", seed=2, realtime=True, block_s=0.02))
    with session:
        wait_for(lambda: len(session.pressure) > 150)
        (status,) = session.status()
        assert status.link == "streaming"
        assert status.device.startswith("palpate simulator")
        assert status.rate_hz == pytest.approx(100.0, rel=0.1)
        assert 0.0 <= status.data_age_s < 0.3
        assert not status.too_slow
        newest = session.pressure.latest(1)[0, 0]
        assert abs(session.clock() - newest) < 0.3
    assert session.stopped
    assert session.status()[0].link == "closed"


def test_a_slow_consumer_never_grows_memory_or_blocks() -> None:
    session = LiveSession(
        SimulatedPad(seed=4, realtime=False, duration_s=20.0, rate_hz=200.0), history_s=2.0
    )
    with session:
        assert session.wait(60.0)
    assert len(session.pressure) == session.pressure.capacity < 2.0 * 200 + 100
    assert session.pressure.total == 20 * 200
    assert session.pressure.latest(1)[0, 0] > 19.0


def test_actions_pain_marker_tare_and_settings(wait_for: Callable[..., None]) -> None:
    session = LiveSession(open_source("sim", seed=5, realtime=True, block_s=0.02))
    with session:
        wait_for(lambda: len(session.pressure) > 50)
        session.add_marker("left psoas")
        session.mark_pain()
        session.tare()
        session.set_config(PipelineConfig(area_cm2=10.0))
        wait_for(lambda: session.config.area_cm2 == 10.0)
        time.sleep(0.1)
    events = session.poll_events()
    kinds = [(e.kind, e.data.get("label")) for e in events]
    assert (EventKind.MARKER, "left psoas") in kinds
    assert (EventKind.MARKER, "tare") in kinds
    assert (EventKind.MARKER, "settings") in kinds
    (pain,) = [e for e in events if e.kind == EventKind.PAIN]
    assert pain.data["pressure_kpa"] is None or pain.data["personal_ceiling_kpa"] > 0
    assert session.summary()["pain_marks"] in (0, 1)


def test_tare_zeroes_a_steady_load(wait_for: Callable[..., None]) -> None:
    script = Script.scripted([("hold", 30.0, 50.0)], ramp_kpa_s=500.0)
    pad = SimulatedPad(script=script, seed=6, realtime=True, block_s=0.02, noise=False)
    session = LiveSession(pad)
    with session:
        wait_for(lambda: session.pressure.total > 100)
        before = float(np.nanmedian(session.pressure.latest(20)[:, 1]))
        session.tare()
        mark = session.pressure.total
        wait_for(lambda: session.pressure.total > mark + 60)
        after = float(np.nanmedian(session.pressure.latest(20)[:, 1]))
    assert before > 20
    assert abs(after) < 0.2 * before


def test_two_sources_share_the_clock_and_are_kept_apart(wait_for: Callable[..., None]) -> None:
    pad = SimulatedPad(seed=7, realtime=True, block_s=0.02)
    phone = SimulatedPad(seed=8, realtime=True, block_s=0.05, accel=True, rate_hz=50.0)
    session = LiveSession([pad, phone])
    with session:
        wait_for(lambda: all(len(r) > 40 for r in session.raw.values()) and len(session.raw) == 2)
        now = session.clock()
        newest = [r.latest(1)[0, 0] for r in session.raw.values()]
    assert sorted(session.raw) == ["sim", "sim-2"]
    assert all(abs(now - t) < 0.3 for t in newest)
    assert session.raw["sim-2"].columns == 5  # t, force, acc x, acc y, acc z
    assert [s.rate_hz for s in session.status()] == pytest.approx([100.0, 50.0], rel=0.15)


class _Unplugged(Source):
    """A device that is not there: fails while connecting."""

    async def _open(self) -> StreamInfo:
        raise ConnectionError("the pad is switched off; switch it on and try again")

    async def _frames(self) -> AsyncIterator[Frame]:  # pragma: no cover - never reached
        yield Frame.from_arrays([0.0], [0.0])


def test_a_failing_source_is_told_in_its_status() -> None:
    session = LiveSession(_Unplugged())
    with session:
        assert session.wait(10.0)
    (status,) = session.status()
    assert status.link == "failed"
    assert "switch it on" in status.message
    assert [e.kind for e in session.poll_events()] == [EventKind.SENSOR]


def test_too_slow_source_is_flagged() -> None:
    info = StreamInfo("slow", "slow pad", 20.0, (Channel("force", "N", "force"),))

    class Slow(Source):
        async def _open(self) -> StreamInfo:
            return info

        async def _frames(self) -> AsyncIterator[Frame]:
            for i in range(0, 200, 10):
                yield Frame.from_arrays(np.arange(i, i + 10) / 20.0, np.full(10, 5.0), i)

    session = LiveSession(Slow(), PipelineConfig(warnings=WarningConfig()))
    with session:
        assert session.wait(10.0)
    assert session.status()[0].too_slow
    assert np.isnan(session.rate.latest(10)[:, 1]).all()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least one source"):
        LiveSession([])
    with pytest.raises(ValueError, match="history_s"):
        LiveSession(SimulatedPad(seed=1), history_s=0)


def test_recording_starts_and_stops_without_disconnecting(
    tmp_path: Path, wait_for: Callable[..., None]
) -> None:
    from sessions.store import SessionFile

    session = LiveSession(open_source("sim", seed=14, realtime=True, block_s=0.02))
    with session:
        wait_for(lambda: session.clock() > 0.5)
        path = session.start_recording(tmp_path / "middle.palpate")
        assert session.recording == path
        wait_for(lambda: session.clock() > 1.5)
        session.add_marker("while recording")
        session.stop_recording()
        assert session.recording is None
        wait_for(lambda: session.clock() > 2.0)
        assert session.status()[0].link == "streaming"
    with SessionFile.open(path) as f:
        frame = f.read()
        assert not f.interrupted
        assert 0.4 < frame.t[0] < 0.8 and 1.3 < frame.t[-1] < 1.9
        assert frame.index > 0 and f.streams[0].gaps == 0
        assert [r.event.data.get("label") for r in f.events(["marker"])] == ["while recording"]


def test_a_dropped_device_link_shows_in_status_events_and_the_gap() -> None:
    """A virtual Progressor over bleak drops its link: the session tells it and keeps the hole."""
    from firmware_bridge.devices.tindeq import TindeqSource
    from firmware_bridge.virtual.peer import ArraySignal

    kg = np.full(20_000, 3.0)
    faults = {"drop_at_s": 1.0, "down_s": 0.4}
    source = TindeqSource(
        virtual={"signal": ArraySignal(kg, 80.0), "faults": faults}, duration_s=3.0
    )
    session = LiveSession(source)
    links: set[str] = set()
    with session:
        deadline = time.monotonic() + 30.0
        while not session.stopped and time.monotonic() < deadline:
            links.add(session.status()[0].link)
            time.sleep(0.005)
        events = session.poll_events()
    reconnects = [e for e in events if e.kind == EventKind.RECONNECT]
    gaps = [e for e in events if e.kind == EventKind.GAP]
    assert len(reconnects) == 1 and len(gaps) == 1
    assert reconnects[0].data["missing"] == gaps[0].data["missing"] > 0
    # on the session clock, where the samples after the hole are
    assert abs(reconnects[0].t - gaps[0].t) < 0.5
    assert "reconnecting" in links and "streaming" in links
