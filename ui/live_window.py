"""The live window: what a person looks at while pressing into a sore muscle.

Layout (``shared/UI.md``): a status row (device, sample rate, data age, tool,
recording, thresholds), the session view (banner, pressure with zones, ramp-rate
strip, stroke ribbon, big numbers, centre of pressure) and a row of actions, each
with its key:

====== ==========================================================
key    action
====== ==========================================================
M      marker
Space  pain: records the pressure as a personal ceiling, "ease off"
P      pain (same as Space)
T      tare (zero the pad while nobody presses)
R      start / stop recording
F      partner mode (large, simplified view)
C      calibration wizard
G      guided pain-threshold test
K      thresholds
D      device picker
L      light / dark theme
S      warning tone on / off
End    back to now after scrolling
====== ==========================================================

The window reads the :class:`sessions.live.LiveSession` buffers on a QTimer and
reacts to its events; it never touches bleak or SQLite. A too-fast warning turns
the whole window red (border, banner, number) in the frame that drains the event.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from analysis.pipeline import PipelineConfig
from analysis.stream import Event, EventKind
from analysis.tools import TOOLS
from sessions.thresholds import SAVED_FIELDS, apply_thresholds, save_thresholds, tool_key
from ui.session_panel import Readings, SessionView
from ui.theme import THEMES, Theme
from ui.warning_state import DisplayConfig
from ui.widgets.partner import PartnerView
from ui.widgets.readout import number_font

__all__ = ["KEYS", "LiveWindow"]

KEYS: dict[str, tuple[str, ...]] = {
    "marker": ("M",),
    "pain": ("Space", "P"),
    "tare": ("T",),
    "record": ("R",),
    "partner": ("F",),
    "calibrate": ("C",),
    "pain_test": ("G",),
    "thresholds": ("K",),
    "device": ("D",),
    "theme": ("L",),
    "sound": ("S",),
    "follow": ("End",),
}
"""Keys of every action (Qt key sequence text)."""

_LINK_COLOURS = {
    "streaming": "#2ecc71",
    "connecting": "#ffb020",
    "reconnecting": "#ffb020",
    "closed": "#6b7280",
    "failed": "#ff3b30",
}


def _retext(label: QtWidgets.QLabel, text: str) -> None:
    if label.text() != text:
        label.setText(text)


def _restyle(widget: QtWidgets.QWidget, style: str) -> None:
    """Set a style sheet only when it changes (setting one re-polishes the widget)."""
    if widget.styleSheet() != style:
        widget.setStyleSheet(style)


class LiveWindow(QtWidgets.QMainWindow):
    """The live window over one :class:`~sessions.live.LiveSession`.

    Parameters
    ----------
    session : LiveSession
        Not yet started: the window starts it when shown and stops it when closed.
    device : str
        The device spec the session reads (shown, remembered as a recent device).
    make_session : callable, optional
        ``make_session(spec, config) -> LiveSession`` for the device picker; without it
        the picker is disabled.
    theme_name : str
        ``dark`` or ``light`` (default: the one last used, else dark).
    fps : float
        Frames per second of the display timer (30-60).
    settings : QSettings, optional
        Where window size, theme and recent devices are remembered.
    seconds : float, optional
        Close the window after this many seconds of session data.
    clock : callable
        Monotonic clock for the warning display, seconds.
    thresholds : Path, optional
        The person's thresholds file (``sessions.thresholds``): a tool change loads the
        thresholds saved for the new tool, accepting the thresholds dialog saves them for
        the tool, a pain mark saves the personal ceiling. ``None``: nothing is remembered.
    given_thresholds : tuple of str
        :class:`~analysis.warning_level.WarningConfig` fields set on the command line:
        a tool change keeps them instead of the saved ones, until the person sets
        thresholds in the dialog.
    """

    def __init__(
        self,
        session: Any,
        *,
        device: str = "",
        make_session: Callable[[str, PipelineConfig], Any] | None = None,
        theme_name: str | None = None,
        fps: float = 50.0,
        settings: QtCore.QSettings | None = None,
        seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        thresholds: Path | None = None,
        given_thresholds: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.session: Any = session
        self.device = device
        self.make_session = make_session
        self.settings = settings or QtCore.QSettings("palpate", "palpate")
        self.seconds = seconds
        self.clock = clock
        self.thresholds = thresholds
        self._given = given_thresholds
        self._pain_asked = 0  # pain marks whose event (and new ceiling) has not come back yet
        self.sound = bool(self.settings.value("sound", False, type=bool))
        name = theme_name or str(self.settings.value("theme", "dark"))
        self.theme: Theme = THEMES.get(name, THEMES["dark"])
        self.config: PipelineConfig = getattr(session, "config", None) or PipelineConfig()
        self.frames = 0
        self._rec_since: float | None = None
        self._note = ""
        self._note_until = 0.0
        self._flash_left = 0
        self._started = False
        self.flash = True
        """Flash the window at a warning's onset (screenshots turn it off)."""
        self._held: list[Event] = []

        self.setWindowTitle(f"palpate · {device}" if device else "palpate")
        self.view = SessionView(self.theme, DisplayConfig(min_rate_hz=self.config.min_rate_hz))
        self.view.traces.set_thresholds(
            self.config.warnings.caution_kpa_s, self.config.warnings.limit_kpa_s
        )
        self.view.traces.set_ceiling(self.config.warnings.personal_ceiling_kpa)
        self.partner = PartnerView(self.theme)
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.partner)

        self.frame = QtWidgets.QFrame()
        self.frame.setObjectName("palpateFrame")
        outer = QtWidgets.QVBoxLayout(self.frame)
        outer.setContentsMargins(10, 6, 10, 6)
        outer.setSpacing(6)
        outer.addLayout(self._status_row())
        outer.addWidget(self.stack, 1)
        outer.addLayout(self._action_row())
        self.setCentralWidget(self.frame)
        self._actions()
        self._paint_frame("calm")
        self.resize(1400, 860)
        geometry = self.settings.value("live/geometry")
        if isinstance(geometry, QtCore.QByteArray):
            self.restoreGeometry(geometry)

        self._flash_timer = QtCore.QTimer(self)  # a child: it dies with the window
        self._flash_timer.setInterval(110)
        self._flash_timer.timeout.connect(self._flash_step)
        if device:
            self._remember_device(device)
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.setInterval(max(1, round(1000.0 / min(max(fps, 30.0), 60.0))))
        self.timer.timeout.connect(self.tick)

    # -- layout ------------------------------------------------------------------------------

    def _button(self, text: str, slot: Callable[[], None]) -> QtWidgets.QPushButton:
        b = QtWidgets.QPushButton(text)
        b.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # keys belong to the window
        b.setFlat(True)
        b.setFont(number_font(16, bold=False))
        b.clicked.connect(slot)
        return b

    def _status_row(self) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        self.link_label = QtWidgets.QLabel("●")
        self.link_label.setFont(number_font(22))
        self.device_label = QtWidgets.QLabel(self.device or "no device")
        self.device_label.setFont(number_font(20))
        self.rate_label = QtWidgets.QLabel("-- Hz   age --")
        self.rate_label.setFont(number_font(20, bold=False))
        self.rate_label.setMinimumWidth(260)  # changing digits never re-lay the row out
        self.tool_box = QtWidgets.QComboBox()
        self.tool_box.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.tool_box.setFont(number_font(16, bold=False))
        for t in TOOLS.values():
            self.tool_box.addItem(
                f"tool: {t.name.replace('_', ' ')} {t.area_cm2:g} cm²", t.area_cm2
            )
        self.tool_box.addItem("tool: custom area…", None)
        self._select_tool(self.config.area_cm2)
        self.tool_box.activated.connect(self._tool_chosen)
        self.rec_button = self._button("● REC  [R]", self.toggle_recording)
        self.rec_label = QtWidgets.QLabel("")
        self.rec_label.setFont(number_font(20))
        self.note_label = QtWidgets.QLabel("")
        self.note_label.setFont(number_font(16, bold=False))
        row.addWidget(self.link_label)
        row.addWidget(self.device_label)
        row.addSpacing(16)
        row.addWidget(self.rate_label)
        row.addSpacing(16)
        row.addWidget(self.note_label, 1)
        row.addWidget(self.tool_box)
        row.addWidget(self.rec_button)
        row.addWidget(self.rec_label)
        row.addWidget(self._button("⚙ thresholds  [K]", self.edit_thresholds))
        return row

    def _action_row(self) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        for text, slot in (
            ("[M] marker", self.add_marker),
            ("[Space] pain — ease off", self.mark_pain),
            ("[T] tare", self.tare),
            ("[F] partner", self.toggle_partner),
            ("[C] calibrate", self.open_calibration),
            ("[G] pain test", self.open_pain_test),
            ("[D] device", self.pick_device),
            ("[L] light/dark", self.toggle_theme),
            ("[S] tone", self.toggle_sound),
        ):
            row.addWidget(self._button(text, slot))
        row.addStretch(1)
        return row

    def _actions(self) -> None:
        slots: dict[str, Callable[[], None]] = {
            "marker": self.add_marker,
            "pain": self.mark_pain,
            "tare": self.tare,
            "record": self.toggle_recording,
            "partner": self.toggle_partner,
            "calibrate": self.open_calibration,
            "pain_test": self.open_pain_test,
            "thresholds": self.edit_thresholds,
            "device": self.pick_device,
            "theme": self.toggle_theme,
            "sound": self.toggle_sound,
            "follow": self.view.traces.follow,
        }
        self.shortcuts: list[QtGui.QShortcut] = []
        for name, keys in KEYS.items():
            for key in keys:
                sc = QtGui.QShortcut(QtGui.QKeySequence(key), self)
                sc.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
                sc.activated.connect(slots[name])
                self.shortcuts.append(sc)

    # -- life cycle ----------------------------------------------------------------------------

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self.start()

    def start(self) -> None:
        """Start the session (once) and the display timer."""
        if not self._started:
            self._started = True
            self.session.start()
        if not self.timer.isActive():
            self.timer.start()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.timer.stop()
        self._flash_timer.stop()
        self.settings.setValue("live/geometry", self.saveGeometry())
        self.settings.setValue("theme", self.theme.name)
        self.settings.setValue("sound", self.sound)
        self.session.stop()
        super().closeEvent(event)

    # -- the frame ---------------------------------------------------------------------------

    def tick(self, until: float | None = None) -> Readings:
        """One display frame: pull the buffers, drain events, draw. Returns what it showed.

        ``until`` (session seconds) draws the moment ``until`` instead of now, holding
        back later events for later frames (``palpate screenshot`` steps through fast
        simulated data this way).
        """
        session = self.session
        events = self._held + self.view.pull(session)
        self._held = []
        if until is not None:
            self._held = [e for e in events if e.t > until]
            events = [e for e in events if e.t <= until]
        if self._pain_asked:
            self._remember_pain(events)
        status = session.status()
        main = status[0] if status else None
        rate_hz = main.rate_hz if main is not None else math.nan
        age_s = main.data_age_s if main is not None else math.inf
        if main is not None and main.too_slow and not rate_hz < self.config.min_rate_hz:
            rate_hz = (
                min(rate_hz, self.config.min_rate_hz - 1e-9) if math.isfinite(rate_hz) else 0.0
            )
        now = self.clock()
        readings = self.view.render(
            now,
            events,
            rate_hz=rate_hz,
            age_s=max(age_s, 0.0),
            cursor=until,
            draw_plots=not self.partner_mode,
        )
        state = readings.state
        self._paint_frame(state.mode)
        if state.onset and self.flash:
            self._flash()
            if self.sound:
                QtWidgets.QApplication.beep()
        if self.stack.currentWidget() is self.partner:
            self.partner.show_reading(
                readings.pressure_kpa,
                state.mode,
                state.banner,
                readings.stroke,
                dim=state.sensor != "ok",
            )
        self._status_line(main, rate_hz, age_s, now)
        self.frames += 1
        if self.seconds is not None and self._data_seconds() >= self.seconds:
            self.close()
        elif session.stopped and not self._note:
            error = getattr(session, "error", None)
            self.tell(f"stopped: {error}" if error else "the source ended", 3600.0)
        return readings

    def _data_seconds(self) -> float:
        m = self.view.mirrors["pressure"]
        return float(m.t[-1] - m.t[0]) if m.n > 1 else 0.0

    def _status_line(self, main: Any, rate_hz: float, age_s: float, now: float) -> None:
        link = main.link if main is not None else "connecting"
        colour = _LINK_COLOURS.get(link, self.theme.dim)
        _restyle(self.link_label, f"color: {colour};")
        device = (main.device if main is not None and main.device else self.device) or "no device"
        text = device if link == "streaming" else f"{device} ({link})"
        if self.device_label.text() != text:
            self.device_label.setText(text)
        hz = f"{rate_hz:.0f} Hz" if math.isfinite(rate_hz) else "-- Hz"
        age = f"{age_s * 1000:.0f} ms" if math.isfinite(age_s) and age_s >= 0 else "--"
        _retext(self.rate_label, f"{hz}   age {age}")
        grey = self.view.readings.state.sensor != "ok"
        _restyle(
            self.rate_label,
            f"color: {self.theme.state_colour('grey') if grey else self.theme.text};",
        )
        rec = getattr(self.session, "recording", None)
        if rec is not None:
            if self._rec_since is None:
                self._rec_since = now
            m, s = divmod(int(now - self._rec_since), 60)
            _retext(self.rec_label, f"REC {m:02d}:{s:02d}")
            _restyle(self.rec_label, f"color: {self.theme.state_colour('too_fast')};")
        elif self.rec_label.text():
            self._rec_since = None
            self.rec_label.setText("")
        message = main.message if main is not None else ""
        if now > self._note_until:
            self._note = ""
        note = self._note or message
        if self.note_label.text() != note:
            self.note_label.setText(note)

    def _paint_frame(self, mode: str) -> None:
        th = self.theme
        alarm = mode in ("too_fast", "ceiling")
        border = th.state_colour(mode) if alarm else th.background
        bg = th.state_colour("too_fast") if self._flash_left % 2 == 1 else th.background
        key = (border, bg, th.name)
        if key == getattr(self, "_frame_key", None):
            return
        self._frame_key = key
        self.frame.setStyleSheet(
            f"#palpateFrame {{ background: {bg}; border: 8px solid {border}; }}"
            f" QLabel {{ color: {th.text}; }}"
            f" QPushButton {{ color: {th.dim}; border: none; padding: 4px 8px; }}"
            f" QComboBox {{ color: {th.text}; background: {th.panel}; }}"
        )

    def _flash(self) -> None:
        """Flash the window background twice (the warning's onset)."""
        self._flash_left = 4
        self._paint_frame(self.view.readings.state.mode)
        self._flash_timer.start()

    def _flash_step(self) -> None:
        self._flash_left = max(0, self._flash_left - 1)
        self._paint_frame(self.view.readings.state.mode)
        if self._flash_left == 0:
            self._flash_timer.stop()

    def tell(self, text: str, seconds: float = 4.0) -> None:
        """A short note in the status row."""
        self._note = text
        self._note_until = self.clock() + seconds
        self.note_label.setText(text)

    # -- actions -------------------------------------------------------------------------------

    def add_marker(self) -> None:
        self.session.add_marker("")
        self.tell("marker set")

    def mark_pain(self) -> None:
        """Pain mark: the session records the pressure as a personal ceiling."""
        self.session.mark_pain()
        self._pain_asked += 1
        self.tell("pain marked: ease off")

    def _remember_pain(self, events: list[Event]) -> None:
        """The personal ceiling of this window's own pain marks: kept and saved for the tool."""
        for e in events:
            if e.kind != EventKind.PAIN or not self._pain_asked:
                continue
            self._pain_asked -= 1
            ceiling = e.data.get("personal_ceiling_kpa")
            if ceiling is None:  # no pressure yet: a plain mark
                continue
            w = replace(self.config.warnings, personal_ceiling_kpa=float(ceiling))
            self.config = replace(self.config, warnings=w)  # the pipeline holds it already
            self._save_thresholds(
                ("personal_ceiling_kpa",),
                f"pain marked: ease off; personal ceiling {float(ceiling):.0f} kPa saved for "
                f"{tool_key(self.config.area_cm2)}",
            )

    def _save_thresholds(self, fields: tuple[str, ...], told: str) -> None:
        """Save the thresholds in force for the current tool (a tiny JSON file) and tell."""
        if self.thresholds is None:
            return
        try:
            note = save_thresholds(
                self.config.area_cm2, self.config.warnings, self.thresholds, fields
            )
        except OSError as err:
            self.tell(f"thresholds not saved: {err}", 10.0)
            return
        self.tell(f"{told}; {note}" if note else told, 10.0 if note else 4.0)

    def tare(self) -> None:
        self.session.tare()
        self.tell("tare: zeroed while nobody presses")

    def toggle_recording(self) -> None:
        try:
            if self.session.recording is not None:
                path = self.session.recording
                self.session.stop_recording()
                self.tell(f"saved {path}")
            else:
                path = self.session.start_recording()
                self.tell(f"recording to {path}")
        except (OSError, ValueError, RuntimeError) as err:
            self.tell(f"recording: {err}", 10.0)

    def toggle_partner(self) -> None:
        to_partner = self.stack.currentWidget() is not self.partner
        self.stack.setCurrentWidget(self.partner if to_partner else self.view)

    @property
    def partner_mode(self) -> bool:
        return self.stack.currentWidget() is self.partner

    def toggle_theme(self) -> None:
        self.apply_theme(THEMES["light" if self.theme.name == "dark" else "dark"])

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.view.set_theme(theme)
        self.partner.set_theme(theme)
        self._frame_key = None
        self._paint_frame(self.view.readings.state.mode)

    def toggle_sound(self) -> None:
        self.sound = not self.sound
        self.tell("warning tone on" if self.sound else "warning tone off")

    def set_config(self, config: PipelineConfig) -> None:
        """Apply new analysis settings (tool, thresholds) to the session and the plots."""
        self.config = config
        self.session.set_config(config)
        w = config.warnings
        self.view.traces.set_thresholds(w.caution_kpa_s, w.limit_kpa_s)
        self.view.traces.set_ceiling(w.personal_ceiling_kpa)

    def _select_tool(self, area_cm2: float) -> None:
        for i in range(self.tool_box.count()):
            if self.tool_box.itemData(i) == area_cm2:
                self.tool_box.setCurrentIndex(i)
                return
        self.tool_box.insertItem(
            self.tool_box.count() - 1, f"tool: custom {area_cm2:g} cm²", area_cm2
        )
        self.tool_box.setCurrentIndex(self.tool_box.count() - 2)

    def _tool_chosen(self, index: int) -> None:
        area = self.tool_box.itemData(index)
        if area is None:
            value, ok = QtWidgets.QInputDialog.getDouble(
                self,
                "contact area",
                "contact area of the tool, cm²",
                self.config.area_cm2,
                0.1,
                1000.0,
                1,
            )
            if not ok:
                self._select_tool(self.config.area_cm2)
                return
            area = value
            self._select_tool(area)
        config, note = replace(self.config, area_cm2=float(area)), ""
        if self.thresholds is not None:
            config, note = apply_thresholds(
                config, self.thresholds, keep=self._given, fallback="these thresholds"
            )
        self.set_config(config)
        self.tell(f"contact area {float(area):g} cm²" + (f"; {note}" if note else ""))

    def edit_thresholds(self) -> None:
        from ui.dialogs import ThresholdsDialog

        dialog = ThresholdsDialog(self.config, self)
        if dialog.exec() and dialog.result_config is not None:
            self.set_config(dialog.result_config)
            self._given = ()  # the person's own choice now, over the command line's
            self._save_thresholds(
                SAVED_FIELDS, f"thresholds saved for {tool_key(self.config.area_cm2)}"
            )

    def pick_device(self) -> None:
        """Choose another device; the window switches its session to it."""
        from ui.dialogs import DevicePicker

        if self.make_session is None:
            self.tell("this window was opened for one device; restart with --device to change")
            return
        dialog = DevicePicker(self.recent_devices(), self.device, self)
        if dialog.exec() and dialog.chosen():
            self.switch_device(dialog.chosen())

    def switch_device(self, spec: str) -> None:
        """Stop the current session and start one reading ``spec``."""
        assert self.make_session is not None
        try:
            session = self.make_session(spec, self.config)
        except (ValueError, OSError) as err:
            self.tell(f"cannot open {spec}: {err}", 10.0)
            return
        self.session.stop()
        self.session = session
        self._pain_asked = 0  # marks the old session had not answered are gone with it
        self.device = spec
        self.view.reset()
        self.setWindowTitle(f"palpate · {spec}")
        self._remember_device(spec)
        self.session.start()

    def recent_devices(self) -> list[str]:
        value = self.settings.value("recent_devices", [])
        if isinstance(value, str):
            return [value]
        return [str(v) for v in (value or [])]

    def _remember_device(self, spec: str) -> None:
        recent = [spec] + [d for d in self.recent_devices() if d != spec]
        self.settings.setValue("recent_devices", recent[:8])

    def open_calibration(self) -> None:
        from ui.calibration_wizard import CalibrationWizard

        # saved under the name the device gives itself, which a later connection finds
        status = self.session.status()
        device = next((st.device for st in status if st.device), "") or self.device
        CalibrationWizard(self.session, device, self.settings, self).exec()

    def open_pain_test(self) -> None:
        from ui.pain_test import PainTestDialog

        dialog = PainTestDialog(self.session, self.theme, self)
        if dialog.exec() and dialog.ceiling_kpa is not None:
            w = replace(self.config.warnings, personal_ceiling_kpa=dialog.ceiling_kpa)
            self.set_config(replace(self.config, warnings=w))
            self.tell(f"personal ceiling {dialog.ceiling_kpa:.0f} kPa from the pain-threshold test")
            self._save_thresholds(
                ("personal_ceiling_kpa",),
                f"personal ceiling {dialog.ceiling_kpa:.0f} kPa from the pain-threshold test, "
                f"saved for {tool_key(self.config.area_cm2)}",
            )

    def events(self) -> list[Event]:
        """Every event the window has seen."""
        return list(self.view.events)

    def screenshot(self, path: Path) -> None:
        """Save the window as PNG."""
        if not self.grab().save(str(path)):
            raise OSError(f"could not write {path}")

    def __repr__(self) -> str:
        return f"LiveWindow({self.device!r}, frames={self.frames})"
