"""The live window over a real LiveSession fed by the simulated pad, offscreen (pytest-qt).

Real components throughout: the simulator streams through the session's acquisition
thread and pipeline into its ring buffers; the window reads them on its timer (or,
where a test needs to look at one particular frame, by calling ``tick`` itself).
"""

from __future__ import annotations

import re
import time

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtWidgets

from analysis.pipeline import PipelineConfig
from analysis.stream import EventKind
from firmware_bridge.devices.simulator import Script, SimulatedPad
from sessions.live import LiveSession
from ui.live_window import LiveWindow
from ui.theme import DARK


def activate(qtbot, w) -> None:  # type: ignore[no-untyped-def]
    """Make ``w`` the active window, so its keys reach it."""
    w.activateWindow()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w, timeout=5_000)


def window(qtbot, settings, session, **kw) -> LiveWindow:  # type: ignore[no-untyped-def]
    w = LiveWindow(session, device="sim", settings=settings, **kw)
    qtbot.addWidget(w)  # closed after the test: the window stops its session
    w.resize(1200, 800)
    w.show()
    return w


def tick_until_stopped(w: LiveWindow, timeout_s: float = 30.0) -> list:  # type: ignore[type-arg]
    """Tick the window frame by frame until the session has ended and all is drawn.

    Returns ``(readings state, events drained in that frame)`` per frame.
    """
    frames = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ended = w.session.stopped  # asked before the frame, so the frame saw all it made
        before = len(w.view.events)
        readings = w.tick()
        frames.append((readings.state, w.view.events[before:]))
        if ended and len(w.view.events) == before:
            return frames
        time.sleep(0.004)
    raise AssertionError("the session did not end")


