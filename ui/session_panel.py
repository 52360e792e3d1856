"""The plots and readouts of one session, drawn from a LiveSession's ring buffers.

:class:`SessionView` is the body both windows share: the banner, the time plots
(:class:`~ui.widgets.traces.TracePlots`), the big numbers and the centre-of-pressure
map. Each frame it pulls what is new from the session's ring buffers into
preallocated mirrors (:class:`~ui.mirror.Mirror`), drains the session's events and
draws either *now* (live) or the moment under a replay cursor. It never touches
bleak or SQLite: the session's acquisition thread does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from PySide6 import QtCore, QtWidgets

from analysis.stream import Event, EventKind
from analysis.strokes import STROKES
from analysis.warning_level import LEVEL_NAMES, Level
from ui.decimate import bin_size, peak_decimate
from ui.mirror import Mirror, RingLike
from ui.theme import Theme
from ui.warning_state import DisplayConfig, DisplayState, WarningDisplay
from ui.widgets.cop_map import CopMap
from ui.widgets.readout import Banner, BigNumbers
from ui.widgets.traces import TracePlots

__all__ = ["Readings", "SessionLike", "SessionView"]

FloatArray = NDArray[np.float64]


class SessionLike(Protocol):
    """The part of :class:`sessions.live.LiveSession` a view reads."""

    pressure: RingLike
    level: RingLike
    rate: RingLike
    warning: RingLike
    strokes: RingLike
    cop: RingLike

    def poll_events(self) -> list[Event]: ...

    def status(self) -> Sequence[Any]: ...


@dataclass
class Readings:
    """What one frame showed (kept for tests, the partner view and the status line)."""

    t: float = math.nan
    pressure_kpa: float = math.nan
    rate_kpa_s: float = math.nan
    level: Level = Level.OK
    stroke: str = "…"
    confidence: float = math.nan
    peak_kpa: float = math.nan
    warnings: int = 0
    rate_hz: float = math.nan
    age_s: float = math.inf
    state: DisplayState = field(
        default_factory=lambda: DisplayState("calm", "", False, "stale", "stale: no data yet")
    )


# how many seconds around the visible range are handed to the curves
_MARGIN_S = 2.0

NUMBER_S = 0.12
"""The big numbers' digits change at most this often, seconds of session time."""

COP_S = 0.05
"""The centre-of-pressure path is redrawn at most this often, seconds of session time."""


