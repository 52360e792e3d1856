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

from analysis.strokes import CONTACT_KPA, STROKES, StrokeLabel
from analysis.warning_level import Episode

__all__ = ["SummaryBuilder"]

FloatArray = NDArray[np.float64]


class SummaryBuilder:
    """Running totals of one stream's analysis.

    Parameters
    ----------
    rate_hz : float
        Nominal sample rate, Hz (the duration of one sample is ``1 / rate_hz``).
    hop_s : float
        Hop between stroke windows, seconds; each window accounts for one hop.
    """

    def __init__(self, rate_hz: float, hop_s: float) -> None:
        self._dt = 1.0 / rate_hz
        self._hop_s = hop_s
        self._n = 0
        self._t_first = np.nan
        self._t_last = np.nan
        self._gaps = 0
        self._has_pressure = False
        self._peak = -np.inf
        self._contact_n = 0
        self._contact_sum = 0.0
        self._integral = 0.0
        self._max_rate = -np.inf
        self._strokes = dict.fromkeys(STROKES, 0)

    def add_samples(
        self,
        t: FloatArray,
        pressure_kpa: FloatArray | None,
        rate_kpa_s: FloatArray,
        gaps: int,
    ) -> None:
        """Account for one block of samples (shapes (n,), seconds, kPa, kPa/s)."""
        if t.size == 0:
            return
        if self._n == 0:
            self._t_first = float(t[0])
        self._t_last = float(t[-1])
        self._n += t.size
        self._gaps += gaps
        if pressure_kpa is not None:
            self._has_pressure = True
            finite = pressure_kpa[np.isfinite(pressure_kpa)]
            if finite.size:
                self._peak = max(self._peak, float(finite.max()))
                contact = finite[finite >= CONTACT_KPA]
                self._contact_n += contact.size
                self._contact_sum += float(contact.sum())
                self._integral += float(np.clip(finite, 0, None).sum()) * self._dt
        if np.isfinite(rate_kpa_s).any():
            self._max_rate = max(self._max_rate, float(np.nanmax(rate_kpa_s)))

    def add_windows(self, windows: Sequence[StrokeLabel]) -> None:
        """Account for classified stroke windows."""
        for w in windows:
            self._strokes[w.stroke] += 1

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
            "mean_kpa": _round(self._contact_sum / self._contact_n) if self._contact_n else None,
            "contact_s": _round(self._contact_n * self._dt) if pressure else None,
            "pressure_time_integral_kpa_s": _round(self._integral) if pressure else None,
            "max_rate_kpa_s": _round(self._max_rate) if np.isfinite(self._max_rate) else None,
            "warnings": len(ramps),
            "warning_s": _round(sum(_length(e, self._t_last) for e in ramps)),
            "ceiling_crossings": len(ceilings),
            "notes": list(notes),
        }


def _length(e: Episode, t_end: float) -> float:
    return (e.end if e.end is not None else t_end) - e.start


def _round(x: float) -> float:
    return float(round(x, 3))