def test_window_opens_and_data_flows(qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    session = LiveSession(SimulatedPad(seed=2, realtime=True, block_s=0.02))
    w = window(qtbot, settings, session)
    qtbot.waitUntil(lambda: w.view.mirrors["pressure"].n >= 150, timeout=10_000)
    qtbot.waitUntil(lambda: w.frames >= 10, timeout=5_000)
    r = w.view.readings
    assert 80 < r.rate_hz < 120
    assert r.state.sensor == "ok" and r.age_s < 0.5
    assert "simulator" in w.device_label.text()
    assert re.fullmatch(r"-?\d+", w.view.numbers.pressure.text())
    assert "Hz" in w.rate_label.text() and "age" in w.rate_label.text()
    # the curve holds what the session holds, up to the newest sample shown
    p = w.view.mirrors["pressure"]
    x0, x1 = w.view.traces.visible_range()
    assert x1 == pytest.approx(p.last(0), abs=0.2) and x1 - x0 == pytest.approx(30.0)


def test_a_fast_ramp_turns_the_window_red_in_the_frame_of_the_event(qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    script = Script.scripted(
        [
            ("rest", 1.0),
            ("hold", 4.0, 30.0, {"ramp_kpa_s": 10.0}),
            ("hold", 3.0, 130.0, {"ramp_kpa_s": 150.0}),
        ]
    )
    session = LiveSession(SimulatedPad(script=script, seed=1, realtime=False, block_s=0.02))
    w = window(qtbot, settings, session)
    w.timer.stop()  # this test draws the frames itself
    frames = tick_until_stopped(w)
    fast = [
        (state, events)
        for state, events in frames
        if any(e.kind == EventKind.WARNING and e.data["level"] == "too fast" for e in events)
    ]
    assert fast, "the simulated fast press-in raised no too-fast warning"
    state, _ = fast[0]
    assert state.mode == "too_fast" and state.onset
    assert re.fullmatch(r"Slow down: \+\d+ kPa/s", state.banner)
    assert w.view.banner.isVisible() or state is not frames[-1][0]
    before = [s for s, _ in frames[: frames.index(fast[0])]]
    assert all(s.mode != "too_fast" for s in before), "warned before the fast ramp"
    assert w.view.readings.warnings == 1


def test_the_alarm_is_visible_across_the_window(qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    script = Script.scripted([("rest", 1.0), ("hold", 5.0, 120.0, {"ramp_kpa_s": 150.0})])
    session = LiveSession(SimulatedPad(script=script, seed=3, realtime=False, block_s=0.02))
    w = window(qtbot, settings, session)
    w.timer.stop()
    w.clock = lambda: 0.0  # frozen display clock: the warning holds while we look
    for state, _events in tick_until_stopped(w):
        if state.mode == "too_fast":
            break
    else:
        raise AssertionError("no too-fast frame")
    red = DARK.state_colour("too_fast")
    assert red in w.frame.styleSheet()  # the window border
    assert w.view.banner.isVisible() and w.view.banner.text().startswith("Slow down")
    assert red in w.view.numbers.pressure.styleSheet()
    grab = w.grab().toImage()
    corner = grab.pixelColor(2, grab.height() // 2).name()
    assert corner == red


def test_steady_kneading_never_warns(qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    script = Script.scripted([("rest", 1.0), ("kneading", 24.0, 80.0, 1.0, {"ramp_kpa_s": 8.0})])
    session = LiveSession(SimulatedPad(script=script, seed=4, realtime=False, block_s=0.02))
    w = window(qtbot, settings, session)
    w.timer.stop()
    frames = tick_until_stopped(w)
    # every frame, however few the fast simulation leaves time for, saw its events
    assert len(frames) >= 2 and any(events for _, events in frames)
    assert all(not s.alarm for s, _ in frames)
    assert w.view.readings.stroke == "kneading"
    assert w.view.numbers.stroke.text() == "KNEADING"


def test_pain_mark_and_marker_keys_create_events(qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    script = Script.scripted([("rest", 0.5), ("hold", 30.0, 60.0, {"ramp_kpa_s": 40.0})])
    session = LiveSession(SimulatedPad(script=script, seed=5, realtime=True, block_s=0.02))
    w = window(qtbot, settings, session)
    qtbot.waitUntil(lambda: w.view.readings.pressure_kpa > 57, timeout=10_000)  # on the plateau
    activate(qtbot, w)
    qtbot.keyClick(w, QtCore.Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: any(e.kind == EventKind.PAIN for e in w.view.events), timeout=5_000)
    pain = next(e for e in w.view.events if e.kind == EventKind.PAIN)
    assert pain.data["pressure_kpa"] == pytest.approx(60.0, abs=8.0)
    ceiling = pain.data["personal_ceiling_kpa"]
    assert w.view.traces.ceiling_line.isVisible()
    assert w.view.traces.ceiling_line.value() == pytest.approx(ceiling)
    qtbot.waitUntil(lambda: w.view.banner.text().startswith("Pain marked"), timeout=2_000)
    qtbot.keyClick(w, QtCore.Qt.Key.Key_M)
    qtbot.waitUntil(lambda: any(e.kind == EventKind.MARKER for e in w.view.events), timeout=5_000)
    qtbot.keyClick(w, QtCore.Qt.Key.Key_P)
    qtbot.waitUntil(
        lambda: sum(e.kind == EventKind.PAIN for e in w.view.events) == 2, timeout=5_000
    )
    assert len(w.view.traces.marks) >= 3  # two pain marks and a marker on the plot


def test_too_slow_greys_the_rate_strip_and_the_number(qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    config = PipelineConfig(min_rate_hz=60.0)
    pad = SimulatedPad(rate_hz=50.0, seed=6, realtime=True, block_s=0.04)
    w = window(qtbot, settings, LiveSession(pad, config))
    qtbot.waitUntil(lambda: w.view.readings.state.sensor == "too_slow", timeout=10_000)
    note = w.view.traces.rate_note
    assert note.isVisible() and "too slow to judge ramps" in note.toPlainText()
    assert "50 Hz < 60 Hz" in note.toPlainText()
    assert DARK.state_colour("grey") in w.view.numbers.pressure.styleSheet()


def test_stale_data_is_said_and_dimmed(qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    pad = SimulatedPad(seed=7, realtime=True, block_s=0.02, duration_s=1.0)
    w = window(qtbot, settings, LiveSession(pad))
    qtbot.waitUntil(lambda: w.session.stopped, timeout=10_000)
    qtbot.waitUntil(lambda: w.view.readings.state.sensor == "stale", timeout=5_000)
    assert "stale" in w.view.traces.rate_note.toPlainText()
    assert DARK.state_colour("grey") in w.view.numbers.pressure.styleSheet()
    assert "the source ended" in w.note_label.text()


def test_partner_mode_theme_and_tool_keys(qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    session = LiveSession(SimulatedPad(seed=8, realtime=True, block_s=0.02))
    w = window(qtbot, settings, session)
    qtbot.waitUntil(lambda: w.frames >= 3, timeout=10_000)
    activate(qtbot, w)
    qtbot.keyClick(w, QtCore.Qt.Key.Key_F)
    assert w.partner_mode
    qtbot.waitUntil(lambda: w.partner.number.text() not in ("", "--"), timeout=5_000)
    qtbot.keyClick(w, QtCore.Qt.Key.Key_F)
    assert not w.partner_mode
    qtbot.keyClick(w, QtCore.Qt.Key.Key_L)
    assert w.theme.name == "light"
    w.tool_box.setCurrentIndex(w.tool_box.findData(6.0))
    w._tool_chosen(w.tool_box.currentIndex())
    assert w.config.area_cm2 == 6.0
    qtbot.waitUntil(lambda: session.config.area_cm2 == 6.0, timeout=5_000)
    w.close()
    assert settings.value("theme") == "light"
    assert w.recent_devices() == ["sim"]  # the device is remembered for the picker


def test_screenshot_steps_through_simulated_data(tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    from PySide6 import QtGui

    from ui.gui import render_live_screenshot

    out = render_live_screenshot(tmp_path / "live.png", 48.0, seed=3, settings=settings)
    image = QtGui.QImage(str(out))
    assert (image.width(), image.height()) == (1400, 860)
    colours = {image.pixel(x, y) for x in range(0, 1400, 20) for y in range(0, 860, 20)}
    assert len(colours) > 20
    # the demo's fast press-in at 47 s is on screen: the border is red
    assert image.pixelColor(2, 430).name() == DARK.state_colour("too_fast")


def test_device_switch_and_dialogs(qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    from ui.dialogs import DevicePicker, ThresholdsDialog

    made = []

    def make_session(spec: str, config: PipelineConfig) -> LiveSession:
        made.append((spec, config.area_cm2))
        return LiveSession(SimulatedPad(seed=9, realtime=True, block_s=0.02), config)

    first = LiveSession(SimulatedPad(seed=8, realtime=True, block_s=0.02))
    w = window(qtbot, settings, first, make_session=make_session)
    qtbot.waitUntil(lambda: w.view.mirrors["pressure"].n > 50, timeout=10_000)
    w.switch_device("sim")
    assert first.stopped and w.session is not first and made == [("sim", 2.0)]
    qtbot.waitUntil(lambda: "seed 9" in w.device_label.text(), timeout=10_000)

    picker = DevicePicker(["virtual:tindeq"], "sim", w)
    qtbot.addWidget(picker)
    specs = [
        picker.list.item(i).data(QtCore.Qt.ItemDataRole.UserRole)
        for i in range(picker.list.count())
    ]
    assert specs[0] == "virtual:tindeq" and "sim" in specs
    picker.list.setCurrentRow(specs.index("sim"))
    assert picker.chosen() == "sim"
    # scanning runs the bridge's real scan; with no Bluetooth here it says why, in one line
    assert picker.scan_button.isEnabled()
    picker.scan_button.click()
    qtbot.waitUntil(lambda: picker.scan_button.isEnabled(), timeout=30_000)
    note = picker.note.text()
    assert note.startswith("scan failed: ") or note.endswith("device(s) found")
    assert "\n" not in note

    dialog = ThresholdsDialog(w.config, w)
    qtbot.addWidget(dialog)
    dialog.caution.setValue(30)
    dialog.limit.setValue(60)
    dialog.personal.setValue(120)
    dialog._accept()
    assert dialog.result_config is not None
    w.set_config(dialog.result_config)
    assert w.view.traces.limit_line.value() == 60 and w.view.traces.ceiling_line.value() == 120
    qtbot.waitUntil(lambda: w.session.config.warnings.limit_kpa_s == 60, timeout=5_000)
    bad = ThresholdsDialog(w.config, w)
    qtbot.addWidget(bad)
    bad.caution.setValue(80)  # above the too-fast limit
    bad._accept()
    assert bad.result_config is None and "caution <= limit" in bad.error.text()


def test_record_and_tare_keys(qtbot, settings, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from sessions.store import SessionFile

    monkeypatch.setenv("PALPATE_DATA_DIR", str(tmp_path))
    session = LiveSession(SimulatedPad(seed=10, realtime=True, block_s=0.02))
    w = window(qtbot, settings, session)
    qtbot.waitUntil(lambda: w.frames >= 3, timeout=10_000)
    activate(qtbot, w)
    qtbot.keyClick(w, QtCore.Qt.Key.Key_R)
    path = session.recording
    assert path is not None and path.parent == tmp_path / "sessions"
    qtbot.waitUntil(lambda: w.rec_label.text().startswith("REC"), timeout=5_000)
    qtbot.keyClick(w, QtCore.Qt.Key.Key_T)
    assert w.note_label.text().startswith("tare")
    qtbot.wait(600)
    qtbot.keyClick(w, QtCore.Qt.Key.Key_R)
    assert session.recording is None and w.note_label.text() == f"saved {path}"
    qtbot.waitUntil(lambda: w.rec_label.text() == "", timeout=5_000)
    session.stop()
    with SessionFile.open(path) as f:
        assert f.duration_s > 0.3
