"""Session files: recording from a live session, reading back, gaps, permissions and
every kind of bad file, on real SQLite files."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
from pathlib import Path

import numpy as np
import pytest

from analysis.pipeline import PipelineConfig
from analysis.stream import Channel, Event, EventKind, Frame, StreamInfo
from firmware_bridge.devices.simulator import Script, SimulatedPad, simulate
from sessions.errors import SessionError
from sessions.live import LiveSession
from sessions.store import (
    SCHEMA_VERSION,
    CorruptSessionError,
    NewerSessionError,
    NotASessionError,
    SessionFile,
    SessionWriter,
    default_folder,
    new_session_path,
    salvage,
    session_files,
)

SCRIPT = Script.scripted(
    [("rest", 1.0), ("hold", 6.0, 40.0), ("hold", 4.0, 160.0, {"ramp_kpa_s": 120.0})]
)
INFO = StreamInfo("pad", "test pad", 100.0, (Channel("force", "N", "force"),))


def record(path: Path, **options: object) -> LiveSession:
    pad = SimulatedPad(script=SCRIPT, seed=11, realtime=False, block_s=0.05, **options)
    session = LiveSession(pad, PipelineConfig(area_cm2=3.0), record_to=path)
    with session:
        assert session.wait(60.0)
    assert session.error is None
    return session


def read_everything(path: Path) -> None:
    with SessionFile.open(path) as f:
        for r in f.streams:
            f.read(r.name)
        f.events()
        f.info()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_recorded_session_reads_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "s.palpate"
    session = record(path)
    events = session.poll_events()
    _, whole = simulate(SCRIPT, seed=11)
    with SessionFile.open(path) as f:
        assert not f.interrupted
        (stream,) = f.streams
        assert stream.name == "sim" and stream.samples == whole.n and stream.gaps == 0
        frame = f.read()
        np.testing.assert_array_equal(frame.x, whole.x)
        np.testing.assert_array_equal(frame.t, session.raw["sim"].latest(10**6)[:, 0])
        recorded = [r.event for r in f.events()]
        assert [(e.t, e.kind, dict(e.data)) for e in recorded] == [
            (e.t, e.kind, dict(e.data)) for e in sorted(events, key=lambda e: e.t)
        ]
        assert any(e.kind == EventKind.WARNING for e in recorded)
        assert f.config == PipelineConfig(area_cm2=3.0)
        assert f.summary is not None and f.summary["samples"] == whole.n
        info = f.info()
        assert json.loads(json.dumps(info)) == info
        assert info["streams"][0]["samples"] == whole.n
        assert info["streams"][0]["rate_hz"] == pytest.approx(100.0)
        assert info["duration_s"] == pytest.approx(whole.n / 100.0, abs=0.02)
        assert info["started_at_unix"] == pytest.approx(session.started_at_unix)
        assert f.schema_version == SCHEMA_VERSION
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


def test_files_are_owner_only_while_recording(tmp_path: Path) -> None:
    path = tmp_path / "live.palpate"
    writer = SessionWriter.create(path, started_at_unix=0.0)
    writer.add_stream("pad", INFO)
    writer.add_frame("pad", Frame.from_arrays(np.arange(10) / 100, np.ones(10)))
    writer.commit()
    sidecars = [p for p in tmp_path.iterdir() if p.name.startswith("live.palpate")]
    assert len(sidecars) >= 2  # the file and its WAL
    assert all(mode(p) == 0o600 for p in sidecars)
    with SessionFile.open(path) as f:  # readable while it is being written
        assert f.streams[0].samples == 10 and f.interrupted
    writer.close()
    with pytest.raises(SessionError, match="already exists"):
        SessionWriter.create(path, started_at_unix=0.0)


def test_gaps_stay_gaps_and_blocks_seek_by_time(tmp_path: Path) -> None:
    path = tmp_path / "gaps.palpate"
    writer = SessionWriter.create(path, started_at_unix=0.0)
    writer.add_stream("pad", INFO)
    idx = np.r_[0:300, 350:600]  # 50 samples lost at 3.0 s
    for a in range(0, idx.size, 25):
        i = idx[a : a + 25]
        if i[-1] - i[0] != i.size - 1:  # a frame never spans the gap
            k = int(np.flatnonzero(np.diff(i) > 1)[0]) + 1
            parts = [i[:k], i[k:]]
        else:
            parts = [i]
        for p in parts:
            writer.add_frame("pad", Frame.from_arrays(p / 100.0, p.astype(float), int(p[0])))
        if a % 100 == 0:
            writer.commit()
    writer.close()
    with SessionFile.open(path) as f:
        (s,) = f.streams
        assert (s.samples, s.gaps, s.missing) == (550, 1, 50)
        assert s.rate_hz == pytest.approx(100.0)
        (gap,) = f.gaps()
        assert gap["missing"] == 50 and gap["t"] == pytest.approx(3.5)
        first = next(f.blocks("pad", t_from=4.123))
        assert first.t[0] == pytest.approx(4.13) and first.index == 413
        part = f.read("pad", 2.0, 4.0)
        assert part.t[0] == pytest.approx(2.0) and part.t[-1] == pytest.approx(4.0)
        assert part.n == 100 + 51 and np.diff(part.t).max() == pytest.approx(0.51)
        with pytest.raises(SessionError, match="no stream 'x'"):
            f.read("x")


def test_annotations(tmp_path: Path) -> None:
    path = tmp_path / "a.palpate"
    record(path)
    with SessionFile.open(path) as f:
        f.add_annotation(3.0, "too deep here", 4.5)
    with SessionFile.open(path) as f:
        (a,) = f.annotations()
        assert (a.t_start, a.t_end, a.text) == (3.0, 4.5, "too deep here")
        assert f.info()["annotations"][0]["text"] == "too deep here"


def test_default_folder_and_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PALPATE_DATA_DIR", str(tmp_path))
    assert default_folder() == tmp_path / "sessions"
    first = new_session_path(now=1.8e9)
    assert first.parent == tmp_path / "sessions" and first.suffix == ".palpate"
    SessionWriter.create(first, started_at_unix=0.0).close()
    second = new_session_path(now=1.8e9)
    assert second != first and second.name.endswith("-2.palpate")
    assert session_files() == [first]
    monkeypatch.delenv("PALPATE_DATA_DIR")
    assert default_folder().name == "sessions" and "palpate" in str(default_folder())


# -- bad files -------------------------------------------------------------------------------


def test_a_csv_or_empty_file_is_not_a_session(tmp_path: Path) -> None:
    csv = tmp_path / "x.csv"
    csv.write_text("time (s),force (N)\n0,1\n")
    with pytest.raises(NotASessionError, match=r"not an SQLite file.*palpate analyze"):
        SessionFile.open(csv)
    empty = tmp_path / "e.palpate"
    empty.write_bytes(b"")
    with pytest.raises(NotASessionError, match="empty"):
        SessionFile.open(empty)
    with pytest.raises(SessionError, match="folder"):
        SessionFile.open(tmp_path)
    with pytest.raises(FileNotFoundError):
        SessionFile.open(tmp_path / "missing.palpate")


def test_another_programs_database_is_not_a_session(tmp_path: Path) -> None:
    path = tmp_path / "other.palpate"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(NotASessionError, match=r"another program.*contacts"):
        SessionFile.open(path)


def test_a_newer_schema_asks_for_an_update(tmp_path: Path) -> None:
    path = tmp_path / "new.palpate"
    SessionWriter.create(path, started_at_unix=0.0).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(NewerSessionError, match=r"newer palpate.*update palpate"):
        SessionFile.open(path)


def test_a_truncated_file_says_what_can_be_saved(tmp_path: Path) -> None:
    path = tmp_path / "whole.palpate"
    writer = SessionWriter.create(path, started_at_unix=0.0)
    writer.add_stream("pad", INFO)
    rng = np.random.default_rng(2)
    x = rng.normal(20.0, 5.0, 6000)
    for a in range(0, 6000, 100):  # one block per second, committed one by one
        i = np.arange(a, a + 100)
        writer.add_frame("pad", Frame.from_arrays(i / 100.0, x[i], a))
        writer.commit()
    writer.close()
    cut = tmp_path / "cut.palpate"
    data = path.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(CorruptSessionError) as caught:
        read_everything(cut)
    message = str(caught.value)
    assert "truncated" in message
    assert "could be read back: " in message and "--salvage" in message
    (info, frame) = salvage(cut)["pad"]
    assert info == INFO
    rows = np.round(frame.t * 100).astype(int)  # every salvaged sample is the one written
    np.testing.assert_array_equal(frame.x[:, 0], x[rows].astype(np.float32))
    assert frame.index == 0 and 1000 < frame.n < 6000


def test_damaged_pages_never_give_a_silent_partial_read(tmp_path: Path) -> None:
    path = tmp_path / "whole.palpate"
    record(path)
    bad = tmp_path / "bad.palpate"
    shutil.copy(path, bad)
    size = bad.stat().st_size
    with bad.open("r+b") as fh:  # scribble over pages in the middle of the file
        for at in range(size // 3, 2 * size // 3, 4096 * 3):
            fh.seek(at)
            fh.write(np.random.default_rng(at).bytes(4096))
    with pytest.raises(SessionError):
        read_everything(bad)


def test_any_page_zeroed_or_scribbled_is_a_session_error(tmp_path: Path) -> None:
    # whatever page of the file is lost (zeroed, as a failing disk leaves it) or scribbled
    # over, reading it either works or says what is damaged: never another exception
    path = tmp_path / "whole.palpate"
    record(path)
    data = path.read_bytes()
    page = 4096
    told = 0
    for at in range(page, len(data), page):  # the header page is tested on its own below
        for fill in (bytes(page), np.random.default_rng(at).bytes(page)):
            bad = tmp_path / f"bad{at}.palpate"
            bad.write_bytes(data[:at] + fill[: len(data) - at] + data[at + page :])
            try:
                read_everything(bad)
            except SessionError:
                told += 1
    assert told > 0


@pytest.mark.parametrize(
    ("table", "column", "where"),
    [("meta", "value", "key = 'config'"), ("events", "data", "kind = 'warning'")],
)
def test_a_value_that_is_no_longer_json_says_the_file_is_damaged(
    tmp_path: Path, table: str, column: str, where: str
) -> None:
    path = tmp_path / "j.palpate"
    record(path)
    conn = sqlite3.connect(path)
    with conn:
        assert conn.execute(f"UPDATE {table} SET {column} = '{{half' WHERE {where}").rowcount
    conn.close()
    with pytest.raises(CorruptSessionError, match="damaged") as caught:
        read_everything(path)
    assert "--salvage" in str(caught.value)  # the samples are intact: how to save them


def test_a_header_scribbled_over_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "h.palpate"
    record(path)
    with path.open("r+b") as fh:
        fh.write(b"garbage garbage garbage")
    with pytest.raises(CorruptSessionError, match="header is missing"):
        SessionFile.open(path)


def test_events_without_a_stream_and_unknown_kinds(tmp_path: Path) -> None:
    path = tmp_path / "ev.palpate"
    writer = SessionWriter.create(path, started_at_unix=0.0)
    writer.add_event(Event(1.0, EventKind.MARKER, {"label": "start"}))
    writer.commit()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO events (t, kind, data) VALUES (2.0, 'hologram', '{}')")
    conn.commit()
    conn.close()
    writer.close()
    with SessionFile.open(path) as f:
        (r,) = f.events()
        assert (r.event.kind, r.stream, r.anchor) == (EventKind.MARKER, None, None)
        assert f.duration_s == 0.0
        with pytest.raises(SessionError, match="no streams"):
            f.read()


def test_two_sources_are_recorded_as_two_streams(tmp_path: Path) -> None:
    path = tmp_path / "two.palpate"
    pad = SimulatedPad(seed=12, realtime=True, duration_s=1.5, block_s=0.02)
    phone = SimulatedPad(seed=13, realtime=True, duration_s=1.5, accel=True, rate_hz=50.0)
    session = LiveSession([pad, phone], record_to=path)
    with session:
        assert session.wait(20.0)
    with SessionFile.open(path) as f:
        assert [(s.name, s.samples, s.info.n_channels) for s in f.streams] == [
            ("sim", 150, 1),
            ("sim-2", 75, 4),
        ]
        assert f.stream().name == "sim"
        pad_t, phone_t = f.read("sim").t, f.read("sim-2").t
    # one session clock: both started within a moment of each other
    assert abs(pad_t[0] - phone_t[0]) < 0.2
