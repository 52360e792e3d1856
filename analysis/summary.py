"""Session figures: what a person (and history) wants to know about one session.

:class:`SummaryBuilder` accumulates pipeline output block by block, so a live
session, a replay and ``palpate analyze`` produce the same summary.

Examples
--------
>>> import numpy as np
>>> b = SummaryBuilder(rate_hz=10.0, hop_s=0.25)
>>> b.add_samples(np.arange(10) / 10, np.full(10, 20.0))
>>> s = b.result(episodes=[])
>>> s["peak_kpa"], s["contact_s"]
(20.0, 1.0)
"""

from __future__ import annotations

import itertools
import math
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


_ZONE_BOUNDS_LIST = [lo for _, lo in ZONES_KPA[1:]]

FOLD = 4096
"""Samples summed at a time (the same groups for any chunking, so the same sums)."""


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
        # samples are summed in groups of FOLD, so any chunking gives the same bits
        self._held_t = np.empty(FOLD)
        self._held_p = np.empty(FOLD)
        self._held = 0
        self._t_folded = np.nan  # time of the last sample folded in
        # peak, contact s, contact kPa x s, integral kPa x s, then seconds in each zone
        self._sums = np.zeros(4 + len(ZONES_KPA))
        self._sums[0] = -np.inf
        self._max_rate = -np.inf
        self._strokes = dict.fromkeys(STROKES, 0)
        self._caution_blocks: dict[float, int] = {}  # block length, s -> blocks at caution
        self._pulses = 0
        self._pain_marks = 0
        self._run = 0  # consecutive hold windows so far
        self._longest_run = 0

    def add_samples(self, t: FloatArray, pressure_kpa: FloatArray | None, gaps: int = 0) -> None:
        """Account for samples (shapes (n,): seconds, kPa or ``None`` without pressure)."""
        n = t.size
        if n == 0:
            return
        if self._n == 0:
            self._t_first = float(t[0])
            self._t_folded = float(t[0]) - self._dt
        self._n += n
        self._gaps += gaps
        self._t_last = float(t[-1])
        if pressure_kpa is None:
            return
        self._has_pressure = True
        i = 0
        while i < n:
            take = min(FOLD - self._held, n - i)
            self._held_t[self._held : self._held + take] = t[i : i + take]
            self._held_p[self._held : self._held + take] = pressure_kpa[i : i + take]
            self._held += take
            i += take
            if self._held == FOLD:
                self._sums = self._folded(self._held)
                self._t_folded = float(self._held_t[-1])
                self._held = 0

    def add_blocks(self, rate_kpa_s: FloatArray, warning: NDArray[np.int8], block_s: float) -> None:
        """Account for per-block ramp rates (kPa/s) and warning levels, ``block_s`` each."""
        if rate_kpa_s.size == 0:
            return
        top = float(np.fmax.reduce(rate_kpa_s))  # NaN only when all are
        if top > self._max_rate:
            self._max_rate = top
        # blocks are counted (by length), so the sum does not depend on the chunking
        caution = int(np.count_nonzero(warning == Level.CAUTION))
        if caution:
            self._caution_blocks[block_s] = self._caution_blocks.get(block_s, 0) + caution

    def _folded(self, n: int) -> FloatArray:
        """The sums with the first ``n`` held samples folded in (the held ones stay)."""
        t, p = self._held_t[:n], self._held_p[:n]
        # each sample stands for the time to the next one; gaps (over 5 periods) do not count
        dt = np.empty(n)
        dt[:1] = t[:1] - self._t_folded
        np.subtract(t[1:], t[:-1], out=dt[1:])
        np.minimum(np.maximum(dt, 0.0, out=dt), 5 * self._dt, out=dt)  # np.clip, faster
        sums = self._sums.copy()
        if not math.isfinite(np.add.reduce(p)):  # a NaN or inf among them (one call)
            ok = np.isfinite(p)
            p, dt = p[ok], dt[ok]
        if p.size:
            sums[0] = max(sums[0], float(p.max()))
            # time weights of the samples in contact (0 for the others), then of those in
            # each zone and above: products and sums, no boolean indexing
            w = dt * (p >= CONTACT_KPA)
            above = [float(w.sum())] + [float((p >= bound) @ w) for bound in _ZONE_BOUNDS_LIST]
            sums[1] += above[0]
            sums[2] += float(p @ w)
            sums[3] += float(np.maximum(p, 0.0) @ dt)
            sums[4:] += [a - b for a, b in itertools.pairwise([*above, 0.0])]
        return sums

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
        peak, contact_s, contact_sum, integral, *zones = self._folded(self._held)
        return {
            "duration_s": _round(span + self._dt if self._n else 0.0),
            "samples": self._n,
            "rate_hz": _round((self._n - 1) / span) if span > 0 else None,
            "gaps": self._gaps,
            "stroke_s": {k: _round(v * self._hop_s) for k, v in self._strokes.items()},
            "peak_kpa": _round(peak) if pressure and np.isfinite(peak) else None,
            "mean_kpa": _round(contact_sum / contact_s) if contact_s else None,
            "contact_s": _round(contact_s) if pressure else None,
            "pressure_time_integral_kpa_s": _round(integral) if pressure else None,
            "zone_s": {name: _round(n) for (name, _), n in zip(ZONES_KPA, zones, strict=True)}
            if pressure
            else None,
            "longest_hold_s": _round((self._longest_run - 1) * self._hop_s + self._window_s)
            if self._longest_run
            else 0.0,
            "max_rate_kpa_s": _round(self._max_rate) if np.isfinite(self._max_rate) else None,
            "caution_s": _round(sum(s * n for s, n in self._caution_blocks.items())),
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
