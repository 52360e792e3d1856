"""Session figures: what a person (and history) wants to know about one session.

:class:`SummaryBuilder` accumulates pipeline output block by block, so a live
session, a replay and ``palpate analyze`` produce the same summary.

Examples
--------
>>> import numpy as np
>>> b = SummaryBuilder(rate_hz=10.0, hop_s=0.25)
>>> b.add_samples(np.arange(10) / 10, np.full(10, 20.0), np.zeros(10), gaps=0)
>>> s = b.result(episodes=[])
>>> s["peak_kpa"], s["contact_s"]
(20.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from analysis.stream import Event, EventKind
from analysis.strokes import CONTACT_KPA, STROKES, StrokeLabel
from analysis.warning_level import Episode, Level

__all__ = ["ZONES_KPA", "SummaryBuilder"]

FloatArray = NDArray[np.float64]

ZONES_KPA: tuple[tuple[str, float], ...] = (("gentle", 0.0), ("working", 50.0), ("deep", 150.0))
"""Pressure zones by lower bound, kPa: gentle up to 50 (foam rolling is 30-50 kPa),
working 50-150, deep from 150 (deep friction massage averages about 230 kPa). Only
time in contact counts."""


_ZONE_BOUNDS = np.array([lo for _, lo in ZONES_KPA[1:]])


class SummaryBuilder:
    """Running totals of one stream's analysis.

    Parameters
    ----------
    rate_hz : float
        Nominal sample rate, Hz (the duration of one sample is ``1 / rate_hz``).
    hop_s : float
        Hop between stroke windows, seconds; each window accounts for one hop.
    window_s : float
        Length of a stroke window, seconds (for the longest hold).
    """

    def __init__(self, rate_hz: float, hop_s: float, window_s: float = 2.0) -> None:
        self._dt = 1.0 / rate_hz
        self._hop_s = hop_s
        self._window_s = window_s
        self._n = 0
        self._t_first = np.nan
        self._t_last = np.nan
        self._gaps = 0
        self._has_pressure = False
        self._peak = -np.inf
        self._contact_s = 0.0
        self._contact_sum = 0.0  # kPa x s in contact
        self._integral = 0.0
        self._max_rate = -np.inf
        self._strokes = dict.fromkeys(STROKES, 0)
        self._zones = np.zeros(len(ZONES_KPA))  # seconds in each zone
        self._caution_s = 0.0
        self._pulses = 0
        self._pain_marks = 0
        self._run = 0  # consecutive hold windows so far
        self._longest_run = 0

    def add_samples(
        self,
        t: FloatArray,
        pressure_kpa: FloatArray | None,
        rate_kpa_s: FloatArray,
        gaps: int,
        warning: NDArray[np.int8] | None = None,
    ) -> None:
        """Account for one block of samples (shapes (n,): seconds, kPa, kPa/s, int8 levels)."""
        if t.size == 0:
            return
        if self._n == 0:
            self._t_first = float(t[0])
        self._n += t.size
        self._gaps += gaps
        # each sample stands for the time to the next one; gaps (over 5 periods) do not count
        prev = self._t_last if self._n > t.size else t[0] - self._dt
        dt = np.clip(np.diff(t, prepend=prev), 0.0, 5 * self._dt)
        self._t_last = float(t[-1])
        if pressure_kpa is not None:
            self._has_pressure = True
            ok = np.isfinite(pressure_kpa)
            p, w = pressure_kpa[ok], dt[ok]
            if p.size:
                self._peak = max(self._peak, float(p.max()))
                touching = p >= CONTACT_KPA
                self._contact_s += float(w[touching].sum())
                self._contact_sum += float((p * w)[touching].sum())
                self._integral += float((np.clip(p, 0, None) * w).sum())
                zone = np.searchsorted(_ZONE_BOUNDS, p[touching], side="right")
                self._zones += np.bincount(zone, weights=w[touching], minlength=len(ZONES_KPA))
        if np.isfinite(rate_kpa_s).any():
            self._max_rate = max(self._max_rate, float(np.nanmax(rate_kpa_s)))
        if warning is not None:
            self._caution_s += float(dt[warning == Level.CAUTION].sum())

    def add_events(self, events: Sequence[Event]) -> None:
        """Account for events: pulses felt and pain marks."""
        for e in events:
            if e.kind == EventKind.PULSE and e.data.get("on"):
                self._pulses += 1
            elif e.kind == EventKind.PAIN:
                self._pain_marks += 1

    def add_windows(self, windows: Sequence[StrokeLabel]) -> None:
        """Account for classified stroke windows."""
        for w in windows:
            self._strokes[w.stroke] += 1
            self._run = self._run + 1 if w.stroke == "hold" else 0
            self._longest_run = max(self._longest_run, self._run)

    def result(self, episodes: Sequence[Episode], notes: Sequence[str] = ()) -> dict[str, Any]:
        """The summary as a JSON-ready dict (``None`` where a figure does not exist)."""
        span = self._t_last - self._t_first if self._n > 1 else 0.0
        ramps = [e for e in episodes if e.kind == "ramp"]
        ceilings = [e for e in episodes if e.kind == "ceiling"]
        pressure = self._has_pressure and self._n > 0
        return {
            "duration_s": _round(span + self._dt if self._n else 0.0),
            "samples": self._n,
            "rate_hz": _round((self._n - 1) / span) if span > 0 else None,
            "gaps": self._gaps,
            "stroke_s": {k: _round(v * self._hop_s) for k, v in self._strokes.items()},
            "peak_kpa": _round(self._peak) if pressure else None,
            "mean_kpa": _round(self._contact_sum / self._contact_s) if self._contact_s else None,
            "contact_s": _round(self._contact_s) if pressure else None,
            "pressure_time_integral_kpa_s": _round(self._integral) if pressure else None,
            "zone_s": {name: _round(n) for (name, _), n in zip(ZONES_KPA, self._zones, strict=True)}
            if pressure
            else None,
            "longest_hold_s": _round((self._longest_run - 1) * self._hop_s + self._window_s)
            if self._longest_run
            else 0.0,
            "max_rate_kpa_s": _round(self._max_rate) if np.isfinite(self._max_rate) else None,
            "caution_s": _round(self._caution_s),
            "warnings": len(ramps),
            "warning_s": _round(sum(_length(e, self._t_last) for e in ramps)),
            "ceiling_crossings": len(ceilings),
            "pulses_felt": self._pulses,
            "pain_marks": self._pain_marks,
            "notes": list(notes),
        }


def _length(e: Episode, t_end: float) -> float:
    return (e.end if e.end is not None else t_end) - e.start


def _round(x: float) -> float:
    return float(round(x, 3))