class SessionView(QtWidgets.QWidget):
    """Banner, plots, big numbers and CoP map of one session.

    Parameters
    ----------
    theme : Theme
    display : DisplayConfig, optional
        Timing of the warning display and the sensor-health limits.
    span_s : float
        Seconds shown while following now.
    """

    eventSeen = QtCore.Signal(object)
    """Every event drained from the session, as it arrives (an :class:`Event`)."""

    def __init__(
        self, theme: Theme, display: DisplayConfig | None = None, span_s: float = 30.0
    ) -> None:
        super().__init__()
        self.theme = theme
        self.display_config = display or DisplayConfig()
        self.display = WarningDisplay(self.display_config)
        self.banner = Banner(theme)
        self.traces = TracePlots(theme, span_s)
        self.numbers = BigNumbers(theme)
        self.cop_map = CopMap(theme)
        self.cop_map.hide()
        self.numbers.extra.addWidget(self.cop_map)
        self.numbers.setMinimumWidth(340)
        self.numbers.setMaximumWidth(420)

        # the banner lies across the top of the plot, so the plot never jumps when it shows
        self.banner.setParent(self.traces)
        self.traces.installEventFilter(self)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.traces, 3)
        layout.addWidget(self.numbers, 1)

        self.mirrors = {
            "pressure": Mirror(2),
            "level": Mirror(2),
            "rate": Mirror(2),
            "warning": Mirror(2),
            "strokes": Mirror(4, capacity=1 << 10),
            "cop": Mirror(3),
        }
        self.readings = Readings()
        self.events: list[Event] = []
        """Every event seen, in arrival order."""
        self._peak_seen = 0
        self._peak_generation = -1
        self._number_key: tuple[str, bool] | None = None
        self._number_t = -math.inf
        self._cop_t = -math.inf
        self.draw_marks = True
        """Draw events as marks when they are rendered (a replay draws them all at load)."""

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if watched is self.traces and event.type() == QtCore.QEvent.Type.Resize:
            w = self.traces.width()
            self.banner.setGeometry(80, 10, max(200, w - 180), self.banner.minimumHeight())
        return False

    # -- theme --------------------------------------------------------------------------------

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.banner.set_theme(theme)
        self.traces.set_theme(theme)
        self.numbers.set_theme(theme)
        self.cop_map.set_theme(theme)

    def reset(self) -> None:
        """Forget the session shown (the window switches to another one)."""
        for m in self.mirrors.values():
            m.clear()
        self.traces.clear_marks()
        self.traces.clear_strokes()
        self.display = WarningDisplay(self.display_config)
        self.readings = Readings()
        self.events = []
        self._peak_seen = 0
        self._peak_generation = -1
        self._number_key = None
        self._number_t = self._cop_t = -math.inf
        self.cop_map.hide()

    # -- one frame ----------------------------------------------------------------------------

    def pull(self, session: SessionLike) -> list[Event]:
        """Copy what is new in the session's buffers; return the new events (to hand to
        :meth:`render`, all at once live, or as a replay cursor passes them)."""
        for name, mirror in self.mirrors.items():
            before = mirror.n
            mirror.pull(getattr(session, name))
            if name == "strokes" and mirror.n > before:
                self.traces.add_strokes(mirror.rows(before))
        return session.poll_events()

    def _update_peak(self, t_end: float) -> None:
        """Peak pressure up to ``t_end``, advanced incrementally (recomputed after a jump back)."""
        m = self.mirrors["pressure"]
        upto = int(np.searchsorted(m.t, t_end, "right"))
        if m.generation != self._peak_generation or upto < self._peak_seen:
            self._peak_generation = m.generation
            self._peak_seen = 0
            self.readings.peak_kpa = math.nan
        if upto > self._peak_seen:
            new = m.column(1)[self._peak_seen : upto]
            finite = new[np.isfinite(new)]
            if finite.size:
                peak = float(finite.max())
                old = self.readings.peak_kpa
                self.readings.peak_kpa = peak if not math.isfinite(old) else max(old, peak)
            self._peak_seen = upto

    def rewind(self) -> None:
        """Forget the display state and the counts (a replay cursor jumped back)."""
        self.display = WarningDisplay(self.display_config)
        self.readings.warnings = 0

    def _take_event(self, e: Event) -> None:
        self.events.append(e)
        if e.kind == EventKind.WARNING and e.data.get("level") == LEVEL_NAMES[Level.TOO_FAST]:
            self.readings.warnings += 1
        if self.draw_marks:
            self.mark(e)
        self.eventSeen.emit(e)

    def mark(self, e: Event) -> None:
        """Draw an event on the pressure plot (too fast, pain mark, marker), if it is one."""
        th = self.theme
        if e.kind == EventKind.WARNING and e.data.get("level") == LEVEL_NAMES[Level.TOO_FAST]:
            rate = e.data.get("rate_kpa_s")
            text = f"too fast {rate:+.0f}" if rate is not None else "too fast"
            self.traces.add_mark(e.t, text, th.state_colour("too_fast"))
        elif e.kind == EventKind.PAIN:
            self.traces.add_mark(
                e.t, f"pain {e.data.get('pressure_kpa', 0):.0f} kPa", th.state_colour("pain")
            )
            ceiling = e.data.get("personal_ceiling_kpa")
            if ceiling is not None:
                self.traces.set_ceiling(float(ceiling))
        elif e.kind == EventKind.MARKER:
            label = str(e.data.get("label") or e.data.get("note") or "marker")
            self.traces.add_mark(e.t, label, th.text)

    def render(
        self,
        now: float,
        events: Sequence[Event],
        *,
        rate_hz: float,
        age_s: float,
        cursor: float | None = None,
        draw_plots: bool = True,
    ) -> Readings:
        """Draw one frame.

        Parameters
        ----------
        now : float
            Clock of the warning display, seconds (monotonic live; session time in replay).
        events : sequence of Event
            Events new since the last frame (they drive the warning display).
        rate_hz, age_s : float
            Measured sample rate (Hz) and data age (s) of the source.
        cursor : float, optional
            Replay position (session seconds): draw up to it instead of up to now.
        draw_plots : bool
            Update the plots and the CoP map (``False`` while they are hidden, e.g. in
            partner mode: the readings and the warning state are still computed).
        """
        for e in events:
            self._take_event(e)
        r = self.readings
        p, lvl, rate, warn = (self.mirrors[k] for k in ("pressure", "level", "rate", "warning"))
        t_end = cursor if cursor is not None else p.last(0, default=0.0)
        self._update_peak(t_end)
        level = Level(int(_value_at(warn, t_end, Level.OK)))
        rate_now = _value_at(rate, t_end, math.nan)
        state = self.display.update(now, level, rate_now, events, rate_hz=rate_hz, age_s=age_s)
        r.t, r.level, r.rate_kpa_s, r.rate_hz, r.age_s, r.state = (
            t_end,
            level,
            rate_now,
            rate_hz,
            age_s,
            state,
        )
        r.pressure_kpa = _recent_mean(p, t_end, 0.15)
        stroke_row = _row_at(self.mirrors["strokes"], t_end)
        if stroke_row is not None and 0 <= int(stroke_row[2]) < len(STROKES):
            r.stroke, r.confidence = STROKES[int(stroke_row[2])], float(stroke_row[3])

        if not draw_plots:
            return r
        # plots: only the samples near the visible range are handed over (views, no copies)
        self.traces.show_until(t_end)
        v0, v1 = self.traces.visible_range()
        if cursor is not None:
            v1 = min(v1, cursor)
        a0, a1 = v0 - _MARGIN_S, v1 + _MARGIN_S if cursor is None else v1
        width_px = max(100, int(self.traces.pressure.vb.width()))
        curves = []
        for m, pairs_per_px in ((p, 1.0), (lvl, 0.35), (rate, 0.5)):
            lo, hi = m.span(a0, a1)
            k = bin_size(round((hi - lo) * (v1 - v0) / max(a1 - a0, 1e-9)), width_px, pairs_per_px)
            curves += peak_decimate(m.t[lo:hi], m.column(1)[lo:hi], m.offset + lo, k)
        self.traces.set_traces(*curves)

        sensor_bad = state.sensor != "ok"
        self.traces.set_rate_state(state.mode, state.sensor_note)
        self.traces.set_dimmed(state.sensor == "stale")
        self.banner.show_state(state.mode, state.banner)
        # the number's colour follows the state in the same frame; its digits change at
        # most every NUMBER_S (easier to read at a glance, and cheaper to draw)
        key = (state.mode, sensor_bad)
        if key != self._number_key or abs(t_end - self._number_t) >= NUMBER_S:
            self._number_key, self._number_t = key, t_end
            self.numbers.set_pressure(r.pressure_kpa, state.mode, dim=sensor_bad)
            self.numbers.set_stroke(r.stroke, r.confidence)
            t0 = p.t[0] if p.n else t_end
            self.numbers.set_facts(r.peak_kpa, r.warnings, t_end - t0)

        cop = self.mirrors["cop"]
        if cop.n and abs(t_end - self._cop_t) >= COP_S:
            self._cop_t = t_end
            if self.cop_map.isHidden():
                self.cop_map.show()
            lo, hi = cop.span(t_end - self.cop_map.trail_s, t_end)
            self.cop_map.set_path(cop.t[lo:hi], cop.column(1)[lo:hi], cop.column(2)[lo:hi])
        return r


def _value_at(m: Mirror, t: float, default: float) -> float:
    """Column 1 of the newest row at or before ``t``."""
    if m.n == 0:
        return default
    i = int(np.searchsorted(m.t, t, "right")) - 1
    return float(m.column(1)[i]) if i >= 0 else default


def _row_at(m: Mirror, t: float) -> FloatArray | None:
    if m.n == 0:
        return None
    i = int(np.searchsorted(m.t, t, "right")) - 1
    return m.rows(i, i + 1)[0] if i >= 0 else None


def _recent_mean(m: Mirror, t: float, span_s: float) -> float:
    """Mean of column 1 over ``(t - span_s, t]``, NaN when nothing finite."""
    lo, hi = m.span(t - span_s, t)
    x = m.column(1)[lo:hi]
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else math.nan
