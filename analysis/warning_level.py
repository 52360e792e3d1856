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

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from analysis.stream import Event, EventKind

__all__ = ["LEVEL_NAMES", "Episode", "Level", "WarningConfig", "WarningTracker", "hysteresis"]

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

    def ceiling_at(self, t: FloatArray, t0: float) -> FloatArray:
        """The ceiling in force at times ``t`` (s) for a session starting at ``t0``, kPa."""
        if self.ceiling_kpa is None:
            return np.full(np.shape(t), np.inf)
        if self.warmup_s == 0:
            return np.full(np.shape(t), self.ceiling_kpa)
        ramp = np.clip((np.asarray(t) - t0) / self.warmup_s, 0.0, 1.0)
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


def hysteresis(x: FloatArray, on: float, off: float, state: bool) -> NDArray[np.bool_]:
    """Boolean state that turns on at ``x >= on`` and off at ``x < off`` (``off <= on``).

    ``state`` is the state before the first sample; NaN samples keep the state.
    """
    with np.errstate(invalid="ignore"):
        quiet = (x < on).all() if not state else (x >= off).all()
    if quiet:  # the usual case: nothing crosses, the state holds (NaN compares False)
        return np.full(x.shape, state)
    mark = np.full(x.shape, -1, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        mark[x < off] = 0
        mark[x >= on] = 1
    last = np.maximum.accumulate(np.where(mark >= 0, np.arange(x.size), -1))
    return np.where(last >= 0, mark[np.maximum(last, 0)] == 1, state)


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
        """Process one block.

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
            :class:`Level` per sample.
        events : list of Event
            Level changes (``EventKind.WARNING``) and ceiling crossings
            (``EventKind.CEILING``) in time order.
        """
        cfg = self.config
        n = t.size
        if n == 0:
            return np.empty(0, np.int8), []
        if self._t0 is None:
            self._t0 = float(t[0])
        release = cfg.release_fraction
        too_fast = hysteresis(
            rate_kpa_s, cfg.limit_kpa_s, cfg.limit_kpa_s * release, self._too_fast
        )
        caution = hysteresis(
            rate_kpa_s, cfg.caution_kpa_s, cfg.caution_kpa_s * release, self._caution
        )
        self._too_fast, self._caution = bool(too_fast[-1]), bool(caution[-1])
        levels = np.where(too_fast, Level.TOO_FAST, np.where(caution, Level.CAUTION, Level.OK))
        levels = np.where(np.isnan(rate_kpa_s), Level.UNKNOWN, levels).astype(np.int8)

        events = self._level_events(t, rate_kpa_s, levels)
        events += self._ceiling_events(t, level_kpa)
        events.sort(key=lambda e: e.t)
        return levels, events

    def _level_events(
        self, t: FloatArray, rate: FloatArray, levels: NDArray[np.int8]
    ) -> list[Event]:
        events: list[Event] = []
        prev = np.concatenate(([self._level], levels[:-1]))
        changes = np.flatnonzero(levels != prev)
        bounds = np.concatenate((changes, [levels.size]))
        # track the open ramp episode's peak over the stretch before the first change
        self._grow_peak("ramp", rate[: bounds[0]])
        for i, start in enumerate(changes):
            new, old = Level(int(levels[start])), Level(int(prev[start]))
            data: dict[str, Any] = {"level": LEVEL_NAMES[new], "rate_kpa_s": _num(rate[start])}
            if old == Level.TOO_FAST:
                begun, peak = self._open.pop("ramp")
                self.episodes.append(Episode("ramp", begun, float(t[start]), peak))
                data.update(peak_rate_kpa_s=peak, since=begun)
            if new == Level.TOO_FAST:
                self._open["ramp"] = [float(t[start]), float("-inf")]
            self._grow_peak("ramp", rate[start : bounds[i + 1]])
            events.append(Event(float(t[start]), EventKind.WARNING, data))
        self._level = Level(int(levels[-1]))
        return events

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

    def _ceiling_events(self, t: FloatArray, level_kpa: FloatArray) -> list[Event]:
        cfg = self.config
        if cfg.ceiling_kpa is None and self.personal_ceiling_kpa is None:
            return []
        assert self._t0 is not None
        ceiling = cfg.ceiling_at(t, self._t0)
        personal = self.personal_ceiling_kpa
        if personal is not None:
            ceiling = np.minimum(ceiling, personal)
        ratio = level_kpa / ceiling
        state = hysteresis(ratio, 1.0, 0.95, self._ceiling)
        prev = np.concatenate(([self._ceiling], state[:-1]))
        changes = np.flatnonzero(state != prev)
        bounds = np.concatenate((changes, [state.size]))
        events: list[Event] = []
        self._grow_peak("ceiling", level_kpa[: bounds[0]])
        for i, k in enumerate(changes):
            on = bool(state[k])
            data: dict[str, Any] = {
                "on": on,
                "ceiling_kpa": _num(ceiling[k]),
                "level_kpa": _num(level_kpa[k]),
                "which": _which(float(ceiling[k]), cfg.ceiling_kpa, personal),
            }
            if on:
                self._open["ceiling"] = [float(t[k]), float("-inf")]
            else:
                begun, peak = self._open.pop("ceiling")
                self.episodes.append(Episode("ceiling", begun, float(t[k]), peak))
                data.update(peak_kpa=peak, since=begun)
            self._grow_peak("ceiling", level_kpa[k : bounds[i + 1]])
            events.append(Event(float(t[k]), EventKind.CEILING, data))
        self._ceiling = bool(state[-1])
        return events

    def _grow_peak(self, kind: str, values: FloatArray) -> None:
        if kind in self._open and values.size:
            peak = float(np.nanmax(values)) if np.isfinite(values).any() else float("-inf")
            self._open[kind][1] = max(self._open[kind][1], peak)


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
