"""ReplaySource: the same events as live, speeds, seek, jump back, markers, pause, loop, gaps."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from analysis.pipeline import PipelineConfig
from analysis.stream import Event, EventKind, Frame
from firmware_bridge.devices.simulator import Script, SimulatedPad, simulate
from sessions.errors import SessionError
from sessions.live import LiveSession
from sessions.replay import ReplaySource
from sessions.store import SessionFile, SessionWriter

SCRIPT = Script.scripted(
    [
        ("rest", 1.0),
        ("hold", 3.0, 60.0, {"ramp_kpa_s": 30.0}),
        ("hold", 2.5, 180.0, {"ramp_kpa_s": 150.0}),
        ("kneading", 3.0, 120.0, 1.2),
    ]
)


def same_events(got: list[Event], want: list[Event]) -> None:
    def key(e: Event) -> tuple[float, str]:
        return (round(e.t, 9), e.kind.value)

    got, want = sorted(got, key=key), sorted(want, key=key)
    assert [(e.kind, round(e.t, 9)) for e in got] == [(e.kind, round(e.t, 9)) for e in want]
    for g, w in zip(got, want, strict=True):
        assert g.data.keys() == w.data.keys(), (g, w)
        for k, v in w.data.items():
            assert g.data[k] == (pytest.approx(v, rel=1e-9) if isinstance(v, float) else v)


@pytest.fixture(scope="module")
def lived(
    tmp_path_factory: pytest.TempPathFactory, wait_for: Callable[..., None]
) -> tuple[Path, list[Event]]:
    """A session recorded live in real time, with a marker and a pain mark in the middle."""
    path = tmp_path_factory.mktemp("live") / "live.palpate"
    pad = SimulatedPad(script=SCRIPT, seed=31, realtime=True, block_s=0.02)
    config = PipelineConfig(area_cm2=2.5)
    session = LiveSession(pad, config, record_to=path)
    with session:
        wait_for(lambda: session.clock() > 3.5)
        session.add_marker("deepening")
        session.mark_pain()
        assert session.wait(30.0)
    assert session.error is None
    return path, session.poll_events()


def test_replay_gives_the_same_events_as_live(lived: tuple[Path, list[Event]]) -> None:
    path, live_events = lived
    with SessionFile.open(path) as f:
        recorded = [r.event for r in f.events()]
    same_events(recorded, live_events)
    kinds = {e.kind for e in live_events}
    assert {EventKind.WARNING, EventKind.PAIN, EventKind.MARKER, EventKind.STROKE} <= kinds
    (pain,) = [e for e in live_events if e.kind == EventKind.PAIN]
    assert pain.data["personal_ceiling_kpa"] is not None

    replay = ReplaySource(path, speed=math.inf)
    assert replay.recorded_config == PipelineConfig(area_cm2=2.5)
    again = LiveSession(replay)
    with again:
        assert again.wait(30.0)
    assert again.error is None
    same_events(again.poll_events(), live_events)


def test_replay_at_four_times_real_time(
    lived: tuple[Path, list[Event]], wait_for: Callable[..., None]
) -> None:
    path, _ = lived
    replay = ReplaySource(path, speed=4.0)
    session = LiveSession(replay)
    with session:
        wait_for(lambda: len(session.pressure) > 0)
        p0, w0 = replay.position_s, time.monotonic()
        time.sleep(1.0)
        p1, w1 = replay.position_s, time.monotonic()
        newest = session.pressure.latest(1)[0, 0]
        assert abs(session.clock() - newest) < 0.3  # the clock follows the replay
        (status,) = session.status()
        assert status.data_age_s < 0.3 and status.rate_hz == pytest.approx(100.0, rel=0.1)
    assert 3.0 < (p1 - p0) / (w1 - w0) < 5.0


def first_t(session: LiveSession) -> float:
    return float(session.pressure.latest(10**6)[0, 0])


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s of the simulated pad written straight into a file, with two markers and a gap
    of 0.5 s (50 samples) at 12 s."""
    path = tmp_path_factory.mktemp("rec") / "rec.palpate"
    _, whole = simulate(Script.demo(5, 20.0), seed=5)
    writer = SessionWriter.create(path, started_at_unix=1.8e9)
    info, _ = simulate(Script.demo(5, 1.0), seed=5)
    writer.add_stream("sim", info)
    keep = np.r_[0:1200, 1250 : whole.n]
    for a in range(0, keep.size, 50):
        i = keep[a : a + 50]
        for part in np.split(i, np.flatnonzero(np.diff(i) > 1) + 1):
            writer.add_frame("sim", Frame(whole.t[part], whole.x[part], int(part[0])))
        writer.commit()
    writer.add_event(Event(5.0, EventKind.MARKER, {"label": "left psoas"}), "sim", 499)
    writer.add_event(Event(15.0, EventKind.MARKER, {"label": "right psoas"}), "sim", 1499)
    writer.close()
    return path


