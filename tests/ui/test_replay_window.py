"""The replay window over a real recorded session (SQLite file), offscreen (pytest-qt)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtWidgets

from analysis.stream import EventKind
from ui.gui import record_sim
from ui.replay_window import ReplayWindow


def activate(qtbot, w) -> None:  # type: ignore[no-untyped-def]
    """Make ``w`` the active window, so its keys reach it."""
    w.activateWindow()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w, timeout=5_000)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 s of the demo session (slow and fast press-ins, every stroke, a pulse)."""
    return record_sim(tmp_path_factory.mktemp("replay") / "demo.palpate", 60.0, seed=3)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def open_replay(qtbot, settings, path: Path, **kw) -> ReplayWindow:  # type: ignore[no-untyped-def]
    w = ReplayWindow(path, settings=settings, **kw)
    qtbot.addWidget(w)
    w.resize(1400, 860)
    w.show()
    assert w.session.wait(timeout=60.0), "the replay did not finish analysing"
    w.tick(advance=False)
    return w


def too_fast(w: ReplayWindow) -> list:  # type: ignore[type-arg]
    return [e for e in w.listed if e.kind == EventKind.WARNING]


def test_replay_loads_the_whole_session_with_its_events(qtbot, settings, recording) -> None:  # type: ignore[no-untyped-def]
    w = open_replay(qtbot, settings, recording, autoplay=False)
    assert w.t_last - w.t_first == pytest.approx(60.0, abs=0.05)
    assert w.loaded_t == w.t_last and not w.loading
    fast = too_fast(w)
    assert len(fast) == 1 and 46.0 < fast[0].t - w.t_first < 49.0  # the demo's 90 kPa/s press-in
    assert any(e.kind == EventKind.PULSE for e in w.listed)
    assert w.events_list.count() == len(w.listed)
    assert len(w.timeline.ticks) == len(w.listed)
    assert "session summary" in w.summary.text() and "too-fast warnings 1" in w.summary.text()


def test_scrubbing_moves_the_plots_numbers_and_warning_state(qtbot, settings, recording) -> None:  # type: ignore[no-untyped-def]
    w = open_replay(qtbot, settings, recording, autoplay=False)
    t0 = w.t_first
    fast = too_fast(w)[0]
    w.seek(fast.t + 0.3)
    r = w.view.readings
    assert r.t == pytest.approx(fast.t + 0.3)
    assert r.state.mode == "too_fast" and r.state.banner.startswith("Slow down")
    assert r.warnings == 1
    traces = w.view.traces
    one_px = traces.span_s / traces.pressure.vb.width()  # the view scrolls by whole pixels
    assert fast.t + 0.3 <= traces.visible_range()[1] < fast.t + 0.3 + one_px + 1e-9
    # back before the warning: calm again, and the count goes back with the cursor
    w.step(-5.0)
    assert w.view.readings.t == pytest.approx(fast.t - 4.7)
    assert w.view.readings.state.mode != "too_fast" and w.view.readings.warnings == 0
    # in the slow first hold (30 kPa at 10-13 s) the number shows that pressure
    w.seek(t0 + 11.0)
    assert w.view.readings.pressure_kpa == pytest.approx(30.0, abs=4.0)
    assert w.view.numbers.pressure.text() == f"{w.view.readings.pressure_kpa:.0f}"
    # the timeline: a click puts the cursor where it was clicked
    tl = w.timeline
    x = round(tl._x(t0 + 20.0))
    qtbot.mouseClick(tl, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(x, tl.height() // 2))
    assert w.cursor == pytest.approx(tl.time_at(x))
    assert abs(w.cursor - (t0 + 20.0)) < 60.0 / tl.width() * 2


def test_play_pause_speed_and_the_event_list(qtbot, settings, recording) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    w = open_replay(qtbot, settings, recording, autoplay=False, clock=clock)
    w.seek(w.t_first + 5.0)
    activate(qtbot, w)
    qtbot.keyClick(w, QtCore.Qt.Key.Key_Space)  # play
    assert w.playing
    w.set_speed(4.0)
    clock.now += 0.5
    w.tick()
    assert w.cursor == pytest.approx(w.t_first + 7.0)
    qtbot.keyClick(w, QtCore.Qt.Key.Key_Left)  # 5 s back
    assert w.cursor == pytest.approx(w.t_first + 2.0)
    qtbot.keyClick(w, QtCore.Qt.Key.Key_Space)  # pause
    clock.now += 1.0
    w.tick()
    assert not w.playing and w.cursor == pytest.approx(w.t_first + 2.0)
    # clicking a listed warning shows it (cursor just after it), paused
    row = next(i for i, e in enumerate(w.listed) if e.kind == EventKind.WARNING)
    item = w.events_list.item(row)
    rect = w.events_list.visualItemRect(item)
    qtbot.mouseClick(w.events_list.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())
    assert w.cursor == pytest.approx(w.listed[row].t + 2.0)
    # playing to the end stops there
    w.seek(w.t_last - 0.5)
    w.toggle_play()
    clock.now += 2.0
    w.tick()
    assert w.cursor == w.t_last and not w.playing


def test_whole_session_view_and_history(qtbot, settings, recording) -> None:  # type: ignore[no-untyped-def]
    from ui.history_dialog import HistoryDialog

    w = open_replay(qtbot, settings, recording, autoplay=False)
    w.seek(w.t_last)
    w.toggle_whole()
    x0, x1 = w.view.traces.visible_range()
    assert x1 - x0 == pytest.approx(60.0, abs=0.1)
    dialog = HistoryDialog(recording.parent, w.theme, w)
    qtbot.addWidget(dialog)
    assert dialog.sessions.rowCount() == 1 and dialog.weeks.rowCount() == 1
    assert dialog.sessions.item(0, 5).text() == recording.name
    dialog._pick(0)
    assert dialog.chosen == recording


def test_a_damaged_file_is_refused_before_any_window(tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    from sessions.errors import SessionError

    bad = tmp_path / "bad.palpate"
    bad.write_bytes(b"not a session at all")
    with pytest.raises(SessionError):
        ReplayWindow(bad, settings=settings)
