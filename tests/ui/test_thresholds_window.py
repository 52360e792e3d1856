"""The live window remembers the person's thresholds per tool: a real LiveSession on the
simulated pad, real Qt widgets offscreen, the real thresholds file in the private config dir."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtWidgets

from analysis.stream import EventKind
from analysis.warning_level import WarningConfig
from firmware_bridge.devices.simulator import Script, SimulatedPad
from sessions.live import LiveSession
from sessions.thresholds import load_thresholds, save_thresholds, thresholds_path
from ui.dialogs import ThresholdsDialog
from ui.live_window import LiveWindow


def window(qtbot: Any, settings: Any, session: LiveSession, **kw: Any) -> LiveWindow:
    w = LiveWindow(session, device="sim", settings=settings, **kw)
    qtbot.addWidget(w)  # closed after the test: the window stops its session
    w.resize(1200, 800)
    w.show()
    return w


def fill_thresholds_dialog(caution: float, limit: float, personal: float) -> None:
    """Once the thresholds dialog is up (modal), enter values and press OK."""

    def fill() -> None:
        dialog = QtWidgets.QApplication.activeModalWidget()
        assert isinstance(dialog, ThresholdsDialog)
        dialog.caution.setValue(caution)
        dialog.limit.setValue(limit)
        dialog.personal.setValue(personal)
        dialog._accept()

    QtCore.QTimer.singleShot(0, fill)


def choose_tool(w: LiveWindow, area_cm2: float) -> None:
    index = w.tool_box.findData(area_cm2)
    w.tool_box.setCurrentIndex(index)
    w._tool_chosen(index)  # what the combo box's ``activated`` signal calls


def test_accepting_the_dialog_saves_for_the_tool(qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    session = LiveSession(SimulatedPad(seed=8, realtime=True, block_s=0.02))
    w = window(qtbot, settings, session, thresholds=thresholds_path())
    qtbot.waitUntil(lambda: w.frames >= 3, timeout=10_000)
    fill_thresholds_dialog(30, 60, 120)
    w.edit_thresholds()
    assert w.config.warnings.limit_kpa_s == 60
    saved = load_thresholds(2.0)
    assert saved is not None
    assert (saved.caution_kpa_s, saved.limit_kpa_s, saved.personal_ceiling_kpa) == (30, 60, 120)
    assert saved.ceiling_kpa == 300  # as it was
    assert w.note_label.text() == "thresholds saved for thumb"
    # the person clears the personal ceiling ("none"): saved as none
    fill_thresholds_dialog(30, 60, 0)
    w.edit_thresholds()
    saved = load_thresholds(2.0)
    assert saved is not None and saved.personal_ceiling_kpa is None


def test_a_damaged_file_is_moved_aside_when_the_dialog_saves(qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    path = thresholds_path()
    path.parent.mkdir(parents=True)
    path.write_text("{ damaged", encoding="utf-8")
    session = LiveSession(SimulatedPad(seed=8, realtime=True, block_s=0.02))
    w = window(qtbot, settings, session, thresholds=path)
    qtbot.waitUntil(lambda: w.frames >= 3, timeout=10_000)
    choose_tool(w, 3.0)  # reading the damaged file on a tool change: told, thresholds kept
    note = w.note_label.text()
    assert note.startswith(f"contact area 3 cm²; thresholds file {path} is damaged (not JSON")
    assert note.endswith("using these thresholds; fix or delete it")
    assert w.config.warnings == WarningConfig()
    fill_thresholds_dialog(20, 40, 0)
    w.edit_thresholds()
    aside = path.with_name("thresholds.json.damaged")
    assert aside.read_text(encoding="utf-8") == "{ damaged"
    note = w.note_label.text()
    assert note.startswith("thresholds saved for knuckle; thresholds file") and str(aside) in note
    saved = load_thresholds(3.0)
    assert saved is not None and saved.limit_kpa_s == 40


def test_changing_the_tool_switches_to_its_saved_thresholds(qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    knuckle = WarningConfig(caution_kpa_s=12, limit_kpa_s=24, ceiling_kpa=None)
    save_thresholds(3.0, knuckle)
    session = LiveSession(SimulatedPad(seed=8, realtime=True, block_s=0.02))
    w = window(qtbot, settings, session, thresholds=thresholds_path())
    qtbot.waitUntil(lambda: w.frames >= 3, timeout=10_000)
    choose_tool(w, 3.0)
    assert w.config.area_cm2 == 3.0 and w.config.warnings == knuckle
    assert w.note_label.text().startswith(
        "contact area 3 cm²; your saved thresholds for knuckle in use: caution 12 kPa/s"
    )
    qtbot.waitUntil(lambda: session.config.warnings == knuckle, timeout=5_000)
    assert w.view.traces.limit_line.value() == 24
    choose_tool(w, 6.0)  # nothing saved for the elbow: the thresholds in force stay
    assert w.config.area_cm2 == 6.0 and w.config.warnings == knuckle
    assert w.note_label.text() == "contact area 6 cm²"


def test_a_pain_mark_saves_the_personal_ceiling_for_the_tool(qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    save_thresholds(2.0, WarningConfig(caution_kpa_s=20, limit_kpa_s=40))
    script = Script.scripted([("rest", 0.5), ("hold", 30.0, 60.0, {"ramp_kpa_s": 40.0})])
    session = LiveSession(SimulatedPad(script=script, seed=5, realtime=True, block_s=0.02))
    w = window(qtbot, settings, session, thresholds=thresholds_path())
    qtbot.waitUntil(lambda: w.view.readings.pressure_kpa > 57, timeout=10_000)  # on the plateau
    w.mark_pain()
    qtbot.waitUntil(lambda: any(e.kind == EventKind.PAIN for e in w.view.events), timeout=5_000)
    pain = next(e for e in w.view.events if e.kind == EventKind.PAIN)
    ceiling = pain.data["personal_ceiling_kpa"]
    assert ceiling > 40
    saved = load_thresholds(2.0)
    assert saved is not None and saved.personal_ceiling_kpa == pytest.approx(ceiling)
    assert (saved.caution_kpa_s, saved.limit_kpa_s) == (20, 40)  # only the ceiling changed
    assert w.config.warnings.personal_ceiling_kpa == pytest.approx(ceiling)  # the dialog shows it
    assert w.note_label.text() == (
        f"pain marked: ease off; personal ceiling {ceiling:.0f} kPa saved for thumb"
    )


def test_a_window_without_a_thresholds_file_remembers_nothing(qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    script = Script.scripted([("rest", 0.5), ("hold", 30.0, 60.0, {"ramp_kpa_s": 40.0})])
    session = LiveSession(SimulatedPad(script=script, seed=5, realtime=True, block_s=0.02))
    w = window(qtbot, settings, session)  # as screenshots and benchmarks open it
    qtbot.waitUntil(lambda: w.view.readings.pressure_kpa > 57, timeout=10_000)
    w.mark_pain()
    qtbot.waitUntil(lambda: any(e.kind == EventKind.PAIN for e in w.view.events), timeout=5_000)
    fill_thresholds_dialog(30, 60, 0)
    w.edit_thresholds()
    choose_tool(w, 3.0)
    assert w.config.warnings.limit_kpa_s == 60
    assert not thresholds_path().parent.exists()


def test_options_given_on_the_command_line_win_on_a_tool_change(qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    # palpate demo --ramp-limit 40: the knuckle's saved limit does not replace it, its
    # saved ceiling does; once the person sets thresholds in the dialog, those rule
    save_thresholds(3.0, WarningConfig(caution_kpa_s=12, limit_kpa_s=24, ceiling_kpa=150))
    session = LiveSession(SimulatedPad(seed=8, realtime=True, block_s=0.02))
    w = window(
        qtbot,
        settings,
        session,
        thresholds=thresholds_path(),
        given_thresholds=("caution_kpa_s", "limit_kpa_s"),
    )
    w.set_config(replace(w.config, warnings=WarningConfig(caution_kpa_s=20, limit_kpa_s=40)))
    qtbot.waitUntil(lambda: w.frames >= 3, timeout=10_000)
    choose_tool(w, 3.0)
    warnings = w.config.warnings
    assert (warnings.caution_kpa_s, warnings.limit_kpa_s, warnings.ceiling_kpa) == (20, 40, 150)
    assert w.note_label.text().endswith("(options given on the command line win)")
    fill_thresholds_dialog(15, 30, 0)
    w.edit_thresholds()
    save_thresholds(6.0, WarningConfig(caution_kpa_s=10, limit_kpa_s=22))
    choose_tool(w, 6.0)
    assert w.config.warnings.limit_kpa_s == 22