def test_seek_jump_back_and_markers(recorded: Path, wait_for: Callable[..., None]) -> None:
    replay = ReplaySource(recorded, speed=1.0, start_s=2.0)
    assert replay.duration_s == pytest.approx(20.0)
    assert [m.data["label"] for m in replay.markers] == ["left psoas", "right psoas"]
    session = LiveSession(replay)
    with session:
        wait_for(lambda: len(session.pressure) > 10)
        assert 2.0 <= session.pressure.latest(10**6)[0, 0] < 2.1
        replay.seek(16.0)
        # the buffers restart at the seek: they hold nothing from before it
        wait_for(lambda: len(session.pressure) > 10 and first_t(session) >= 16.0)
        assert replay.epoch == 1
        replay.jump_back(10.0)
        wait_for(lambda: len(session.pressure) > 5 and first_t(session) < 7.0)
        assert replay.epoch == 2 and 6.0 <= first_t(session) < 6.5
        marker = replay.seek_marker("right psoas")
        assert marker.t == 15.0
        wait_for(lambda: len(session.pressure) > 5 and first_t(session) >= 15.0)
        assert replay.epoch == 3 and first_t(session) < 15.2
    with pytest.raises(ValueError, match="no marker labelled"):
        replay.seek_marker("neck")


def test_pause_and_resume(recorded: Path, wait_for: Callable[..., None]) -> None:
    replay = ReplaySource(recorded, speed=2.0)
    session = LiveSession(replay)
    with session:
        wait_for(lambda: len(session.pressure) > 10)
        replay.pause()
        time.sleep(0.1)
        held, total = replay.position_s, session.pressure.total
        time.sleep(0.3)
        assert replay.paused and replay.position_s == held
        assert session.pressure.total == total
        replay.resume()
        wait_for(lambda: session.pressure.total > total + 20)
        replay.set_speed(16.0)
        assert replay.speed == 16.0


def test_gaps_stay_gaps(recorded: Path) -> None:
    replay = ReplaySource(recorded, speed=16.0, start_s=10.0)
    session = LiveSession(replay)
    with session:
        assert session.wait(20.0)
    gaps = [e for e in session.poll_events() if e.kind == EventKind.GAP]
    assert [g.data["missing"] for g in gaps] == [50]
    t = session.raw["sim"].latest(10**6)[:, 0]
    assert np.diff(t).max() == pytest.approx(0.51)


def test_loop_starts_again(recorded: Path, wait_for: Callable[..., None]) -> None:
    replay = ReplaySource(recorded, speed=math.inf, start_s=18.0, loop=True)
    session = LiveSession(replay)
    with session:
        wait_for(lambda: replay.epoch >= 2)
    assert replay.loop


def test_hold_at_end_waits_for_a_seek(recorded: Path, wait_for: Callable[..., None]) -> None:
    replay = ReplaySource(recorded, speed=math.inf, start_s=19.0, hold_at_end=True)
    session = LiveSession(replay)
    with session:
        wait_for(lambda: session.pressure.total >= 100)
        time.sleep(0.2)
        assert not session.stopped
        replay.seek(0.0)
        wait_for(lambda: replay.epoch == 1 and session.pressure.total > 2000)


def test_bad_arguments(recorded: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"0\.25-16x"):
        ReplaySource(recorded, speed=32.0)
    with pytest.raises(SessionError, match="no stream"):
        ReplaySource(recorded, stream="phone")
    empty = tmp_path / "empty.palpate"
    SessionWriter.create(empty, started_at_unix=0.0).close()
    with pytest.raises(SessionError, match="no streams"):
        ReplaySource(empty)
    replay = ReplaySource(recorded)
    with pytest.raises(ValueError, match="cannot seek"):
        replay.seek(math.nan)


def test_analyze_session_repeats_settings_changes(
    tmp_path: Path, wait_for: Callable[..., None]
) -> None:
    """A settings change recorded live is applied again at the same sample on re-analysis;
    overriding the settings analyses the whole session with the new ones."""
    from sessions.replay import analyze_session

    path = tmp_path / "settings.palpate"
    script = Script.scripted([("hold", 4.0, 90.0, {"ramp_kpa_s": 200.0})])
    pad = SimulatedPad(script=script, seed=41, realtime=True, block_s=0.03)  # 3 rows: 1.5 blocks
    session = LiveSession(pad, PipelineConfig(area_cm2=2.0), record_to=path)
    with session:
        wait_for(lambda: session.clock() > 1.5)
        session.tare()
        session.set_config(PipelineConfig(area_cm2=4.0))
        assert session.wait(20.0)
    live = session.poll_events()
    again = analyze_session(path)
    labels = [e.data.get("label") for e in again.events if e.kind == EventKind.MARKER]
    assert labels == ["tare", "settings"]
    # every row was analysed: those the pipeline held at the change and at the end too
    assert session.pressure.total == 400
    # the summary joins the parts before and after the change, as it did live
    assert again.summary["samples"] == 400
    assert again.summary == session.summary()
    same_events(
        [e for e in again.events if e.kind != EventKind.SENSOR],
        [e for e in live if e.kind != EventKind.SENSOR],
    )
    whole = analyze_session(path, PipelineConfig(area_cm2=4.0))
    assert whole.summary["samples"] == 400 and not whole.summary["notes"]
