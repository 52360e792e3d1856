"""The terminal view: live pressure, ramp rate, warning, stroke, sample rate and data age as text.

The headless twin of the live window. On a terminal it redraws a small block of
lines in place, with colour carrying the warning state; piped into a file or
another program it prints one plain line per update (and one per event), so a
script can follow it.

:func:`format_status` is pure (state in, text out) and :class:`LiveState`
collects what the pipeline said; :func:`run_live` drives a source through the
pipeline and the view.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from analysis.pipeline import Block, Pipeline
from analysis.stream import Event, EventKind, Frame, StreamInfo
from analysis.warning_level import LEVEL_NAMES, Level
from firmware_bridge.source import Source
from sessions.calibrations import calibration_event, calibration_for

__all__ = ["LiveState", "TerminalView", "format_event", "format_status", "run_live"]

STALE_S = 0.5
"""Data older than this (seconds) is shown as stale."""

_COLOURS = {
    Level.OK: "\x1b[36m",  # soft teal
    Level.CAUTION: "\x1b[33;1m",  # amber
    Level.TOO_FAST: "\x1b[41;97;1m",  # white on red
    Level.UNKNOWN: "\x1b[90m",  # grey
}
_RESET = "\x1b[0m"


@dataclass
class LiveState:
    """What the view shows; updated from pipeline blocks, read by :func:`format_status`."""

    device: str = ""
    limit_kpa_s: float = 50.0
    caution_kpa_s: float = 25.0
    min_rate_hz: float = 40.0
    t: float = 0.0
    pressure_kpa: float = np.nan
    rate_kpa_s: float = np.nan
    level: Level = Level.OK
    stroke: str = "…"
    confidence: float = 0.0
    peak_kpa: float = 0.0
    warnings: int = 0
    rate_hz: float = np.nan
    age_s: float = np.nan
    pulse_bpm: float | None = None
    link: str | None = None  # the device link's state, for sources that have one
    _arrivals: collections.deque[tuple[float, float, int]] = field(
        default_factory=lambda: collections.deque(maxlen=400)
    )
    _last_arrival: float = np.nan

    def update(self, frame: Frame, block: Block, now: float) -> None:
        """Take in one analysed frame that arrived at monotonic time ``now``.

        The block may cover fewer rows than the frame, or none (the pipeline
        analyses whole 20 ms blocks); the frame still counts for rate and age.
        """
        if block.t.size:
            self.t = float(block.t[-1])
            tail = block.pressure_kpa[-max(1, block.t.size // 4) :]
            if np.isfinite(tail).any():
                self.pressure_kpa = float(np.nanmean(tail))
                self.peak_kpa = max(self.peak_kpa, float(np.nanmax(block.pressure_kpa)))
            self.rate_kpa_s = float(block.rate_kpa_s[-1])
            self.level = Level(int(block.warning[-1]))
        if block.windows:
            self.stroke = block.windows[-1].stroke
            self.confidence = block.windows[-1].confidence
        self.warnings += sum(
            1
            for e in block.events
            if e.kind == EventKind.WARNING and e.data["level"] == LEVEL_NAMES[Level.TOO_FAST]
        )
        for e in block.events:
            if e.kind == EventKind.PULSE:
                self.pulse_bpm = e.data.get("bpm") if e.data.get("on") else None
        self._arrivals.append((float(frame.t[0]), float(frame.t[-1]), frame.n))
        self._last_arrival = now
        self._measure_rate()

    def _measure_rate(self) -> None:
        while len(self._arrivals) > 2 and self._arrivals[-1][1] - self._arrivals[0][0] > 2.0:
            self._arrivals.popleft()
        first, last = self._arrivals[0][0], self._arrivals[-1][1]
        n = sum(a[2] for a in self._arrivals)
        self.rate_hz = (n - 1) / (last - first) if last > first else np.nan

    def tick(self, now: float) -> None:
        """Refresh the data age at monotonic time ``now``."""
        self.age_s = now - self._last_arrival if np.isfinite(self._last_arrival) else np.nan

    @property
    def stale(self) -> bool:
        return not np.isfinite(self.age_s) or self.age_s > STALE_S

    @property
    def too_slow(self) -> bool:
        return np.isfinite(self.rate_hz) and self.rate_hz < self.min_rate_hz


def _rate_text(state: LiveState) -> str:
    if state.too_slow:
        return f"too slow to judge ({state.rate_hz:.0f} Hz < {state.min_rate_hz:.0f} Hz)"
    if state.stale:
        return "stale: no fresh data"
    if not np.isfinite(state.rate_kpa_s):
        return "n/a"
    return f"{state.rate_kpa_s:+6.1f} kPa/s"


def format_status(state: LiveState, *, color: bool, lines: bool) -> str:
    """Render the state.

    Parameters
    ----------
    state : LiveState
    color : bool
        Use ANSI colours (for a terminal).
    lines : bool
        ``True``: a multi-line block for a terminal; ``False``: one plain line.
    """
    pressure = f"{state.pressure_kpa:6.1f} kPa" if np.isfinite(state.pressure_kpa) else "  n/a kPa"
    level = LEVEL_NAMES[state.level]
    if state.stale or state.too_slow:
        level = LEVEL_NAMES[Level.UNKNOWN]
    rate_hz = f"{state.rate_hz:.0f} Hz" if np.isfinite(state.rate_hz) else "-- Hz"
    age = f"{state.age_s * 1000:.0f} ms" if np.isfinite(state.age_s) else "--"
    stroke = f"{state.stroke} {state.confidence:.2f}" if state.confidence else state.stroke
    link = f" link={state.link}" if state.link not in (None, "streaming") else ""
    if not lines:
        return (
            f"t={state.t:8.2f}s pressure={pressure.strip()} rate={_rate_text(state).strip()} "
            f"level={level} stroke={stroke} rate_hz={rate_hz} age={age} "
            f"warnings={state.warnings}"
            + (f" pulse={state.pulse_bpm:.0f}bpm" if state.pulse_bpm is not None else "")
            + link
        )
    paint = _painter(color)
    shown = Level.UNKNOWN if level == "unknown" else state.level
    bar = _bar(state.pressure_kpa, _bar_scale(state.peak_kpa), 30)
    banner = ""
    if state.pulse_bpm is not None:
        banner = paint(
            Level.CAUTION,
            f"Pulse under your hand ({state.pulse_bpm:.0f} bpm): move a little off it",
        )
    if shown == Level.TOO_FAST:
        banner = paint(Level.TOO_FAST, f" SLOW DOWN: {state.rate_kpa_s:+.0f} kPa/s ")
    elif shown == Level.CAUTION:
        banner = paint(Level.CAUTION, "easing in too quickly")
    rows = [
        f"palpate · {state.device} · {rate_hz} · age {age} · {_clock(state.t)}"
        + (f" · link {paint(Level.CAUTION, str(state.link))}" if link else ""),
        f"  pressure {paint(shown, pressure)}  {bar} {_bar_scale(state.peak_kpa):.0f}"
        f"   peak {state.peak_kpa:.0f} kPa",
        f"  ramp     {paint(shown, _rate_text(state)):<24} {level:<9}"
        f"(caution {state.caution_kpa_s:g} · too fast {state.limit_kpa_s:g} kPa/s)",
        f"  stroke   {stroke.upper():<16} warnings {state.warnings}",
        f"  {banner}",
    ]
    return "\n".join(rows)


def _bar_scale(peak_kpa: float) -> float:
    """Full scale of the pressure bar, kPa: 100, or the next 50 above 1.2 x the peak."""
    return max(100.0, float(np.ceil(1.2 * peak_kpa / 50.0) * 50.0))


def _bar(value: float, full: float, width: int) -> str:
    filled = round(min(max(value / full, 0.0), 1.0) * width) if np.isfinite(value) else 0
    return "█" * filled + "░" * (width - filled)


def _clock(t: float) -> str:
    m, s = divmod(max(int(t), 0), 60)
    return f"{m:02d}:{s:02d}"


def _painter(color: bool) -> Callable[[Level, str], str]:
    def paint(level: Level, text: str) -> str:
        return f"{_COLOURS[level]}{text}{_RESET}" if color else text

    return paint


def format_event(event: Event) -> str | None:
    """One line for an event worth telling as it happens, or ``None``."""
    d = event.data
    when = f"{event.t:8.2f}s"
    if event.kind == EventKind.WARNING:
        rate = d.get("rate_kpa_s")
        rate_txt = f" at {rate:+.0f} kPa/s" if rate is not None else ""
        return f"{when} ramp {d['level']}{rate_txt}"
    if event.kind == EventKind.CEILING:
        state = "above" if d["on"] else "back under"
        return f"{when} {state} the {d['which']} ceiling of {d['ceiling_kpa']:.0f} kPa"
    if event.kind == EventKind.GAP:
        return f"{when} {d['missing']} samples lost"
    if event.kind == EventKind.RECONNECT:
        return f"{when} {d.get('device', 'device')} back after {d.get('down_s', 0):.1f} s"
    if event.kind in (EventKind.SENSOR, EventKind.PULSE):
        return f"{when} {d.get('reason') or d}"
    if event.kind == EventKind.MARKER and d.get("label") == "calibration":
        return f"{when} {d.get('note')}"
    return None


class TerminalView:
    """Draws :class:`LiveState` on a text stream, in place on a terminal."""

    def __init__(self, out: TextIO, *, interactive: bool) -> None:
        self.out = out
        self.interactive = interactive
        self._drawn_lines = 0

    def draw(self, state: LiveState) -> None:
        text = format_status(state, color=self.interactive, lines=self.interactive)
        if self.interactive:
            up = f"\x1b[{self._drawn_lines}F" if self._drawn_lines else ""
            cleared = "\n".join(f"{line}\x1b[K" for line in text.split("\n"))
            self.out.write(f"{up}{cleared}\n")
            self._drawn_lines = text.count("\n") + 1
        else:
            self.out.write(text + "\n")
        self.out.flush()

    def tell(self, event: Event) -> None:
        line = format_event(event)
        if line is None:
            return
        if self.interactive:  # print above the status block, then redraw below it
            up = f"\x1b[{self._drawn_lines}F\x1b[J" if self._drawn_lines else ""
            self.out.write(f"{up}{line}\n")
            self._drawn_lines = 0
        else:
            self.out.write(f"event {line.strip()}\n")
        self.out.flush()


async def run_live(
    source: Source,
    pipeline_factory: Callable[[StreamInfo], Pipeline],
    view: TerminalView,
    *,
    seconds: float | None,
    redraw_hz: float,
    calibrations: Path | None = None,
) -> Pipeline:
    """Stream ``source`` through a pipeline into ``view`` until it ends or ``seconds`` pass.

    ``pipeline_factory`` gets the open source's StreamInfo. Warnings are drawn the
    moment they arrive; the rest is redrawn at ``redraw_hz`` even while no data
    comes in, so a stalled device shows as stale. ``seconds`` counts stream time.
    Returns the pipeline, whose summary covers everything that was shown.
    ``calibrations``: a folder of saved device calibrations; the device's is applied.
    """
    async with source:
        info, calibrator, note = (
            calibration_for(source.info, calibrations)
            if calibrations is not None
            else (source.info, None, "")
        )
        if note:
            view.tell(calibration_event(0.0, note, calibrator is not None))
        pipeline = pipeline_factory(info)
        cfg = pipeline.config.warnings
        state = LiveState(
            device=source.info.device,
            limit_kpa_s=cfg.limit_kpa_s,
            caution_kpa_s=cfg.caution_kpa_s,
            min_rate_hz=pipeline.config.min_rate_hz,
        )

        async def consume() -> None:
            t_start: float | None = None
            async for frame in source.frames():
                if calibrator is not None:
                    frame = Frame(
                        frame.t, calibrator.update(frame.x).astype(np.float32), frame.index
                    )
                block = pipeline.process(frame)
                state.update(frame, block, time.monotonic())
                for event in source.drain_events():  # link events: a device came back
                    view.tell(event)
                urgent = False
                for event in block.events:
                    view.tell(event)
                    urgent |= event.kind in (EventKind.WARNING, EventKind.CEILING)
                if urgent:
                    state.tick(time.monotonic())
                    view.draw(state)
                t_start = float(frame.t[0]) if t_start is None else t_start
                if seconds is not None and float(frame.t[-1]) - t_start >= seconds:
                    return

        async def redraw() -> None:
            while True:
                await asyncio.sleep(1.0 / redraw_hz)
                state.link = source.link_state
                state.tick(time.monotonic())
                view.draw(state)

        ticker = asyncio.create_task(redraw())
        try:
            await consume()
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        state.tick(time.monotonic())
        view.draw(state)
    return pipeline
