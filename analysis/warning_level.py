"""Warning levels: ``ok`` -> ``caution`` -> ``too fast`` from the ramp rate, and ceilings.

Each threshold has hysteresis: a level switches on when the rate reaches its
threshold and off only when the rate falls below ``release_fraction`` of it, so a
rate hovering at the limit does not flicker. Releasing pressure (a negative rate)
never warns. A stream too slow to judge a ramp gets the level ``unknown``
instead of a number it cannot support.

Ceilings watch the working pressure level itself: an absolute ceiling, a warm-up
ceiling that starts lower and rises to the absolute one over the first minutes of
a session ("start gentle, deepen gradually"), and a personal ceiling learned from
the person's own pain marks ("stop at sharp pain"); the lowest one holds.

Examples
--------
>>> import numpy as np
>>> tracker = WarningTracker(WarningConfig(caution_kpa_s=25, limit_kpa_s=50, ceiling_kpa=None))
>>> t = np.arange(6) * 0.1
>>> levels, events = tracker.update(t, np.array([0, 30, 60, 40, 20, 0.0]), np.zeros(6))
>>> [LEVEL_NAMES[int(v)] for v in levels]
['ok', 'caution', 'too fast', 'too fast', 'caution', 'ok']
>>> [e.data["level"] for e in events]
['caution', 'too fast', 'caution', 'ok']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from analysis.stream import Event, EventKind

__all__ = ["LEVEL_NAMES", "Episode", "Level", "WarningConfig", "WarningTracker"]

FloatArray = NDArray[np.float64]


class Level(IntEnum):
    """Ramp warning level, as stored in int8 arrays."""

    UNKNOWN = -1
    OK = 0
    CAUTION = 1
    TOO_FAST = 2


LEVEL_NAMES: Final = {
    Level.UNKNOWN: "unknown",
    Level.OK: "ok",
    Level.CAUTION: "caution",
    Level.TOO_FAST: "too fast",
}


@dataclass(frozen=True, slots=True)
class WarningConfig:
    """Thresholds of the ramp warning and the ceilings; personal settings.

    Parameters
    ----------
    caution_kpa_s : float
        Ramp rate at which the level turns ``caution``, kPa/s.
    limit_kpa_s : float
        Ramp rate at which it turns ``too fast``, kPa/s (a standard pain-threshold
        test ramps at 50 kPa/s).
    release_fraction : float
        A level clears when the rate falls below this fraction of its threshold.
    ceiling_kpa : float or None
        Absolute ceiling on the working pressure level, kPa; ``None`` disables it.
    warmup_s : float
        Length of the warm-up, seconds; 0 disables the warm-up ceiling.
    warmup_start_fraction : float
        The warm-up ceiling starts at this fraction of ``ceiling_kpa`` and rises
        linearly to it over ``warmup_s``.
    personal_ceiling_kpa : float or None
        A ceiling learned from earlier pain marks, kPa.
    pain_fraction : float
        A pain mark at level P sets the personal ceiling to ``pain_fraction * P``.
    """

    caution_kpa_s: float = 25.0
    limit_kpa_s: float = 50.0
    release_fraction: float = 0.6
    ceiling_kpa: float | None = 300.0
    warmup_s: float = 0.0
    warmup_start_fraction: float = 0.5
    personal_ceiling_kpa: float | None = None
    pain_fraction: float = 0.8

    def __post_init__(self) -> None:
        if not (0 < self.caution_kpa_s <= self.limit_kpa_s and np.isfinite(self.limit_kpa_s)):
            raise ValueError(
                "ramp thresholds need 0 < caution <= limit, got caution "
                f"{self.caution_kpa_s!r} kPa/s and limit {self.limit_kpa_s!r} kPa/s"
            )
        if not 0 < self.release_fraction < 1:
            raise ValueError(f"release_fraction must be in (0, 1), got {self.release_fraction!r}")
        if self.ceiling_kpa is not None and not self.ceiling_kpa > 0:
            raise ValueError(f"ceiling_kpa must be positive or None, got {self.ceiling_kpa!r}")
        if self.personal_ceiling_kpa is not None and not self.personal_ceiling_kpa > 0:
            raise ValueError(
                f"personal_ceiling_kpa must be positive or None, got {self.personal_ceiling_kpa!r}"
            )
        if not 0 < self.pain_fraction <= 1:
            raise ValueError(f"pain_fraction must be in (0, 1], got {self.pain_fraction!r}")
        if not self.warmup_s >= 0:
            raise ValueError(f"warmup_s must be >= 0, got {self.warmup_s!r}")
        if not 0 < self.warmup_start_fraction <= 1:
            raise ValueError(
                f"warmup_start_fraction must be in (0, 1], got {self.warmup_start_fraction!r}"
            )

    def ceiling_at_time(self, t: float, t0: float) -> float:
        """The ceiling in force at time ``t`` (s) for a session starting at ``t0``, kPa."""
        if self.ceiling_kpa is None:
            return math.inf
        if self.warmup_s == 0:
            return self.ceiling_kpa
        ramp = min(max((t - t0) / self.warmup_s, 0.0), 1.0)
        start = self.warmup_start_fraction
        return self.ceiling_kpa * (start + (1.0 - start) * ramp)


@dataclass(frozen=True, slots=True)
class Episode:
    """One stretch of a warning: ``kind`` is ``"ramp"`` or ``"ceiling"``.

    ``end`` is ``None`` while the warning is still on; ``peak`` is the highest
    ramp rate (kPa/s) for a ramp episode, the highest level (kPa) for a ceiling one.
    """

    kind: str
    start: float
    end: float | None
    peak: float


class WarningTracker:
    """Streaming warning level and ceiling state; emits events on every change."""

    def __init__(self, config: WarningConfig | None = None) -> None:
        self.config = config or WarningConfig()
        self._too_fast = False
        self._caution = False
        self._ceiling = False
        self._level = Level.OK
        self._t0: float | None = None
        self._open: dict[str, list[float]] = {}  # kind -> [start, peak]
        self.episodes: list[Episode] = []
        """Closed episodes, oldest first."""
        self.personal_ceiling_kpa: float | None = self.config.personal_ceiling_kpa
        """Ceiling learned from pain marks, kPa (see :meth:`mark_pain`)."""

    @property
    def level(self) -> Level:
        """The level after the last sample processed."""
        return self._level

    def open_episodes(self) -> list[Episode]:
        """Episodes still on, with ``end=None``."""
        return [Episode(k, s, None, p) for k, (s, p) in self._open.items()]

    def update(
        self, t: FloatArray, rate_kpa_s: FloatArray, level_kpa: FloatArray
    ) -> tuple[NDArray[np.int8], list[Event]]:
        """Process a few values (one per block of the ramp tracker, about 50 a second).

        Parameters
        ----------
        t : ndarray, shape (n,), seconds
        rate_kpa_s : ndarray, shape (n,), kPa/s
            Ramp rate; NaN where the rate cannot be judged (level ``unknown``).
        level_kpa : ndarray, shape (n,), kPa
            Working pressure level, for the ceilings.

        Returns
        -------
        levels : ndarray, shape (n,), int8
            :class:`Level` per value.
        events : list of Event
            Level changes (``EventKind.WARNING``) and ceiling crossings
            (``EventKind.CEILING``) in time order.
        """
        n = len(t)
        if n == 0:
            return np.empty(0, np.int8), []
        if self._t0 is None:
            self._t0 = float(t[0])
        cfg = self.config
        limit, caution = cfg.limit_kpa_s, cfg.caution_kpa_s
        limit_off, caution_off = limit * cfg.release_fraction, caution * cfg.release_fraction
        ceilings = cfg.ceiling_kpa is not None or self.personal_ceiling_kpa is not None
        if n > 4 and self._quiet(t, rate_kpa_s, level_kpa, ceilings):
            return np.full(n, Level.OK, np.int8), []
        events: list[Event] = []
        out: list[int] = []
        ramp = self._open.get("ramp")
        for when, rate, level_kpa_now in zip(
            t.tolist(), rate_kpa_s.tolist(), level_kpa.tolist(), strict=True
        ):
            if rate != rate:  # NaN: the rate cannot be judged; the states hold
                level = Level.UNKNOWN
            else:
                if self._too_fast:
                    self._too_fast = rate >= limit_off
                else:
                    self._too_fast = rate >= limit
                if self._caution:
                    self._caution = rate >= caution_off
                else:
                    self._caution = rate >= caution
                level = (
                    Level.TOO_FAST
                    if self._too_fast
                    else Level.CAUTION
                    if self._caution
                    else Level.OK
                )
            if level != self._level:
                data: dict[str, Any] = {"level": LEVEL_NAMES[level], "rate_kpa_s": _num(rate)}
                if ramp is not None:  # leaving too fast
                    del self._open["ramp"]
                    self.episodes.append(Episode("ramp", ramp[0], when, ramp[1]))
                    data.update(peak_rate_kpa_s=ramp[1], since=ramp[0])
                    ramp = None
                if level == Level.TOO_FAST:
                    ramp = self._open["ramp"] = [when, float("-inf")]
                events.append(Event(when, EventKind.WARNING, data))
                self._level = level
            if ramp is not None and rate > ramp[1]:
                ramp[1] = rate
            out.append(level)
            if ceilings:
                self._ceiling_step(when, level_kpa_now, events)
        return np.array(out, np.int8), events

    def _quiet(
        self, t: FloatArray, rate_kpa_s: FloatArray, level_kpa: FloatArray, ceilings: bool
    ) -> bool:
        """Whether nothing can change over these values: all ok, no ceiling near (fast path)."""
        if self._level != Level.OK or not rate_kpa_s.max() < self.config.caution_kpa_s:
            return False  # (a NaN rate fails the comparison)
        if not ceilings:
            return True
        if self._ceiling:
            return False
        assert self._t0 is not None
        lowest = self.config.ceiling_at_time(float(t[0]), self._t0)  # the warm-up only rises
        if self.personal_ceiling_kpa is not None:
            lowest = min(lowest, self.personal_ceiling_kpa)
        return bool(level_kpa.max() < lowest)

    def _ceiling_step(self, t: float, level_kpa: float, events: list[Event]) -> None:
        """The ceilings at one time: on at the ceiling, off below 95 % of it."""
        cfg = self.config
        assert self._t0 is not None
        ceiling = cfg.ceiling_at_time(t, self._t0)
        personal = self.personal_ceiling_kpa
        if personal is not None:
            ceiling = min(ceiling, personal)
        ratio = level_kpa / ceiling
        on = ratio >= 0.95 if self._ceiling else ratio >= 1.0  # NaN keeps it off
        if on != self._ceiling:
            self._ceiling = on
            data: dict[str, Any] = {
                "on": on,
                "ceiling_kpa": _num(ceiling),
                "level_kpa": _num(level_kpa),
                "which": _which(ceiling, cfg.ceiling_kpa, personal),
            }
            if on:
                self._open["ceiling"] = [t, float("-inf")]
            else:
                begun, peak = self._open.pop("ceiling")
                self.episodes.append(Episode("ceiling", begun, t, peak))
                data.update(peak_kpa=peak, since=begun)
            events.append(Event(t, EventKind.CEILING, data))
        open_ceiling = self._open.get("ceiling")
        if open_ceiling is not None and level_kpa > open_ceiling[1]:
            open_ceiling[1] = level_kpa

    def mark_pain(self, t: float, level_kpa: float) -> Event:
        """The person felt sharp pain at working level ``level_kpa``: lower the ceiling.

        The personal ceiling becomes ``pain_fraction`` of the lowest level at which
        pain was marked, and holds for the rest of the session (and, saved by the
        caller, for later ones). Returns the ``PAIN`` event to record.
        """
        if not (np.isfinite(level_kpa) and level_kpa > 0):
            raise ValueError(f"a pain mark needs a positive pressure level, got {level_kpa!r}")
        ceiling = self.config.pain_fraction * float(level_kpa)
        if self.personal_ceiling_kpa is None or ceiling < self.personal_ceiling_kpa:
            self.personal_ceiling_kpa = ceiling
        return Event(
            t,
            EventKind.PAIN,
            {"pressure_kpa": float(level_kpa), "personal_ceiling_kpa": self.personal_ceiling_kpa},
        )


def _which(ceiling: float, absolute: float | None, personal: float | None) -> str:
    """Name of the ceiling in force: ``personal``, ``warm-up`` or ``absolute``."""
    if personal is not None and ceiling >= personal:
        return "personal"
    if absolute is not None and ceiling < absolute:
        return "warm-up"
    return "absolute"


def _num(value: Any) -> float | None:
    """A JSON-friendly float: ``None`` for NaN."""
    v = float(value)
    return v if np.isfinite(v) else None
