"""The replay window: a recorded session with the live window's plots and a timeline.

The window builds ``LiveSession(ReplaySource(path, speed=inf))``: the recording runs
through the same pipeline as it did live, as fast as it can, into the session's ring
buffers, and the window reads them exactly as the live window does. Playback is a
cursor over what has been analysed: play/pause, speed (0.25-16x), scrubbing on the
timeline, 5 s back; the warning display, the big numbers and the plots show the
moment under the cursor, as the person saw it then. Markers, pain marks and warnings
are ticks on the timeline and a clickable list beside the session summary; the
history of all sessions (per week) is one key away.

====== ==================================
key    action
====== ==================================
Space  play / pause
Left   5 s back
Right  5 s forward
Home   to the start
[ ]    slower / faster
H      history of sessions
Z      whole session / 60 s view
L      light / dark theme
====== ==================================
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from analysis.stream import Event, EventKind
from analysis.warning_level import LEVEL_NAMES, Level
from sessions.live import LiveSession
from sessions.replay import ReplaySource
from ui.session_panel import Readings, SessionView
from ui.theme import THEMES, Theme
from ui.warning_state import DisplayConfig
from ui.widgets.readout import number_font
from ui.widgets.timeline import Timeline

__all__ = ["SPEEDS", "ReplayWindow", "timeline_event"]

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
"""Playback speeds offered."""


def timeline_event(e: Event) -> tuple[str, str] | None:
    """``(text, state colour key)`` for an event worth listing on the timeline, else ``None``."""
    d = e.data
    if e.kind == EventKind.WARNING and d.get("level") == LEVEL_NAMES[Level.TOO_FAST]:
        rate = d.get("rate_kpa_s")
        return (f"too fast {rate:+.0f} kPa/s" if rate is not None else "too fast"), "too_fast"
    if e.kind == EventKind.CEILING and d.get("on"):
        c = d.get("ceiling_kpa")
        return (
            f"above the {d.get('which', '')} ceiling" + (f" {c:.0f} kPa" if c else "")
        ), "ceiling"
    if e.kind == EventKind.PAIN:
        return f"pain mark at {d.get('pressure_kpa', 0):.0f} kPa", "pain"
    if e.kind == EventKind.MARKER and d.get("label") != "settings":
        return f"marker {d.get('label') or ''}".strip(), "calm"
    if e.kind == EventKind.PULSE and d.get("on"):
        bpm = d.get("bpm")
        return (f"pulse felt ({bpm:.0f} bpm)" if bpm else "pulse felt"), "pulse"
    if e.kind == EventKind.GAP:
        return f"{d.get('missing', '?')} samples lost", "grey"
    return None


def _clock(t: float) -> str:
    s = max(0, int(t)) if math.isfinite(t) else 0
    m, sec = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class ReplayWindow(QtWidgets.QMainWindow):
    """Replay of one ``.palpate`` session (see the module docstring).

    Parameters
    ----------
    path : Path
        The session file.
    speed : float
        Playback speed, 0.25-16.
    start_s : float, optional
        Where the cursor starts (session seconds); default the start.
    settings : QSettings, optional
        Where window size and theme are remembered.
    clock : callable
        Monotonic wall clock (seconds) that drives playback.
    autoplay : bool
        Start playing as soon as the window shows.
    """

    def __init__(
        self,
        path: Path,
        *,
        speed: float = 1.0,
        start_s: float | None = None,
        settings: QtCore.QSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        autoplay: bool = True,
    ) -> None:
        super().__init__()
        self.settings = settings or QtCore.QSettings("palpate", "palpate")
        self.theme: Theme = THEMES.get(str(self.settings.value("theme", "dark")), THEMES["dark"])
        self.clock = clock
        self.speed = min(max(float(speed), SPEEDS[0]), SPEEDS[-1])
        self.playing = autoplay
        self.whole = False
        self._start_s = start_s
        self._last_wall = clock()
        self.path = Path(path)
        self.session: Any = None
        self.source: Any = None
        self.cursor = 0.0
        self._shown_cursor: float | None = None
        self.listed: list[Event] = []
        self._times: list[float] = []
        self._all: list[Event] = []

        self.view = SessionView(self.theme, DisplayConfig(), span_s=60.0)
        self.view.draw_marks = False
        self.timeline = Timeline(self.theme)
        self.timeline.scrubbed.connect(self.seek)
        self.events_list = QtWidgets.QListWidget()
        self.events_list.setFont(number_font(16, bold=False))
        self.events_list.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.events_list.itemClicked.connect(self._event_clicked)
        self.summary = QtWidgets.QLabel("")
        self.summary.setFont(number_font(15, bold=False))
        self.summary.setWordWrap(True)
        self.summary.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        self.title = QtWidgets.QLabel("")
        self.title.setFont(number_font(18))
        self.position = QtWidgets.QLabel("")
        self.position.setFont(number_font(20))
        self.position.setMinimumWidth(300)

        self.play_button = self._button("▶ play  [Space]", self.toggle_play)
        self.speed_box = QtWidgets.QComboBox()
        self.speed_box.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        for s in SPEEDS:
            self.speed_box.addItem(f"{s:g}x", s)
        self.speed_box.setCurrentIndex(
            min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - self.speed))
        )
        self.speed_box.activated.connect(lambda i: self.set_speed(SPEEDS[i]))

        side = QtWidgets.QVBoxLayout()
        side.addWidget(QtWidgets.QLabel("markers, pain marks, warnings"))
        side.addWidget(self.events_list, 2)
        side.addWidget(self.summary, 3)
        side_w = QtWidgets.QWidget()
        side_w.setLayout(side)
        side_w.setFixedWidth(340)

        controls = QtWidgets.QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self._button("◀ 5 s  [←]", lambda: self.step(-5.0)))
        controls.addWidget(self._button("5 s ▶  [→]", lambda: self.step(5.0)))
        controls.addWidget(QtWidgets.QLabel("speed"))
        controls.addWidget(self.speed_box)
        controls.addWidget(self.position)
        controls.addStretch(1)
        controls.addWidget(self._button("whole session  [Z]", self.toggle_whole))
        controls.addWidget(self._button("history  [H]", self.open_history))
        controls.addWidget(self._button("open…  [O]", self.open_file))

        body = QtWidgets.QHBoxLayout()
        body.addWidget(self.view, 1)
        body.addWidget(side_w)
        central = QtWidgets.QFrame()
        central.setObjectName("palpateFrame")
        outer = QtWidgets.QVBoxLayout(central)
        outer.setContentsMargins(10, 6, 10, 6)
        outer.addWidget(self.title)
        outer.addLayout(body, 1)
        outer.addWidget(self.timeline)
        outer.addLayout(controls)
        self.frame = central
        self.setCentralWidget(central)
        self._keys()
        self.apply_theme(self.theme)
        self.resize(1500, 900)
        geometry = self.settings.value("replay/geometry")
        if isinstance(geometry, QtCore.QByteArray):
            self.restoreGeometry(geometry)

        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(20)
        self.timer.timeout.connect(self.tick)
        self.load(self.path)

    # -- layout and keys -----------------------------------------------------------------------

    def _button(self, text: str, slot: Callable[[], None]) -> QtWidgets.QPushButton:
        b = QtWidgets.QPushButton(text)
        b.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        b.setFlat(True)
        b.setFont(number_font(16, bold=False))
        b.clicked.connect(slot)
        return b

    def _keys(self) -> None:
        keys: dict[str, Callable[[], None]] = {
            "Space": self.toggle_play,
            "Left": lambda: self.step(-5.0),
            "Right": lambda: self.step(5.0),
            "Home": lambda: self.seek(self.t_first),
            "[": lambda: self._speed_step(-1),
            "]": lambda: self._speed_step(1),
            "H": self.open_history,
            "Z": self.toggle_whole,
            "L": lambda: self.apply_theme(THEMES["light" if self.theme.name == "dark" else "dark"]),
            "O": self.open_file,
            "End": self.view.traces.follow,
        }
        self.shortcuts = []
        for key, slot in keys.items():
            sc = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            sc.activated.connect(slot)
            self.shortcuts.append(sc)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.view.set_theme(theme)
        self.timeline.set_theme(theme)
        self.frame.setStyleSheet(
            f"#palpateFrame {{ background: {theme.background}; }}"
            f" QLabel {{ color: {theme.text}; }}"
            f" QPushButton {{ color: {theme.dim}; border: none; padding: 4px 8px; }}"
            f" QListWidget {{ color: {theme.text}; background: {theme.panel}; border: none; }}"
            f" QComboBox {{ color: {theme.text}; background: {theme.panel}; }}"
        )
        self._refresh_ticks()

    # -- loading -------------------------------------------------------------------------------

    def load(self, path: Path) -> None:
        """Open ``path``: analyse it into a fresh session, cursor at the start."""
        source = ReplaySource(path, speed=math.inf)  # SessionError for a bad file, at once
        if self.session is not None:
            self.session.stop()
        self.path = Path(path)
        self.source = source
        history_s = max(3600.0, source.duration_s + 120.0)
        self.session = LiveSession(source, history_s=history_s)
        self.view.reset()
        self.view.draw_marks = False
        self.listed, self._times, self._all = [], [], []
        self.events_list.clear()
        self.t_first, self.t_last = source.t_first, source.t_last
        self.timeline.set_span(self.t_first, self.t_last)
        self.cursor = (
            self.t_first
            if self._start_s is None
            else min(max(self._start_s, self.t_first), self.t_last)
        )
        self._start_s = None
        self._shown_cursor = None
        started = datetime.fromtimestamp(source.started_at_unix).strftime("%Y-%m-%d %H:%M")
        self.title.setText(
            f"{self.path.name}  ·  {started}  ·  {source.recorded_info.device}  ·  "
            f"{_clock(source.duration_s)}"
        )
        self.setWindowTitle(f"palpate · replay {self.path.name}")
        self.session.start()

    @property
    def loaded_t(self) -> float:
        """Session time up to which the analysis has run."""
        m = self.view.mirrors["pressure"]
        if self.session is not None and self.session.stopped:
            return self.t_last
        return m.last(0, default=self.t_first)

    @property
    def loading(self) -> bool:
        return self.session is not None and not self.session.stopped

    # -- life cycle ------------------------------------------------------------------------

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self._last_wall = self.clock()
        if not self.timer.isActive():
            self.timer.start()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.timer.stop()
        self.settings.setValue("replay/geometry", self.saveGeometry())
        self.settings.setValue("theme", self.theme.name)
        if self.session is not None:
            self.session.stop()
        super().closeEvent(event)

    # -- playback ------------------------------------------------------------------------------

    def toggle_play(self) -> None:
        self.playing = not self.playing
        if self.playing and self.cursor >= self.t_last:
            self.seek(self.t_first)
        self._last_wall = self.clock()
        self.view.traces.follow()

    def set_speed(self, speed: float) -> None:
        self.speed = min(max(float(speed), SPEEDS[0]), SPEEDS[-1])
        i = min(range(len(SPEEDS)), key=lambda k: abs(SPEEDS[k] - self.speed))
        self.speed_box.setCurrentIndex(i)

    def _speed_step(self, direction: int) -> None:
        i = min(range(len(SPEEDS)), key=lambda k: abs(SPEEDS[k] - self.speed))
        self.set_speed(SPEEDS[min(max(i + direction, 0), len(SPEEDS) - 1)])

    def seek(self, t: float) -> None:
        """Put the cursor at ``t`` (session seconds), showing it at the right edge."""
        self.cursor = min(max(float(t), self.t_first), self.t_last)
        self.view.traces.follow()
        self.tick(advance=False)

    def step(self, seconds: float) -> None:
        """Move the cursor by ``seconds`` (negative: back)."""
        self.seek(self.cursor + seconds)

    def toggle_whole(self) -> None:
        """Show the whole session, or 60 s around the cursor again."""
        self.whole = not self.whole
        traces = self.view.traces
        traces.span_s = max(60.0, self.t_last - self.t_first) if self.whole else 60.0
        traces.follow()
        self.tick(advance=False)

    def _event_clicked(self, item: QtWidgets.QListWidgetItem) -> None:
        t = float(item.data(QtCore.Qt.ItemDataRole.UserRole))
        self.playing = False
        self.seek(t + 2.0)  # the event, with a little of what followed

    # -- the frame ---------------------------------------------------------------------------

    def tick(self, advance: bool = True) -> Readings:
        """Advance the cursor (when playing), take in new analysis, draw the cursor's moment."""
        now = self.clock()
        if advance and self.playing:
            self.cursor += (now - self._last_wall) * self.speed
        self._last_wall = now
        new = self.view.pull(self.session)
        self._take(new)
        loaded = self.loaded_t
        if self.cursor >= self.t_last:
            self.cursor = self.t_last
            self.playing = False
        self.cursor = min(self.cursor, loaded)
        events = self._between(self._shown_cursor, self.cursor)
        rate_hz = float(self.source.recorded_info.rate_hz)
        readings = self.view.render(
            self.cursor, events, rate_hz=rate_hz, age_s=0.0, cursor=self.cursor
        )
        self._shown_cursor = self.cursor
        self.timeline.set_cursor(self.cursor, loaded)
        state = "loading… " if self.loading else ""
        self.position.setText(
            f"{state}{_clock(self.cursor - self.t_first)} / {_clock(self.t_last - self.t_first)}"
        )
        self.play_button.setText("⏸ pause  [Space]" if self.playing else "▶ play  [Space]")
        if not self.loading and not self.summary.text():
            self._show_summary()
        return readings

    def _take(self, events: list[Event]) -> None:
        """Keep new events in time order; list and tick the ones worth finding again."""
        changed = False
        for e in events:
            i = bisect.bisect_right(self._times, e.t)
            self._times.insert(i, e.t)
            self._all.insert(i, e)
            shown = timeline_event(e)
            if shown is not None:
                text, colour_key = shown
                self.listed.append(e)
                item = QtWidgets.QListWidgetItem(f"{_clock(e.t - self.t_first):>7}  {text}")
                item.setData(QtCore.Qt.ItemDataRole.UserRole, e.t)
                item.setForeground(QtGui.QColor(self.theme.state_colour(colour_key)))
                self.events_list.addItem(item)
                self.view.mark(e)
                changed = True
        if changed:
            self._refresh_ticks()

    def _refresh_ticks(self) -> None:
        ticks = []
        for e in getattr(self, "listed", []):
            shown = timeline_event(e)
            if shown is not None:
                ticks.append((e.t, self.theme.state_colour(shown[1])))
        self.timeline.set_ticks(ticks)

    def _between(self, shown: float | None, cursor: float) -> list[Event]:
        """Events for the warning display from the last frame's cursor to this one's.

        After a jump back (or a first frame) the display starts afresh and takes the
        events of the 5 s before the cursor, and the warning count is recounted.
        """
        if shown is None or cursor < shown or cursor - shown > 5.0:
            self.view.rewind()
            lo = bisect.bisect_right(self._times, cursor - 5.0)
            self.view.readings.warnings = sum(
                1
                for e in self._all[:lo]
                if e.kind == EventKind.WARNING
                and e.data.get("level") == LEVEL_NAMES[Level.TOO_FAST]
            )
        else:
            lo = bisect.bisect_right(self._times, shown)
        hi = bisect.bisect_right(self._times, cursor)
        return self._all[lo:hi]

    def _show_summary(self) -> None:
        s = self.session.summary() or {}
        if not s:
            return
        zones = s.get("zone_s") or {}
        strokes = s.get("stroke_s") or {}
        lines = [
            "<b>session summary</b>",
            f"duration {_clock(s.get('duration_s') or 0)}, "
            f"in contact {_clock(s.get('contact_s') or 0)}",
            f"peak {_num(s.get('peak_kpa'))} kPa, mean {_num(s.get('mean_kpa'))} kPa",
            "zones: " + ", ".join(f"{k} {_clock(v)}" for k, v in zones.items()),
            "strokes: " + ", ".join(f"{k} {_clock(v)}" for k, v in strokes.items()),
            f"longest hold {_num(s.get('longest_hold_s'))} s",
            f"too-fast warnings {s.get('warnings', 0)} ({_num(s.get('warning_s'))} s), "
            f"caution {_num(s.get('caution_s'))} s",
            f"fastest ramp {_num(s.get('max_rate_kpa_s'))} kPa/s",
            f"ceiling crossings {s.get('ceiling_crossings', 0)}, "
            f"pain marks {s.get('pain_marks', 0)}, pulses felt {s.get('pulses_felt', 0)}",
        ]
        self.summary.setText("<br>".join(lines))

    # -- other sessions --------------------------------------------------------------------

    def open_history(self) -> None:
        """The history of the sessions in this file's folder; pick one to replay it."""
        from ui.history_dialog import HistoryDialog

        dialog = HistoryDialog(self.path.parent, self.theme, self)
        if dialog.exec() and dialog.chosen is not None:
            self.load(dialog.chosen)

    def open_file(self) -> None:
        name, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "open a session", str(self.path.parent), "palpate sessions (*.palpate)"
        )
        if name:
            self.load(Path(name))

    def screenshot(self, path: Path) -> None:
        if not self.grab().save(str(path)):
            raise OSError(f"could not write {path}")


def _num(v: Any) -> str:
    return "--" if v is None else f"{float(v):.0f}"
