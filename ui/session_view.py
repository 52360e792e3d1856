"""The terminal view of a :class:`~sessions.live.LiveSession` (recording or replay).

The session's acquisition thread fills ring buffers and an event queue; this view
reads them on its own timer, like the Qt windows do, fills a
:class:`~ui.terminal_view.LiveState` and draws it with the
:class:`~ui.terminal_view.TerminalView`. Warnings are told as soon as the view looks
(every redraw), and a stalled device shows as stale because the data age keeps growing.
"""

from __future__ import annotations

import math
import time

import numpy as np

from analysis.stream import EventKind
from analysis.strokes import STROKES
from analysis.warning_level import LEVEL_NAMES, Level
from sessions.live import LiveSession
from ui.terminal_view import LiveState, TerminalView

__all__ = ["SessionWatcher", "watch"]

_POLL_S = 0.05  # how often the view looks for events, seconds


class SessionWatcher:
    """Turns what a live session holds into :class:`LiveState` for the terminal view."""

    def __init__(self, session: LiveSession, view: TerminalView) -> None:
        self.session = session
        self.view = view
        cfg = session.config
        self.state = LiveState(
            limit_kpa_s=cfg.warnings.limit_kpa_s,
            caution_kpa_s=cfg.warnings.caution_kpa_s,
            min_rate_hz=cfg.min_rate_hz,
        )
        self._seen = 0

    def refresh(self, draw: bool = True) -> bool:
        """Take in new rows and events (events are told at once); draw when ``draw``.

        Returns whether new samples arrived."""
        s, state, session = self.state, self.state, self.session
        status = {x.name: x for x in session.status()}
        main = status.get(session.main_stream or "")
        if main is not None:
            s.device = main.device
            s.rate_hz = main.rate_hz
            s.age_s = main.data_age_s if math.isfinite(main.data_age_s) else math.nan
        new = session.pressure.total - self._seen
        self._seen = session.pressure.total
        if new > 0:
            rows = session.pressure.latest(min(new, session.pressure.capacity))
            finite = rows[np.isfinite(rows[:, 1]), 1]
            if finite.size:
                s.peak_kpa = max(s.peak_kpa, float(finite.max()))
            quarter = max(1, int((main.rate_hz if main and main.rate_hz > 0 else 100) / 4))
            tail = session.pressure.latest(quarter)[:, 1]
            if np.isfinite(tail).any():
                s.pressure_kpa = float(np.nanmean(tail))
            s.t = float(rows[-1, 0])
        rate = session.rate.latest(1)
        if rate.size:
            s.rate_kpa_s = float(rate[0, 1])
        level = session.warning.latest(1)
        if level.size:
            s.level = Level(int(level[0, 1]))
        stroke = session.strokes.latest(1)
        if stroke.size and 0 <= int(stroke[0, 2]) < len(STROKES):
            s.stroke, s.confidence = STROKES[int(stroke[0, 2])], float(stroke[0, 3])
        for event in session.poll_events():
            self.view.tell(event)
            if (
                event.kind == EventKind.WARNING
                and event.data.get("level") == LEVEL_NAMES[Level.TOO_FAST]
            ):
                state.warnings += 1
            if event.kind == EventKind.PULSE:
                state.pulse_bpm = event.data.get("bpm") if event.data.get("on") else None
        if draw:
            self.view.draw(state)
        return new > 0


def watch(
    session: LiveSession, view: TerminalView, *, seconds: float | None, redraw_hz: float
) -> SessionWatcher:
    """Draw ``session`` until it stops by itself or ``seconds`` of session clock pass after
    its first sample (then stop it). Events are told within 50 ms; the status is drawn at
    ``redraw_hz``. Returns the watcher, whose state holds what was shown.
    """
    watcher = SessionWatcher(session, view)
    t_start: float | None = None
    next_draw = time.monotonic() + 1.0 / redraw_hz
    fresh = False
    while not session.stopped:
        time.sleep(min(_POLL_S, 1.0 / redraw_hz))
        due = time.monotonic() >= next_draw
        fresh |= watcher.refresh(draw=due)
        if due:
            next_draw += 1.0 / redraw_hz
            fresh = False
        if t_start is None and len(session.pressure):
            t_start = float(session.pressure.since(-math.inf)[0, 0])
        if seconds is not None and t_start is not None and session.clock() - t_start >= seconds:
            break
    session.stop()
    fresh |= watcher.refresh(draw=False)
    if fresh:  # what came in since the last drawing
        view.draw(watcher.state)
    return watcher
