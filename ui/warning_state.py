"""What the window shows about warnings, pulse and sensor health: a small state machine.

The pipeline decides *whether* pressure ramps too fast (with its own hysteresis);
this module decides what the window looks like because of it, frame by frame:

- ``too_fast``: from the frame that brings the pipeline's ``too fast`` event, for at
  least :attr:`DisplayConfig.hold_s` (1 s), and until the level has been below
  ``too fast`` for :attr:`DisplayConfig.clear_s`; a short episode that began and
  ended between two frames is still shown;
- ``pain``: just after a pain mark, "ease off" for a few seconds;
- ``ceiling``: the working level is above a ceiling (absolute, warm-up, personal);
- ``pulse``: a pulse is felt under the hand (calm, non-alarming banner);
- ``caution``: the ramp rate is above the caution line (no banner, amber accents);
- ``calm`` otherwise.

Separately the sensor may be ``too_slow`` (sample rate below what ramp judging
needs) or ``stale`` (no fresh data): then ramp numbers are greyed with the reason,
and caution is not claimed from numbers the sensor cannot support.

Pure Python (no Qt), so every transition is tested without a display.

Examples
--------
>>> from analysis.stream import Event, EventKind
>>> from analysis.warning_level import Level
>>> m = WarningDisplay()
>>> e = Event(10.0, EventKind.WARNING, {"level": "too fast", "rate_kpa_s": 71.6})
>>> s = m.update(0.0, Level.TOO_FAST, 71.6, [e], rate_hz=100, age_s=0.01)
>>> s.mode, s.banner, s.onset
('too_fast', 'Slow down: +72 kPa/s', True)
>>> m.update(0.5, Level.OK, 5.0, [], rate_hz=100, age_s=0.01).mode  # held for 1 s
'too_fast'
>>> m.update(1.6, Level.OK, 5.0, [], rate_hz=100, age_s=0.01).mode
'calm'
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from analysis.stream import Event, EventKind
from analysis.warning_level import LEVEL_NAMES, Level

__all__ = ["MODES", "DisplayConfig", "DisplayState", "WarningDisplay"]

MODES = ("calm", "caution", "pulse", "ceiling", "pain", "too_fast")
"""Display modes, lowest priority first."""


@dataclass(frozen=True, slots=True)
class DisplayConfig:
    """Timing of the display states.

    Parameters
    ----------
    hold_s : float
        A too-fast warning stays on screen at least this long, seconds.
    clear_s : float
        ... and until the level has been below too fast this long, seconds.
    pain_s : float
        How long "ease off" shows after a pain mark, seconds.
    min_rate_hz : float
        Below this measured sample rate ramps are not judged (too slow).
    stale_s : float
        Data older than this is stale, seconds.
    """

    hold_s: float = 1.0
    clear_s: float = 0.4
    pain_s: float = 4.0
    min_rate_hz: float = 40.0
    stale_s: float = 0.5


@dataclass(frozen=True, slots=True)
class DisplayState:
    """What one frame of the window shows.

    Attributes
    ----------
    mode : str
        One of :data:`MODES`.
    banner : str
        Text across the plot ("" for none).
    onset : bool
        The too-fast warning began in this frame (flash, optional tone).
    sensor : str
        ``ok``, ``too_slow`` or ``stale``.
    sensor_note : str
        Why ramp numbers are greyed ("" when they are not).
    """

    mode: str
    banner: str
    onset: bool
    sensor: str
    sensor_note: str

    @property
    def alarm(self) -> bool:
        """Whether the window is in a red state (too fast or above a ceiling)."""
        return self.mode in ("too_fast", "ceiling")


class WarningDisplay:
    """Turns pipeline levels and events into :class:`DisplayState`, one call per frame."""

    def __init__(self, config: DisplayConfig | None = None) -> None:
        self.config = config or DisplayConfig()
        self._fast_since: float | None = None  # when the too-fast display began
        self._fast_below_since: float | None = None  # when the level left too fast
        self._fast_rate = math.nan
        self._ceiling: dict[str, float] | None = None
        self._pain_until = -math.inf
        self._pain_kpa = math.nan
        self._pulse_bpm: float | None = None

    def update(
        self,
        now: float,
        level: Level,
        rate_kpa_s: float,
        events: Iterable[Event],
        *,
        rate_hz: float,
        age_s: float,
    ) -> DisplayState:
        """Advance to monotonic time ``now`` (seconds) and return the frame's state.

        Parameters
        ----------
        now : float
            Monotonic clock, seconds.
        level : Level
            The pipeline's warning level at the newest sample.
        rate_kpa_s : float
            The newest ramp rate, kPa/s (NaN when not judged).
        events : iterable of Event
            Events that arrived since the last frame, in time order.
        rate_hz : float
            Measured sample rate, Hz (NaN before known).
        age_s : float
            Age of the newest sample, seconds (inf before any).
        """
        cfg = self.config
        onset = False
        saw_too_fast = False
        for e in events:
            if e.kind == EventKind.WARNING:
                if e.data.get("level") == LEVEL_NAMES[Level.TOO_FAST]:
                    saw_too_fast = True
                    r = e.data.get("rate_kpa_s")
                    self._fast_rate = float(r) if r is not None else math.nan
            elif e.kind == EventKind.CEILING:
                self._ceiling = (
                    {"ceiling_kpa": float(e.data.get("ceiling_kpa") or math.nan)}
                    if e.data.get("on")
                    else None
                )
            elif e.kind == EventKind.PULSE:
                self._pulse_bpm = float(e.data.get("bpm") or math.nan) if e.data.get("on") else None
            elif e.kind == EventKind.PAIN:
                self._pain_until = now + cfg.pain_s
                self._pain_kpa = float(e.data.get("pressure_kpa") or math.nan)

        sensor, note = self._sensor(rate_hz, age_s)
        fast_now = level == Level.TOO_FAST
        if fast_now and math.isfinite(rate_kpa_s):
            self._fast_rate = rate_kpa_s
        if (saw_too_fast or fast_now) and self._fast_since is None:
            self._fast_since = now
            onset = True
        if self._fast_since is not None:
            if fast_now:
                self._fast_below_since = None
            elif self._fast_below_since is None:
                self._fast_below_since = now
            held = now - self._fast_since >= cfg.hold_s
            cleared = self._fast_below_since is not None and (
                now - self._fast_below_since >= cfg.clear_s
            )
            if held and cleared:
                self._fast_since = self._fast_below_since = None

        if self._fast_since is not None:
            rate = f"{self._fast_rate:+.0f} kPa/s" if math.isfinite(self._fast_rate) else "too fast"
            return DisplayState("too_fast", f"Slow down: {rate}", onset, sensor, note)
        if now < self._pain_until:
            at = f" at {self._pain_kpa:.0f} kPa" if math.isfinite(self._pain_kpa) else ""
            return DisplayState("pain", f"Pain marked{at}: ease off", False, sensor, note)
        if self._ceiling is not None:
            c = self._ceiling["ceiling_kpa"]
            text = f"Above your ceiling ({c:.0f} kPa): ease off" if math.isfinite(c) else "Ease off"
            return DisplayState("ceiling", text, False, sensor, note)
        if self._pulse_bpm is not None:
            bpm = f" ({self._pulse_bpm:.0f} bpm)" if math.isfinite(self._pulse_bpm) else ""
            text = f"Pulse under your hand{bpm}: move a little off it"
            return DisplayState("pulse", text, False, sensor, note)
        if level == Level.CAUTION and sensor == "ok":
            return DisplayState("caution", "", False, sensor, note)
        return DisplayState("calm", "", False, sensor, note)

    def _sensor(self, rate_hz: float, age_s: float) -> tuple[str, str]:
        cfg = self.config
        if math.isfinite(rate_hz) and rate_hz < cfg.min_rate_hz:
            return "too_slow", (
                f"too slow to judge ramps ({rate_hz:.0f} Hz < {cfg.min_rate_hz:.0f} Hz)"
            )
        if not math.isfinite(age_s) or age_s > cfg.stale_s:
            what = "no data yet" if not math.isfinite(age_s) else f"no fresh data for {age_s:.1f} s"
            return "stale", f"stale: {what}"
        return "ok", ""
