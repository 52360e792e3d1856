"""History: sessions listed from real files, grouped per day and week, damaged files kept
in the list with what is wrong."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from analysis.stream import Channel, Event, EventKind, Frame, StreamInfo
from sessions.history import history, list_sessions, read_entry, streak_days
from sessions.store import SessionWriter

INFO = StreamInfo("pad", "open pad", 100.0, (Channel("force", "N", "force"),))


def make(folder: Path, name: str, when: datetime, seconds: float, summary: dict, pain=None) -> Path:
    path = folder / f"{name}.palpate"
    writer = SessionWriter.create(path, started_at_unix=when.timestamp())
    writer.add_stream("pad", INFO)
    n = int(seconds * 100)
    writer.add_frame("pad", Frame.from_arrays(np.arange(n) / 100.0, np.ones(n)))
    if pain is not None:
        data = {"pressure_kpa": pain / 0.8, "personal_ceiling_kpa": pain}
        writer.add_event(Event(1.0, EventKind.PAIN, data), "pad", 99)
    writer.close(summary)
    return path


def summary(peak: float, warnings: int, zones: tuple[float, float, float]) -> dict:
    gentle, working, deep = zones
    return {
        "peak_kpa": peak,
        "warnings": warnings,
        "ceiling_crossings": 0,
        "zone_s": {"gentle": gentle, "working": working, "deep": deep},
    }


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = datetime
    make(tmp_path, "a", d(2026, 11, 2, 8, tzinfo=UTC), 60, summary(80, 1, (30, 20, 0)))
    make(tmp_path, "b", d(2026, 11, 2, 20, tzinfo=UTC), 30, summary(150, 0, (10, 10, 5)), 96.0)
    make(tmp_path, "c", d(2026, 11, 4, 9, tzinfo=UTC), 90, summary(60, 2, (50, 10, 0)), 120.0)
    make(tmp_path, "d", d(2026, 11, 18, 9, tzinfo=UTC), 45, summary(40, 0, (40, 0, 0)))
    (tmp_path / "broken.palpate").write_bytes(b"SQLite format 3\x00" + bytes(200))
    return tmp_path


def test_list_sessions_reads_every_file(folder: Path) -> None:
    entries = list_sessions(folder)
    assert [e.path.name for e in entries] == [
        "a.palpate", "b.palpate", "c.palpate", "d.palpate", "broken.palpate",
    ]  # fmt: skip
    a = entries[0]
    assert a.duration_s == pytest.approx(60.0) and a.devices == ("open pad",)
    assert (a.peak_kpa, a.warnings, a.interrupted) == (80, 1, False)
    assert entries[1].pain_marks == 1 and entries[1].personal_ceiling_kpa == 96.0
    broken = entries[-1]
    assert broken.problem and "broken.palpate" in broken.problem
    assert broken.to_json()["problem"] == broken.problem


def test_weeks_include_the_empty_ones(folder: Path) -> None:
    weeks = history(list_sessions(folder), by="week", utc=True)
    assert [w.label for w in weeks] == ["2026-W45", "2026-W46", "2026-W47"]
    w45, w46, w47 = weeks
    assert (w45.sessions, len(w45.days), w45.total_s) == (3, 2, pytest.approx(180.0))
    assert w45.zone_s == {"gentle": 90.0, "working": 40.0, "deep": 5.0}
    assert (w45.warnings, w45.pain_marks, w45.peak_kpa) == (3, 2, 150)
    assert w45.personal_ceiling_kpa == 96.0
    assert w46.sessions == 0 and w46.total_s == 0.0
    assert w47.sessions == 1 and w47.personal_ceiling_kpa is None
    assert w45.to_json()["days_with_sessions"] == 2


def test_days_and_streaks(folder: Path) -> None:
    entries = list_sessions(folder)
    days = history(entries, by="day", utc=True)
    assert days[0].label == "2026-11-02" and days[0].sessions == 2
    assert len(days) == 17 and sum(d.sessions for d in days) == 4
    assert streak_days(entries, date(2026, 11, 18), utc=True) == 1
    assert streak_days(entries, date(2026, 11, 20), utc=True) == 0
    with pytest.raises(ValueError, match="day' or 'week"):
        history(entries, by="month")  # type: ignore[arg-type]


def test_an_interrupted_session_is_listed_as_such(tmp_path: Path) -> None:
    writer = SessionWriter.create(tmp_path / "x.palpate", started_at_unix=1.8e9)
    writer.add_stream("pad", INFO)
    writer.add_frame("pad", Frame.from_arrays(np.arange(10) / 100.0, np.ones(10)))
    writer.commit()  # never closed: as after a crash
    entry = read_entry(tmp_path / "x.palpate")
    writer._conn.close()  # let go of the file without marking it ended
    assert entry.interrupted and entry.peak_kpa is None and not entry.problem
    assert history([], by="week") == []
