"""The built-in simulated pad: a virtual force pad with realistic physics and known truth.

A :class:`Script` says what the person does: a sequence of :class:`Segment` strokes
(``rest``, ``hold``, ``circular``, ``kneading``) covering the session, and the
:class:`Ramp` changes of the working pressure level between them. The physics turns
a script into newtons (one load cell, or four at the corners of a square pad) and,
optionally, a hand-held phone's accelerometer. Ground truth comes from the script:
:meth:`Script.labels_at`, :meth:`Script.level_at`, :meth:`Script.rate_at` and
:meth:`Script.truth`.

:func:`simulate` renders a whole recording in one call; :class:`SimulatedPad` streams
the same samples as a :class:`~firmware_bridge.source.Source`, in real time or as fast
as possible. Every sample is a pure function of its index, the script, the seed and the
options: the signal is rendered in fixed pages of :data:`PAGE_SAMPLES` samples, each with
its own random generator seeded by ``(seed, page)``, so the block size of a stream never
changes a number.

Stroke label codes (:data:`STROKES`, :data:`STROKE_CODES`)::

    0 rest      no contact
    1 hold      sustained static pressure
    2 circular  circular strokes
    3 kneading  rhythmic compress and release

Physics, in short
-----------------
pressure (kPa) = working level × stroke shape × physiology, where the working level is
the script's piecewise-linear :meth:`Script.level_at` (for rhythmic strokes the envelope
of the cycle peaks), the stroke shape is 1 for a hold (plus an optional arterial pulse),
``1 - depth·(1 - cos)/2`` for circular strokes and an asymmetric raised-cosine
compress/release cycle for kneading, each with phase noise and cycle-to-cycle amplitude
variation; physiology is breathing (0.2-0.3 Hz, 1.5-3 %), tremor (8-12 Hz, 0.4-0.8 %)
and slow drift (about ±3 %). A new stroke cross-fades into the old one over its first
:data:`TRANSITION_S` seconds, so pressure never jumps. Force (N) = pressure (kPa) ×
area (cm²) / 10. Sensor: white noise, slow baseline drift, optional ADC spikes, then
quantisation. The accelerometer (phone in the pressing hand, z up) reads gravity plus
the second derivative of the hand's path: still at rest, tremor in a hold, a circle (x
and y in quadrature) in circular strokes, vertical pulses in kneading.

Seeds
-----
Two seeds, two jobs: the *script seed* (``Script.random(seed)``, ``Script.demo(seed)``)
decides what the person does; the *session seed* (``seed=`` of :func:`simulate` and
:class:`SimulatedPad`) decides how they do it (phase noise, cycle-to-cycle variation,
centre of pressure, breathing, tremor) and the sensor noise. ``simulate(7)`` uses 7 for
both.

Examples
--------
>>> import numpy as np
>>> script = Script.scripted([("rest", 2.0), ("hold", 6.0, 40.0), ("kneading", 8.0, 60.0, 1.0)])
>>> info, frame = simulate(script, seed=1)
>>> info.device, frame.x.shape
('palpate simulator (seed 1)', (1600, 1))
>>> [STROKES[code] for code in script.labels_at([1.0, 5.0, 12.0])]
['rest', 'hold', 'kneading']
>>> float(script.level_at(4.0))  # pressing in from rest at 8 kPa/s since t = 2 s
16.0
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import cached_property, lru_cache
from itertools import chain, pairwise
from types import MappingProxyType
from typing import Any, Final, TypeAlias, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analysis.stream import G_STANDARD, Channel, Frame, StreamInfo
from firmware_bridge.source import Source

__all__ = [
    "DEMO_STEPS",
    "PAGE_SAMPLES",
    "STROKES",
    "STROKE_CODES",
    "TRANSITION_S",
    "Ramp",
    "Script",
    "Segment",
    "SimulatedPad",
    "Step",
    "Truth",
    "simulate",
]

STROKES: Final[tuple[str, ...]] = ("rest", "hold", "circular", "kneading")
"""Stroke names; a label code is the index into this tuple (0 rest ... 3 kneading)."""

STROKE_CODES: Final[Mapping[str, int]] = MappingProxyType({s: i for i, s in enumerate(STROKES)})
"""Stroke name -> label code."""

TRANSITION_S: Final = 0.4
"""Seconds over which a new stroke cross-fades from the previous one (no segment but the
last may be shorter)."""

PAGE_SAMPLES: Final = 1024
"""Samples per rendering page; noise is seeded per page, so any block size gives the
same samples."""

RATE_RANGE_HZ: Final = (50.0, 1000.0)
"""Sample rates the simulated pad offers, Hz."""

MAX_LEVEL_KPA: Final = 1000.0
"""Highest working level a segment may script, kPa."""

Step: TypeAlias = tuple[Any, ...]
"""One step of :meth:`Script.scripted`:
``(stroke, duration_s[, level_kpa[, freq_hz]][, options])``."""

_RHYTHMIC: Final = frozenset({"circular", "kneading"})
_DEFAULT_DEPTH: Final = MappingProxyType(
    {"rest": 0.0, "hold": 0.0, "circular": 0.3, "kneading": 0.75}
)
_FREQ_RANGE_HZ: Final = (0.1, 5.0)
_TOL_S: Final = 1e-9
_TOL_KPA: Final = 1e-6
_ACC_STEP_S: Final = 1e-3  # central-difference step for hand acceleration
_CYCLE_PAGE: Final = 256  # cycles per page of cycle-to-cycle variation
_TWO_PI: Final = 2.0 * math.pi
# random streams: np.random.default_rng([seed, tag, ...])
_TAG_GROUP: Final = 1  # per run of segments sharing a rhythm
_TAG_CYCLE: Final = 2  # per stroke cycle page
_TAG_PHYS: Final = 3  # per session: breathing, tremor, drift
_TAG_NOISE: Final = 4  # per sample page: force noise
_TAG_ACCEL_NOISE: Final = 5  # per sample page: accelerometer noise
_TAG_SPIKES: Final = 6  # per sample page: ADC spikes
_TAG_DRIFT: Final = 7  # per session: load-cell baseline drift
_TAG_DEMO: Final = 0xDE  # the demo's random continuation


# -- the script --------------------------------------------------------------------------------


def _number(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{owner}: {name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{owner}: {name} must be finite, got {value!r}")
    return number


@dataclass(frozen=True, slots=True)
class Segment:
    """One stroke of a script, over ``[start_s, end_s)``.

    Parameters
    ----------
    stroke : str
        ``"rest"``, ``"hold"``, ``"circular"`` or ``"kneading"`` (see :data:`STROKES`).
    start_s, end_s : float
        Seconds on the session clock.
    level_kpa : float
        Working level the segment settles at, kPa: the held pressure of a hold, the
        cycle-peak pressure of a rhythmic stroke, 0 for rest. Ramps may run at the start
        (press-in, deepening) or end (release) of a segment.
    freq_hz : float
        Stroke rhythm, Hz (0.1-5); 0 for rest and hold.
    depth : float, optional
        Rhythmic strokes: pressure swing as a fraction of the peak; the trough is at
        ``(1 - depth) × peak``. Defaults to 0.3 for circular, 0.75 for kneading; always a
        float after construction (0 for rest and hold).
    compress_frac : float
        Kneading: fraction of each cycle spent compressing, 0.1-0.9; below 0.5 the
        person compresses faster than they release.
    direction : int
        Circular: +1 counter-clockwise, -1 clockwise, seen from above the pad.
    radius_frac : float
        Circular: radius of the centre-of-pressure circle as a fraction of the pad's
        half-width (0-0.8).
    pulse_bpm : float
        Hold: arterial pulse under the hand, beats per minute (30-220), 0 for none.
    pulse_frac : float
        Hold: peak-to-peak pulse as a fraction of the level (0-0.2).
    """

    stroke: str
    start_s: float
    end_s: float
    level_kpa: float = 0.0
    freq_hz: float = 0.0
    depth: float | None = None
    compress_frac: float = 0.35
    direction: int = 1
    radius_frac: float = 0.5
    pulse_bpm: float = 0.0
    pulse_frac: float = 0.02

    def __post_init__(self) -> None:
        if self.stroke not in STROKE_CODES:
            raise ValueError(
                f"unknown stroke {self.stroke!r}; expected one of {', '.join(STROKES)}"
            )
        owner = f"{self.stroke} segment"
        for name in (
            "start_s",
            "end_s",
            "level_kpa",
            "freq_hz",
            "compress_frac",
            "radius_frac",
            "pulse_bpm",
            "pulse_frac",
        ):
            object.__setattr__(self, name, _number(owner, name, getattr(self, name)))
        owner = f"{self.stroke} segment at {self.start_s:g}-{self.end_s:g} s"
        if self.start_s < 0 or self.end_s <= self.start_s:
            raise ValueError(f"{owner}: needs 0 <= start_s < end_s")
        if self.stroke == "rest":
            if self.level_kpa != 0:
                raise ValueError(
                    f"{owner}: rest means no contact, so level_kpa must be 0, not "
                    f"{self.level_kpa:g} (use a hold at a low level for light contact)"
                )
        elif not 0 < self.level_kpa <= MAX_LEVEL_KPA:
            raise ValueError(f"{owner}: level_kpa must be in (0, {MAX_LEVEL_KPA:g}] kPa")
        lo, hi = _FREQ_RANGE_HZ
        if self.stroke in _RHYTHMIC:
            if not lo <= self.freq_hz <= hi:
                raise ValueError(f"{owner}: freq_hz must be {lo:g}-{hi:g} Hz, got {self.freq_hz:g}")
        elif self.freq_hz != 0:
            raise ValueError(f"{owner}: a {self.stroke} has no rhythm, freq_hz must be 0")
        depth = _DEFAULT_DEPTH[self.stroke] if self.depth is None else self.depth
        depth = _number(owner, "depth", depth)
        if self.stroke in _RHYTHMIC and not 0 < depth <= 0.95:
            raise ValueError(f"{owner}: depth must be in (0, 0.95], got {depth:g}")
        if self.stroke not in _RHYTHMIC and depth != 0:
            raise ValueError(f"{owner}: depth is for circular and kneading strokes only")
        object.__setattr__(self, "depth", depth)
        if not 0.1 <= self.compress_frac <= 0.9:
            raise ValueError(f"{owner}: compress_frac must be 0.1-0.9, got {self.compress_frac:g}")
        if self.direction not in (1, -1) or isinstance(self.direction, bool):
            raise ValueError(f"{owner}: direction must be +1 (ccw) or -1 (cw)")
        object.__setattr__(self, "direction", int(self.direction))
        if not 0 < self.radius_frac <= 0.8:
            raise ValueError(f"{owner}: radius_frac must be in (0, 0.8], got {self.radius_frac:g}")
        if self.pulse_bpm != 0:
            if self.stroke != "hold":
                raise ValueError(f"{owner}: pulse_bpm is a hold option")
            if not 30 <= self.pulse_bpm <= 220:
                raise ValueError(f"{owner}: pulse_bpm must be 0 or 30-220, got {self.pulse_bpm:g}")
        if not 0 <= self.pulse_frac <= 0.2:
            raise ValueError(f"{owner}: pulse_frac must be 0-0.2, got {self.pulse_frac:g}")

    @property
    def code(self) -> int:
        """Label code of the stroke (index into :data:`STROKES`)."""
        return STROKE_CODES[self.stroke]

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class Ramp:
    """A linear change of the working level, ``start_kpa`` at ``onset_s`` to ``end_kpa``
    at ``end_s``.

    Parameters
    ----------
    onset_s, end_s : float
        Seconds on the session clock; the level starts to change at ``onset_s``.
    start_kpa, end_kpa : float
        Working level before and after, kPa.
    rate_kpa_s : float
        ``(end_kpa - start_kpa) / (end_s - onset_s)``, kPa/s: positive deepens,
        negative releases. Use :meth:`from_rate` or :meth:`ending_at` to have it
        computed.
    """

    onset_s: float
    end_s: float
    start_kpa: float
    end_kpa: float
    rate_kpa_s: float

    def __post_init__(self) -> None:
        for name in ("onset_s", "end_s", "start_kpa", "end_kpa", "rate_kpa_s"):
            object.__setattr__(self, name, _number("ramp", name, getattr(self, name)))
        owner = f"ramp at {self.onset_s:g}-{self.end_s:g} s"
        if self.onset_s < 0 or self.end_s <= self.onset_s:
            raise ValueError(f"{owner}: needs 0 <= onset_s < end_s")
        if self.start_kpa < 0 or self.end_kpa < 0:
            raise ValueError(f"{owner}: levels must be >= 0 kPa")
        if self.rate_kpa_s == 0:
            raise ValueError(f"{owner}: rate_kpa_s must not be 0")
        change = self.end_kpa - self.start_kpa
        if abs(self.rate_kpa_s * self.duration_s - change) > _TOL_KPA * max(1.0, abs(change)):
            raise ValueError(
                f"{owner}: rate_kpa_s {self.rate_kpa_s:g} does not take {self.start_kpa:g} to "
                f"{self.end_kpa:g} kPa in {self.duration_s:g} s "
                f"({change / self.duration_s:.4g} kPa/s); build it with Ramp.from_rate"
            )

    @classmethod
    def from_rate(cls, onset_s: float, start_kpa: float, end_kpa: float, rate_kpa_s: float) -> Ramp:
        """The ramp from ``start_kpa`` at ``onset_s`` to ``end_kpa`` at ``rate_kpa_s``."""
        return cls(
            onset_s,
            onset_s + _ramp_duration(start_kpa, end_kpa, rate_kpa_s),
            start_kpa,
            end_kpa,
            rate_kpa_s,
        )

    @classmethod
    def ending_at(cls, end_s: float, start_kpa: float, end_kpa: float, rate_kpa_s: float) -> Ramp:
        """The ramp at ``rate_kpa_s`` that reaches ``end_kpa`` exactly at ``end_s``."""
        return cls(
            end_s - _ramp_duration(start_kpa, end_kpa, rate_kpa_s),
            end_s,
            start_kpa,
            end_kpa,
            rate_kpa_s,
        )

    @property
    def duration_s(self) -> float:
        return self.end_s - self.onset_s

    @property
    def is_release(self) -> bool:
        """Whether the ramp lowers the level (releasing never warns)."""
        return self.rate_kpa_s < 0


def _ramp_duration(start_kpa: float, end_kpa: float, rate_kpa_s: float) -> float:
    change = float(end_kpa) - float(start_kpa)
    if change == 0 or rate_kpa_s == 0 or (change > 0) != (rate_kpa_s > 0):
        raise ValueError(
            f"a ramp from {start_kpa:g} to {end_kpa:g} kPa needs a non-zero rate of that sign, "
            f"got {rate_kpa_s:g} kPa/s"
        )
    return change / float(rate_kpa_s)


@dataclass(frozen=True, eq=False)
class Truth:
    """Ground truth at given sample times (see :meth:`Script.truth`).

    Parameters
    ----------
    t : ndarray, shape (n,), float64, seconds
    labels : ndarray, shape (n,), int8
        Stroke label codes, index into :data:`STROKES`.
    segment : ndarray, shape (n,), int64
        Index of the script segment each sample falls in.
    level_kpa : ndarray, shape (n,), float64, kPa
        Noiseless working level (for rhythmic strokes the envelope of the cycle peaks).
    rate_kpa_s : ndarray, shape (n,), float64, kPa/s
        Scripted rate of change of the working level; 0 outside ramps.
    ramps : tuple of Ramp
        The script's ramps that overlap ``[t[0], t[-1]]``.
    """

    t: NDArray[np.float64]
    labels: NDArray[np.int8]
    segment: NDArray[np.int64]
    level_kpa: NDArray[np.float64]
    rate_kpa_s: NDArray[np.float64]
    ramps: tuple[Ramp, ...]

    @property
    def strokes(self) -> NDArray[np.str_]:
        """Stroke names per sample, shape (n,)."""
        return np.asarray(STROKES)[self.labels]


@dataclass(frozen=True)
class Script:
    """What the simulated person does: strokes covering ``[0, duration_s)`` and the ramps
    of the working level.

    The working level is the plateau ``level_kpa`` of the segment at that time, except
    inside a ramp, where it changes linearly at ``rate_kpa_s``. It must be continuous:
    wherever two neighbouring segments differ in level a ramp joins them, and ramps never
    run inside a rest (press-in and release belong to the contact segment).

    Parameters
    ----------
    segments : tuple of Segment
        Contiguous, starting at 0; all but the last at least :data:`TRANSITION_S` long.
    ramps : tuple of Ramp
        In time order, not overlapping.
    duration_s : float, optional
        Seconds; defaults to the end of the last segment (and must equal it).

    Build scripts with :meth:`scripted` (a literal list of steps), :meth:`random` (a
    random realistic session) or :meth:`demo`.
    """

    segments: tuple[Segment, ...]
    ramps: tuple[Ramp, ...] = ()
    duration_s: float | None = None

    def __post_init__(self) -> None:
        segments, ramps = tuple(self.segments), tuple(self.ramps)
        object.__setattr__(self, "segments", segments)
        object.__setattr__(self, "ramps", ramps)
        if not segments:
            raise ValueError("a script needs at least one segment")
        if not all(isinstance(s, Segment) for s in segments):
            raise ValueError("Script.segments must hold Segment objects")
        if not all(isinstance(r, Ramp) for r in ramps):
            raise ValueError("Script.ramps must hold Ramp objects")
        if segments[0].start_s != 0:
            raise ValueError(f"the first segment must start at 0 s, not {segments[0].start_s:g}")
        for a, b in pairwise(segments):
            if abs(b.start_s - a.end_s) > _TOL_S:
                raise ValueError(
                    f"segments must be contiguous: {a.stroke} ends at {a.end_s:g} s, "
                    f"the next {b.stroke} starts at {b.start_s:g} s"
                )
            if a.duration_s < TRANSITION_S - _TOL_S:
                raise ValueError(
                    f"the {a.stroke} at {a.start_s:g} s lasts {a.duration_s:g} s; every segment "
                    f"but the last needs at least TRANSITION_S = {TRANSITION_S:g} s"
                )
        end_s = segments[-1].end_s
        duration = (
            end_s if self.duration_s is None else _number("script", "duration_s", self.duration_s)
        )
        if abs(duration - end_s) > 1e-6:
            raise ValueError(f"duration_s {duration:g} must equal the last segment's end {end_s:g}")
        object.__setattr__(self, "duration_s", duration)
        for r0, r1 in pairwise(ramps):
            if r1.onset_s < r0.end_s - _TOL_S:
                raise ValueError(
                    f"ramps must be in time order and not overlap: {r0.onset_s:g}-{r0.end_s:g} s "
                    f"and {r1.onset_s:g}-{r1.end_s:g} s"
                )
        if ramps and ramps[-1].end_s > duration + _TOL_S:
            raise ValueError(
                f"a ramp ends at {ramps[-1].end_s:g} s, after the script ({duration:g} s)"
            )
        _check_levels(segments, ramps, duration)

    # -- ground truth ---------------------------------------------------------------------------

    @property
    def length_s(self) -> float:
        """``duration_s`` as a plain float (it is never None after construction)."""
        return cast(float, self.duration_s)

    def segment_indices(self, t: ArrayLike) -> NDArray[np.int64]:
        """Index of the segment each time falls in; times outside the script clamp to the
        first or last segment. ``t``: seconds, any shape."""
        k = np.searchsorted(self._starts, np.asarray(t, dtype=np.float64), side="right") - 1
        return np.clip(k, 0, len(self.segments) - 1).astype(np.int64)

    def labels_at(self, t: ArrayLike) -> NDArray[np.int8]:
        """Stroke label code (index into :data:`STROKES`) at times ``t`` (seconds, any
        shape); same shape as ``t``."""
        return self._codes[self.segment_indices(t)]

    def level_at(self, t: ArrayLike) -> NDArray[np.float64]:
        """Noiseless working level at times ``t`` (seconds, any shape), kPa."""
        t_arr = np.asarray(t, dtype=np.float64)
        onset, end, start_kpa, end_kpa, rate = self._ramp_table
        if onset.size == 0:
            return np.full(t_arr.shape, self.segments[0].level_kpa)
        r = np.searchsorted(onset, t_arr, side="right") - 1
        rc = np.maximum(r, 0)
        inside = (r >= 0) & (t_arr < end[rc])
        ramp_kpa = start_kpa[rc] + rate[rc] * (t_arr - onset[rc])
        lo = np.minimum(start_kpa[rc], end_kpa[rc])
        hi = np.maximum(start_kpa[rc], end_kpa[rc])
        ramp_kpa = np.minimum(np.maximum(ramp_kpa, lo), hi)
        plateau = np.where(r >= 0, end_kpa[rc], self.segments[0].level_kpa)
        return np.where(inside, ramp_kpa, plateau)

    def rate_at(self, t: ArrayLike) -> NDArray[np.float64]:
        """Scripted rate of change of the working level at times ``t`` (seconds, any
        shape), kPa/s; 0 outside ramps."""
        t_arr = np.asarray(t, dtype=np.float64)
        onset, end, _, _, rate = self._ramp_table
        if onset.size == 0:
            return np.zeros(t_arr.shape)
        r = np.searchsorted(onset, t_arr, side="right") - 1
        rc = np.maximum(r, 0)
        return np.where((r >= 0) & (t_arr < end[rc]), rate[rc], 0.0)

    def ramps_between(self, t0_s: float, t1_s: float) -> tuple[Ramp, ...]:
        """The ramps that overlap ``[t0_s, t1_s]``."""
        return tuple(r for r in self.ramps if r.end_s > t0_s and r.onset_s <= t1_s)

    def segment_at(self, t_s: float) -> Segment:
        """The segment at time ``t_s`` (clamped to the script)."""
        return self.segments[int(self.segment_indices(t_s))]

    def truth(self, t: ArrayLike) -> Truth:
        """Labels, segment indices, working level and its rate at sample times ``t``
        (seconds, shape (n,))."""
        t_arr = np.atleast_1d(np.asarray(t, dtype=np.float64))
        segment = self.segment_indices(t_arr)
        ramps = self.ramps_between(float(t_arr.min()), float(t_arr.max())) if t_arr.size else ()
        return Truth(
            t_arr,
            self._codes[segment],
            segment,
            self.level_at(t_arr),
            self.rate_at(t_arr),
            ramps,
        )

    # -- editing and serialising ----------------------------------------------------------------

    def clip(self, duration_s: float) -> Script:
        """The first ``duration_s`` seconds of this script (a ramp running at the cut is
        truncated at the level it has reached)."""
        cut = _number("Script.clip", "duration_s", duration_s)
        if cut <= 0 or cut > self.length_s + _TOL_S:
            raise ValueError(
                f"can clip a {self.length_s:g} s script to 0-{self.length_s:g} s, not {cut:g} s"
            )
        if abs(cut - self.length_s) <= _TOL_S:
            return self
        segments = [s for s in self.segments if s.start_s < cut]
        segments[-1] = replace(segments[-1], end_s=cut)
        ramps: list[Ramp] = []
        for r in self.ramps:
            if r.onset_s >= cut:
                break
            if r.end_s <= cut:
                ramps.append(r)
            else:
                reached_kpa = r.start_kpa + r.rate_kpa_s * (cut - r.onset_s)
                ramps.append(Ramp(r.onset_s, cut, r.start_kpa, reached_kpa, r.rate_kpa_s))
        return Script(tuple(segments), tuple(ramps), cut)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description; :meth:`from_dict` reads it back."""
        return {
            "duration_s": self.duration_s,
            "segments": [asdict(s) for s in self.segments],
            "ramps": [asdict(r) for r in self.ramps],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Script:
        """The script described by :meth:`to_dict`'s output."""
        return cls(
            tuple(Segment(**s) for s in data["segments"]),
            tuple(Ramp(**r) for r in data["ramps"]),
            data["duration_s"],
        )

    # -- builders -------------------------------------------------------------------------------

    @classmethod
    def scripted(
        cls,
        steps: Iterable[Step],
        *,
        ramp_kpa_s: float = 8.0,
        release_kpa_s: float = -60.0,
        release_at_end: bool = False,
    ) -> Script:
        """A fixed script from a literal list of steps, ramps added where levels change.

        Parameters
        ----------
        steps : iterable of tuple
            Each ``(stroke, duration_s[, level_kpa[, freq_hz]][, options])``; ``options``
            is a dict of :class:`Segment` options (``depth``, ``compress_frac``,
            ``direction``, ``radius_frac``, ``pulse_bpm``, ``pulse_frac``) plus
            ``ramp_kpa_s`` (rate to reach this step's level) and ``release_kpa_s`` (rate
            of the release into a following rest).
        ramp_kpa_s : float
            Default press-in / deepening rate, kPa/s (> 0). Easing off to a lower level
            uses ``-|ramp_kpa_s|`` of the step if given, else ``release_kpa_s``.
        release_kpa_s : float
            Default release rate into a rest, kPa/s (< 0).
        release_at_end : bool
            Release the last step to 0 kPa at the end of the script.

        A level change ramps at the start of the step that reaches the new level; a
        release ramps at the end of the contact step before a rest. ``ValueError`` says
        which step does not fit.

        Examples
        --------
        >>> steps = [("rest", 3), ("hold", 10, 40), ("hold", 6, 80, {"ramp_kpa_s": 60})]
        >>> s = Script.scripted(steps)
        >>> [(r.onset_s, r.rate_kpa_s) for r in s.ramps]
        [(3.0, 8.0), (13.0, 60.0)]
        """
        items = _scripted_items(
            list(steps),
            ramp_kpa_s=ramp_kpa_s,
            release_kpa_s=release_kpa_s,
            release_at_end=release_at_end,
        )
        return _script_from_items(iter(items), None)

    @classmethod
    def random(
        cls,
        seed: int,
        duration_s: float = 300.0,
        *,
        fast_ramp_prob: float = 0.15,
        max_level_kpa: float = 150.0,
        warmup_s: float = 120.0,
        pulse_prob: float = 0.2,
    ) -> Script:
        """A random realistic session.

        Episodes of 1-3 contact strokes between rests of 2-8 s: holds of 4-20 s,
        circular strokes (0.5-1.5 Hz) and kneading (0.4-2 Hz, compress faster or slower
        than release) of 6-20 s, often deepening the same stroke. Levels are 15 kPa up to
        a ceiling that rises from 40 kPa to ``max_level_kpa`` over ``warmup_s`` (a gentle
        start). Deepening ramps are slow (3-12 kPa/s, longer changes at up to
        ``max_level/15`` kPa/s) or, with probability ``fast_ramp_prob``, fast
        (40-150 kPa/s); the session's first press-in is always slow. Easing off runs at
        -5 to -30 kPa/s, a release into rest at -40 to -150 kPa/s (30 %: -5 to -20).

        The script is prefix-stable: ``Script.random(s, a)`` equals
        ``Script.random(s, b).clip(a)`` for ``a < b``.
        """
        style = _Style.checked(fast_ramp_prob, max_level_kpa, warmup_s, pulse_prob)
        seed = _check_seed(seed, "seed")
        duration = _check_duration(duration_s)
        return _script_from_items(_random_items(np.random.default_rng(seed), style), duration)

    @classmethod
    def demo(
        cls, seed: int = 0, duration_s: float = 120.0, *, fast_ramp_prob: float = 0.15
    ) -> Script:
        """The demo session: :data:`DEMO_STEPS` (every stroke, a slow and a fast ramp,
        a pulse, in 57 s) then a random session seeded by ``seed``.

        An endless :class:`SimulatedPad` plays the same session, so
        ``Script.demo(seed, d)`` is the truth of its first ``d`` seconds.
        """
        style = _Style.checked(fast_ramp_prob, 150.0, 120.0, 0.2)
        seed = _check_seed(seed, "seed")
        return _script_from_items(_demo_items(seed, style), _check_duration(duration_s))

    # -- compiled tables ------------------------------------------------------------------------

    @cached_property
    def _starts(self) -> NDArray[np.float64]:
        return np.array([s.start_s for s in self.segments], dtype=np.float64)

    @cached_property
    def _codes(self) -> NDArray[np.int8]:
        return np.array([s.code for s in self.segments], dtype=np.int8)

    @cached_property
    def _ramp_table(self) -> tuple[NDArray[np.float64], ...]:
        table = np.array(
            [(r.onset_s, r.end_s, r.start_kpa, r.end_kpa, r.rate_kpa_s) for r in self.ramps],
            dtype=np.float64,
        ).reshape(-1, 5)
        return tuple(np.ascontiguousarray(table[:, i]) for i in range(5))


def _check_levels(segments: Sequence[Segment], ramps: Sequence[Ramp], duration_s: float) -> None:
    """Raise ``ValueError`` unless the working level is continuous and rests stay at 0."""
    starts = np.array([s.start_s for s in segments])

    def overlapping(a: float, b: float) -> list[Segment]:
        first = max(int(np.searchsorted(starts, a, side="right")) - 1, 0)
        last = int(np.searchsorted(starts, b - _TOL_S, side="left")) - 1
        found = segments[first : last + 1]
        return [s for s in found if min(s.end_s, b) - max(s.start_s, a) > _TOL_S]

    def close(a: float, b: float) -> bool:
        return abs(a - b) <= _TOL_KPA * max(1.0, abs(a), abs(b))

    for ramp in ramps:
        for seg in overlapping(ramp.onset_s, ramp.end_s):
            if seg.stroke == "rest":
                raise ValueError(
                    f"the ramp at {ramp.onset_s:g}-{ramp.end_s:g} s runs into the rest at "
                    f"{seg.start_s:g}-{seg.end_s:g} s; rest means no contact, so press-in and "
                    "release ramps belong to the contact segments next to it"
                )
    for i in range(len(ramps) + 1):
        before = ramps[i - 1] if i > 0 else None
        after = ramps[i] if i < len(ramps) else None
        a = before.end_s if before else 0.0
        b = after.onset_s if after else duration_s
        if b - a <= _TOL_S:
            if before and after and not close(before.end_kpa, after.start_kpa):
                raise ValueError(
                    f"the ramp ending at {a:g} s reaches {before.end_kpa:g} kPa but the next "
                    f"starts from {after.start_kpa:g} kPa"
                )
            continue
        plateau = overlapping(a, b)
        for x, y in pairwise(plateau):
            if not close(x.level_kpa, y.level_kpa):
                raise ValueError(
                    f"the working level jumps from {x.level_kpa:g} kPa ({x.stroke}) to "
                    f"{y.level_kpa:g} kPa ({y.stroke}) at {y.start_s:g} s with no ramp between "
                    "them; add a Ramp (Script.scripted adds them for you)"
                )
        level = plateau[0].level_kpa
        if before and not close(before.end_kpa, level):
            raise ValueError(
                f"the ramp ending at {a:g} s reaches {before.end_kpa:g} kPa but the "
                f"{plateau[0].stroke} after it is at {level:g} kPa"
            )
        if after and not close(after.start_kpa, level):
            raise ValueError(
                f"the ramp starting at {b:g} s starts from {after.start_kpa:g} kPa but the "
                f"{plateau[-1].stroke} before it is at {level:g} kPa"
            )


# -- script generators ---------------------------------------------------------------------------

_Item: TypeAlias = tuple[Segment, tuple[Ramp, ...]]  # a segment with the ramps inside it

_STEP_OPTIONS: Final = frozenset(
    {
        "depth",
        "compress_frac",
        "direction",
        "radius_frac",
        "pulse_bpm",
        "pulse_frac",
        "ramp_kpa_s",
        "release_kpa_s",
    }
)

DEMO_STEPS: Final[tuple[Step, ...]] = (
    ("rest", 3.0),
    ("hold", 10.0, 30.0, {"ramp_kpa_s": 5.0}),  # gentle press-in, 6 s
    ("hold", 8.0, 60.0, {"ramp_kpa_s": 6.0}),  # deepen the hold slowly
    ("circular", 10.0, 60.0, 1.0, {"depth": 0.3}),
    ("kneading", 12.0, 75.0, 0.8, {"ramp_kpa_s": 4.0, "compress_frac": 0.35}),
    ("rest", 4.0),
    ("hold", 10.0, 90.0, {"ramp_kpa_s": 90.0, "release_kpa_s": -40.0, "pulse_bpm": 72.0}),
)
"""The scripted start of :meth:`Script.demo` (57 s, ending released): every stroke, slow
deepening, a fast 90 kPa/s press-in and a hold with a pulse."""


def _script_from_items(items: Iterator[_Item], duration_s: float | None) -> Script:
    segments: list[Segment] = []
    ramps: list[Ramp] = []
    for segment, inner in items:
        if duration_s is not None and segment.start_s >= duration_s:
            break
        segments.append(segment)
        ramps.extend(inner)
        if duration_s is not None and segment.end_s >= duration_s:
            break
    script = Script(tuple(segments), tuple(ramps))
    if duration_s is None:
        return script
    if duration_s > script.length_s + _TOL_S:
        raise ValueError(f"the script ends at {script.length_s:g} s, before {duration_s:g} s")
    return script.clip(duration_s)


@dataclass(frozen=True)
class _ParsedStep:
    stroke: str
    duration_s: float
    level_kpa: float
    freq_hz: float
    options: dict[str, Any]
    ramp_kpa_s: float | None
    release_kpa_s: float | None


def _parse_step(i: int, step: Step) -> _ParsedStep:
    usage = (
        f"step {i}: expected (stroke, duration_s[, level_kpa[, freq_hz]][, options]), got {step!r}"
    )
    if not isinstance(step, tuple | list) or not step:
        raise ValueError(usage)
    values = list(step)
    options = dict(values.pop()) if isinstance(values[-1], Mapping) else {}
    if not 2 <= len(values) <= 4 or not isinstance(values[0], str):
        raise ValueError(usage)
    unknown = set(options) - _STEP_OPTIONS
    if unknown:
        raise ValueError(
            f"step {i}: unknown options {sorted(unknown)}; known: {sorted(_STEP_OPTIONS)}"
        )
    numbers = [
        _number(f"step {i}", name, v)
        for name, v in zip(("duration_s", "level_kpa", "freq_hz"), values[1:], strict=False)
    ]
    numbers += [0.0] * (3 - len(numbers))
    ramp = options.pop("ramp_kpa_s", None)
    release = options.pop("release_kpa_s", None)
    return _ParsedStep(
        values[0],
        numbers[0],
        numbers[1],
        numbers[2],
        options,
        None if ramp is None else _number(f"step {i}", "ramp_kpa_s", ramp),
        None if release is None else _number(f"step {i}", "release_kpa_s", release),
    )


def _scripted_items(
    steps: Sequence[Step],
    *,
    ramp_kpa_s: float,
    release_kpa_s: float,
    release_at_end: bool,
    t0_s: float = 0.0,
) -> list[_Item]:
    ramp_kpa_s = _number("Script.scripted", "ramp_kpa_s", ramp_kpa_s)
    release_kpa_s = _number("Script.scripted", "release_kpa_s", release_kpa_s)
    if ramp_kpa_s <= 0:
        raise ValueError(f"ramp_kpa_s must be > 0 kPa/s, got {ramp_kpa_s:g}")
    if release_kpa_s >= 0:
        raise ValueError(
            f"release_kpa_s must be < 0 kPa/s (a release lowers), got {release_kpa_s:g}"
        )
    parsed = [_parse_step(i, s) for i, s in enumerate(steps)]
    if not parsed:
        raise ValueError("a script needs at least one step")
    items: list[_Item] = []
    t, level = t0_s, 0.0
    for i, st in enumerate(parsed):
        end = t + st.duration_s
        ramps: list[Ramp] = []
        next_level = 0.0
        following = parsed[i + 1] if i + 1 < len(parsed) else None
        try:
            if st.stroke != "rest" and st.level_kpa != level:
                if st.level_kpa > level:
                    rate = abs(st.ramp_kpa_s) if st.ramp_kpa_s is not None else ramp_kpa_s
                else:
                    rate = -abs(st.ramp_kpa_s) if st.ramp_kpa_s is not None else release_kpa_s
                ramp = Ramp.from_rate(t, level, st.level_kpa, rate)
                if ramp.end_s > end + _TOL_S:
                    raise ValueError(
                        f"going from {level:g} to {st.level_kpa:g} kPa at {abs(rate):g} kPa/s "
                        f"takes {ramp.duration_s:.3g} s, longer than the step; make the step "
                        "longer or the ramp faster (ramp_kpa_s)"
                    )
                ramps.append(ramp)
            releases = following.stroke == "rest" if following else release_at_end
            if st.stroke != "rest" and releases and st.level_kpa > 0:
                rate = -abs(st.release_kpa_s) if st.release_kpa_s is not None else release_kpa_s
                release = Ramp.ending_at(end, st.level_kpa, 0.0, rate)
                if release.onset_s < (ramps[-1].end_s if ramps else t) - _TOL_S:
                    raise ValueError(
                        f"releasing {st.level_kpa:g} kPa at {rate:g} kPa/s takes "
                        f"{release.duration_s:.3g} s, more than the step leaves; make the step "
                        "longer or the release faster (release_kpa_s)"
                    )
                ramps.append(release)
            elif st.stroke != "rest":
                next_level = st.level_kpa
            segment = Segment(st.stroke, t, end, st.level_kpa, st.freq_hz, **st.options)
        except (TypeError, ValueError) as err:
            raise ValueError(f"step {i} {steps[i]!r}: {err}") from err
        items.append((segment, tuple(ramps)))
        t, level = end, next_level
    return items


@dataclass(frozen=True)
class _Style:
    """How :meth:`Script.random` draws a session."""

    fast_ramp_prob: float
    max_level_kpa: float
    warmup_s: float
    pulse_prob: float
    min_level_kpa: float = 15.0
    start_cap_kpa: float = 40.0
    max_slow_ramp_s: float = 15.0

    @classmethod
    def checked(
        cls, fast_ramp_prob: float, max_level_kpa: float, warmup_s: float, pulse_prob: float
    ) -> _Style:
        for name, p in (("fast_ramp_prob", fast_ramp_prob), ("pulse_prob", pulse_prob)):
            if not 0 <= _number("Script.random", name, p) <= 1:
                raise ValueError(f"{name} must be a probability 0-1, got {p!r}")
        if not 20 <= _number("Script.random", "max_level_kpa", max_level_kpa) <= MAX_LEVEL_KPA:
            raise ValueError(
                f"max_level_kpa must be 20-{MAX_LEVEL_KPA:g} kPa, got {max_level_kpa!r}"
            )
        if _number("Script.random", "warmup_s", warmup_s) < 0:
            raise ValueError(f"warmup_s must be >= 0 s, got {warmup_s!r}")
        return cls(float(fast_ramp_prob), float(max_level_kpa), float(warmup_s), float(pulse_prob))

    def cap_kpa(self, t_s: float) -> float:
        """Highest level drawn at session time ``t_s``: rises over the warm-up."""
        start = min(self.start_cap_kpa, self.max_level_kpa)
        progress = 1.0 if self.warmup_s == 0 else min(1.0, t_s / self.warmup_s)
        return start + (self.max_level_kpa - start) * progress


def _random_stroke(
    rng: np.random.Generator, style: _Style
) -> tuple[dict[str, Any], tuple[float, float]]:
    """Stroke options for a new contact segment and its duration range, seconds."""
    stroke = str(rng.choice(("hold", "circular", "kneading"), p=(0.4, 0.3, 0.3)))
    if stroke == "hold":
        options: dict[str, Any] = {"stroke": "hold"}
        if rng.random() < style.pulse_prob:
            options["pulse_bpm"] = round(float(rng.uniform(55.0, 95.0)), 1)
            options["pulse_frac"] = round(float(rng.uniform(0.01, 0.03)), 4)
        return options, (4.0, 20.0)
    if stroke == "circular":
        return {
            "stroke": "circular",
            "freq_hz": round(float(rng.uniform(0.5, 1.5)), 2),
            "depth": round(float(rng.uniform(0.2, 0.45)), 3),
            "direction": int(rng.choice((-1, 1))),
            "radius_frac": round(float(rng.uniform(0.3, 0.6)), 3),
        }, (6.0, 20.0)
    fast_compress = rng.random() < 0.7
    compress = rng.uniform(0.25, 0.4) if fast_compress else rng.uniform(0.6, 0.75)
    return {
        "stroke": "kneading",
        "freq_hz": round(float(rng.uniform(0.4, 2.0)), 2),
        "depth": round(float(rng.uniform(0.6, 0.9)), 3),
        "compress_frac": round(float(compress), 3),
    }, (6.0, 20.0)


def _random_items(
    rng: np.random.Generator, style: _Style, t0_s: float = 0.0, gentle: bool = True
) -> Iterator[_Item]:
    """An endless random session from ``t0_s`` (starting with a rest)."""
    t = t0_s
    first_press = gentle
    while True:
        rest_s = round(float(rng.uniform(2.0, 8.0)), 2)
        yield Segment("rest", t, round(t + rest_s, 6)), ()
        t = round(t + rest_s, 6)
        n_contact = int(rng.choice(3, p=(0.45, 0.35, 0.2))) + 1
        level = 0.0
        proto: dict[str, Any] | None = None
        span = (4.0, 20.0)
        for j in range(n_contact):
            cap = style.cap_kpa(t)
            if proto is not None and rng.random() < 0.4:  # the same stroke, deeper or eased off
                if level <= cap - 10.0:
                    target = min(cap, level + float(rng.uniform(10.0, 40.0)))
                else:
                    target = max(style.min_level_kpa, level * float(rng.uniform(0.6, 0.85)))
            else:
                proto, span = _random_stroke(rng, style)
                target = float(rng.uniform(style.min_level_kpa, cap))
            target = round(target * 2.0) / 2.0
            ramps: list[Ramp] = []
            if target != level:
                if target > level:
                    fast = not first_press and rng.random() < style.fast_ramp_prob
                    rate = round(
                        float(rng.uniform(40.0, 150.0) if fast else rng.uniform(3.0, 12.0)), 1
                    )
                    if not fast:
                        rate = max(
                            rate, math.ceil((target - level) / style.max_slow_ramp_s * 10) / 10
                        )
                    first_press = False
                else:
                    rate = -round(float(rng.uniform(5.0, 30.0)), 1)
                ramps.append(Ramp.from_rate(t, level, target, rate))
            release_rate = 0.0
            if j == n_contact - 1:
                quick = rng.random() < 0.7
                release_rate = -round(
                    float(rng.uniform(40.0, 150.0) if quick else rng.uniform(5.0, 20.0)), 1
                )
            busy_s = sum(r.duration_s for r in ramps) + (
                target / -release_rate if release_rate else 0.0
            )
            duration = math.ceil(max(float(rng.uniform(*span)), busy_s + 2.0) * 100.0) / 100.0
            end = round(t + duration, 6)
            if release_rate:
                ramps.append(Ramp.ending_at(end, target, 0.0, release_rate))
            yield Segment(start_s=t, end_s=end, level_kpa=target, **proto), tuple(ramps)
            t, level = end, target


def _demo_items(seed: int, style: _Style) -> Iterator[_Item]:
    intro = _scripted_items(DEMO_STEPS, ramp_kpa_s=8.0, release_kpa_s=-60.0, release_at_end=True)
    rng = np.random.default_rng([seed, _TAG_DEMO])
    return chain(intro, _random_items(rng, style, t0_s=intro[-1][0].end_s, gentle=False))


class _ScriptFeed:
    """An endless script, generated as far as it is needed."""

    def __init__(self, items: Iterator[_Item]) -> None:
        self._items = items
        self._segments: list[Segment] = []
        self._ramps: list[Ramp] = []
        self._script: Script | None = None

    def covering(self, t_s: float) -> Script:
        """The script so far, generated at least 30 s beyond ``t_s``."""
        if self._script is None or self._script.length_s <= t_s:
            while not self._segments or self._segments[-1].end_s < t_s + 30.0:
                segment, ramps = next(self._items)
                self._segments.append(segment)
                self._ramps.extend(ramps)
            self._script = Script(tuple(self._segments), tuple(self._ramps))
        return self._script


# -- physics --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Config:
    rate_hz: float
    channels: int
    accel: bool
    area_cm2: float
    noise: bool
    noise_n: float
    quant_n: float
    spike_rate_hz: float
    accel_noise_ms2: float
    pad_side_mm: float

    @property
    def n_columns(self) -> int:
        return self.channels + (3 if self.accel else 0)


def _make_config(
    rate_hz: float,
    channels: int,
    accel: bool,
    area_cm2: float,
    noise: bool,
    noise_n: float,
    quant_n: float,
    spike_rate_hz: float,
    accel_noise_ms2: float,
    pad_side_mm: float,
) -> _Config:
    lo, hi = RATE_RANGE_HZ
    rate = _number("simulator", "rate_hz", rate_hz)
    if not lo <= rate <= hi:
        raise ValueError(f"rate_hz must be {lo:g}-{hi:g} Hz for the simulated pad, got {rate_hz!r}")
    if isinstance(channels, bool) or channels not in (1, 4):
        raise ValueError(
            f"channels must be 1 (one load cell) or 4 (load cells at the corners of a square "
            f"pad), got {channels!r}"
        )
    area = _number("simulator", "area_cm2", area_cm2)
    if area <= 0:
        raise ValueError(
            "area_cm2 must be a positive contact area in cm² (a thumb is about 2), "
            f"got {area_cm2!r}"
        )
    values = {
        "noise_n": noise_n,
        "quant_n": quant_n,
        "spike_rate_hz": spike_rate_hz,
        "accel_noise_ms2": accel_noise_ms2,
    }
    for name, value in values.items():
        if _number("simulator", name, value) < 0:
            raise ValueError(f"{name} must be >= 0, got {value!r}")
    if spike_rate_hz > rate / 10:
        raise ValueError(
            f"spike_rate_hz must be at most rate_hz / 10 (rare glitches), got {spike_rate_hz!r}"
        )
    if _number("simulator", "pad_side_mm", pad_side_mm) <= 0:
        raise ValueError(f"pad_side_mm must be positive, got {pad_side_mm!r}")
    return _Config(
        rate,
        int(channels),
        bool(accel),
        area,
        bool(noise),
        float(noise_n),
        float(quant_n),
        float(spike_rate_hz),
        float(accel_noise_ms2),
        float(pad_side_mm),
    )


def _check_seed(seed: Any, name: str) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"{name} must be a non-negative int, got {seed!r}")
    return int(seed)


def _check_duration(duration_s: Any) -> float:
    duration = _number("simulator", "duration_s", duration_s)
    if duration <= 0:
        raise ValueError(f"duration_s must be positive seconds, got {duration_s!r}")
    return duration


def _n_samples(duration_s: float, rate_hz: float) -> int:
    n = round(duration_s * rate_hz)
    if n < 1:
        raise ValueError(f"duration_s {duration_s:g} s holds no sample at {rate_hz:g} Hz")
    return int(n)


def _sines(
    t: NDArray[np.float64], freq_hz: NDArray[np.float64], phase: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``sin(2π f t + φ)`` for each (f, φ): shape (n, k)."""
    return np.sin(_TWO_PI * t[:, None] * freq_hz[None, :] + phase[None, :])


def _pulse_raw(cycles: NDArray[np.float64]) -> NDArray[np.float64]:
    u = np.mod(cycles, 1.0)
    systolic = np.mod(u - 0.12 + 0.5, 1.0) - 0.5
    dicrotic = np.mod(u - 0.42 + 0.5, 1.0) - 0.5
    return np.exp(-((systolic / 0.06) ** 2)) + 0.4 * np.exp(-((dicrotic / 0.09) ** 2))


_PULSE_GRID = _pulse_raw(np.arange(4096) / 4096.0)
_PULSE_MEAN: Final = float(_PULSE_GRID.mean())
_PULSE_P2P: Final = float(_PULSE_GRID.max() - _PULSE_GRID.min())


def _pulse_wave(cycles: NDArray[np.float64]) -> NDArray[np.float64]:
    """Arterial pulse (systolic peak, dicrotic wave), zero mean, peak-to-peak 1."""
    return (_pulse_raw(cycles) - _PULSE_MEAN) / _PULSE_P2P


def _knead_shape(u: NDArray[np.float64], compress_frac: float) -> NDArray[np.float64]:
    """Compress/release cycle: 0 at the trough (u = 0), 1 at the peak (u = compress_frac)."""
    rising = 0.5 - 0.5 * np.cos(np.pi * u / compress_frac)
    falling = 0.5 + 0.5 * np.cos(np.pi * (u - compress_frac) / (1.0 - compress_frac))
    return np.where(u < compress_frac, rising, falling)


@lru_cache(maxsize=512)
def _cycle_page(key: tuple[int, ...], page: int) -> NDArray[np.float64]:
    rng = np.random.default_rng([*key, page])
    return np.clip(rng.standard_normal((_CYCLE_PAGE, 2)), -2.5, 2.5)


def _cycle_values(key: tuple[int, ...], k: NDArray[np.int64]) -> NDArray[np.float64]:
    """Two standard-normal values per stroke cycle ``k``, reproducible: shape (n, 2)."""
    page = k // _CYCLE_PAGE
    first, last = int(page.min()), int(page.max())
    if first == last:
        return _cycle_page(key, first)[k - first * _CYCLE_PAGE]
    out = np.empty((k.shape[0], 2))
    for p in range(first, last + 1):
        sel = page == p
        out[sel] = _cycle_page(key, p)[k[sel] - p * _CYCLE_PAGE]
    return out


@dataclass(frozen=True, eq=False)
class _Stroke:
    """A segment's realisation: its options plus the person's randomness."""

    stroke: str
    group_s: float  # start of the run of segments sharing this rhythm: phase origin
    freq_hz: float
    c0: float  # phase at group_s, cycles (the cycle peak)
    wob_b: NDArray[np.float64]  # phase wander, cycles, shape (3,)
    wob_nu: NDArray[np.float64]  # Hz
    wob_psi: NDArray[np.float64]  # rad
    cycle_key: tuple[int, ...]
    amp_jitter: float
    depth_jitter: float
    depth: float
    compress_frac: float
    direction: int
    radius: float  # CoP circle radius, pad half-widths
    theta0: float  # rad
    centre: NDArray[np.float64]  # CoP centre, pad half-widths, shape (2,)
    wobble: float  # CoP wobble, pad half-widths
    wobble_psi: NDArray[np.float64]
    cop_nu: NDArray[np.float64]
    hand_radius_m: float
    knead_m: float
    pulse_bpm: float
    pulse_frac: float

    @classmethod
    def draw(cls, segment: Segment, group_s: float, group: int, seed: int) -> _Stroke:
        rng = np.random.default_rng([seed, _TAG_GROUP, group])
        wob_nu = rng.uniform(0.03, 0.2, 3)
        wob_psi = rng.uniform(0.0, _TWO_PI, 3)
        wob_frac = rng.uniform(0.02, 0.05)  # peak deviation of the instantaneous rhythm
        centre = rng.uniform(-0.25, 0.25, 2)
        theta0 = float(rng.uniform(0.0, _TWO_PI))
        hand_radius_m = float(rng.uniform(0.01, 0.03))
        knead_m = float(rng.uniform(0.008, 0.02))
        wobble = float(rng.uniform(0.02, 0.05))
        wobble_psi = rng.uniform(0.0, _TWO_PI, 2)
        cop_nu = rng.uniform(0.05, 0.15, 2)
        amp_jitter = float(rng.uniform(0.015, 0.04))
        depth_jitter = float(rng.uniform(0.03, 0.08))
        f = segment.freq_hz
        wob_b = wob_frac * f / (3.0 * _TWO_PI * wob_nu)
        room = 0.9 - segment.radius_frac  # keep the CoP circle inside the pad
        biggest = float(np.max(np.abs(centre)))
        if biggest > room:
            centre = centre * max(room, 0.0) / biggest
        return cls(
            stroke=segment.stroke,
            group_s=group_s,
            freq_hz=f,
            c0=segment.compress_frac if segment.stroke == "kneading" else 0.0,
            wob_b=wob_b,
            wob_nu=wob_nu,
            wob_psi=wob_psi,
            cycle_key=(seed, _TAG_CYCLE, group),
            amp_jitter=amp_jitter,
            depth_jitter=depth_jitter,
            depth=float(segment.depth or 0.0),
            compress_frac=segment.compress_frac,
            direction=segment.direction,
            radius=segment.radius_frac,
            theta0=theta0,
            centre=centre,
            wobble=wobble,
            wobble_psi=wobble_psi,
            cop_nu=cop_nu,
            hand_radius_m=hand_radius_m,
            knead_m=knead_m,
            pulse_bpm=segment.pulse_bpm,
            pulse_frac=segment.pulse_frac,
        )

    def cycles(self, tau: NDArray[np.float64]) -> NDArray[np.float64]:
        """Stroke phase in cycles at ``tau`` seconds after the group start, shape (n,)."""
        wander = (_sines(tau, self.wob_nu, self.wob_psi) - np.sin(self.wob_psi)) * self.wob_b
        c: NDArray[np.float64] = self.c0 + self.freq_hz * tau + wander.sum(axis=1)
        return c

    def jitter(
        self, c: NDArray[np.float64], peak_offset: float
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Cycle-to-cycle peak factor (≈1) and depth variation (≈N(0,1)), interpolated
        between cycle peaks; shapes (n,)."""
        x = np.maximum(c - peak_offset, 0.0)
        k = np.floor(x).astype(np.int64)
        frac = (x - k)[:, None]
        v = (
            _cycle_values(self.cycle_key, k) * (1.0 - frac)
            + _cycle_values(self.cycle_key, k + 1) * frac
        )
        return 1.0 + self.amp_jitter * v[:, 0], v[:, 1]

    def components(self, t: NDArray[np.float64], motion_only: bool = False) -> NDArray[np.float64]:
        """Shape factor, CoP u, v (pad half-widths), hand x, y, z (m) and contact (0/1)
        at times ``t``: shape (n, 7). ``motion_only`` leaves shape and CoP at 0."""
        out = np.zeros((t.shape[0], 7))
        if self.stroke == "rest":
            out[:, 0] = 1.0
            return out
        out[:, 6] = 1.0
        tau = t - self.group_s
        if self.stroke == "hold":
            if motion_only:  # a hold moves the hand by tremor only (added by the physiology)
                return out
            shape = np.ones_like(t)
            if self.pulse_bpm > 0:
                shape = shape + self.pulse_frac * _pulse_wave(self.pulse_bpm / 60.0 * t)
            out[:, 0] = shape
            out[:, 1:3] = self.centre + self.wobble * _sines(tau, self.cop_nu, self.wobble_psi)
            return out
        c = self.cycles(tau)
        if self.stroke == "circular":
            theta = self.direction * _TWO_PI * c + self.theta0
            cos, sin = np.cos(theta), np.sin(theta)
            out[:, 3] = self.hand_radius_m * (cos - math.cos(self.theta0))
            out[:, 4] = self.hand_radius_m * (sin - math.sin(self.theta0))
            if motion_only:
                return out
            factor, depth = self._cycle_factor_depth(c)
            out[:, 0] = factor * (1.0 - depth * (0.5 - 0.5 * np.cos(_TWO_PI * c)))
            out[:, 1] = self.centre[0] + self.radius * cos
            out[:, 2] = self.centre[1] + self.radius * sin
            return out
        h = _knead_shape(np.mod(c, 1.0), self.compress_frac)
        sway = np.sin(_TWO_PI * c[:, None] + self.wobble_psi[None, :])
        out[:, 3:5] = 0.1 * self.knead_m * sway
        out[:, 5] = self.knead_m * (1.0 - h)  # the hand sinks while compressing
        if motion_only:
            return out
        factor, depth = self._cycle_factor_depth(c)
        out[:, 0] = factor * (1.0 - depth + depth * h)
        out[:, 1:3] = self.centre + self.wobble * sway
        return out

    def _cycle_factor_depth(
        self, c: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        factor, depth_var = self.jitter(c, self.c0)
        return factor, np.clip(self.depth * (1.0 + self.depth_jitter * depth_var), 0.0, 0.95)


@dataclass(frozen=True, eq=False)
class _Physiology:
    """Breathing, tremor and slow drift of the person: one per session."""

    breath_hz: float
    breath_frac: float
    breath_psi: float
    breath_b: NDArray[np.float64]
    breath_nu: NDArray[np.float64]
    breath_wpsi: NDArray[np.float64]
    tremor_hz: NDArray[np.float64]  # (6,): two components per axis x, y, z
    tremor_psi: NDArray[np.float64]
    tremor_frac: float
    tremor_m: float
    drift_nu: NDArray[np.float64]
    drift_frac: NDArray[np.float64]
    drift_psi: NDArray[np.float64]

    @classmethod
    def draw(cls, seed: int) -> _Physiology:
        rng = np.random.default_rng([seed, _TAG_PHYS])
        breath_hz = float(rng.uniform(0.2, 0.3))
        tremor_base = float(rng.uniform(8.0, 12.0))
        tremor_accel_ms2 = float(rng.uniform(0.05, 0.15))
        return cls(
            breath_hz=breath_hz,
            breath_frac=float(rng.uniform(0.015, 0.03)),
            breath_psi=float(rng.uniform(0.0, _TWO_PI)),
            breath_b=0.05 * breath_hz / (_TWO_PI * rng.uniform(0.01, 0.03, 2)) / 2.0,
            breath_nu=rng.uniform(0.01, 0.03, 2),
            breath_wpsi=rng.uniform(0.0, _TWO_PI, 2),
            tremor_hz=tremor_base * rng.uniform(0.94, 1.06, 6),
            tremor_psi=rng.uniform(0.0, _TWO_PI, 6),
            tremor_frac=float(rng.uniform(0.004, 0.008)),
            tremor_m=tremor_accel_ms2 / (_TWO_PI * tremor_base) ** 2,
            drift_nu=rng.uniform(0.01, 0.06, 3),
            drift_frac=rng.uniform(0.004, 0.01, 3),
            drift_psi=rng.uniform(0.0, _TWO_PI, 3),
        )

    def tremor_sines(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        """The tremor's oscillators at ``t``: shape (n, 6), two per axis x, y, z."""
        return _sines(t, self.tremor_hz, self.tremor_psi)

    def tremor_accel(self, sines: NDArray[np.float64]) -> NDArray[np.float64]:
        """Hand acceleration of the tremor, m/s²: shape (n, 3)."""
        a = sines * (-self.tremor_m * (_TWO_PI * self.tremor_hz) ** 2)
        return (a[:, 0::2] + 0.6 * a[:, 1::2]) / 1.6

    def factor(self, t: NDArray[np.float64], sines: NDArray[np.float64]) -> NDArray[np.float64]:
        """Multiplicative pressure factor (≈1) at ``t`` given :meth:`tremor_sines`:
        shape (n,)."""
        wander = (
            (_sines(t, self.breath_nu, self.breath_wpsi) - np.sin(self.breath_wpsi)) * self.breath_b
        ).sum(axis=1)
        breath = self.breath_frac * np.sin(
            _TWO_PI * (self.breath_hz * t + wander) + self.breath_psi
        )
        drift = (_sines(t, self.drift_nu, self.drift_psi) * self.drift_frac).sum(axis=1)
        tremor_z = (sines[:, 4] + 0.6 * sines[:, 5]) / 1.6
        factor: NDArray[np.float64] = 1.0 + breath + self.tremor_frac * tremor_z + drift
        return factor


def _corner_weights(u: NDArray[np.float64], v: NDArray[np.float64]) -> NDArray[np.float64]:
    """Bilinear share of each corner load cell for a CoP at (u, v) pad half-widths:
    shape (n, 4), rows sum to 1, ``Σ w·corner = (u, v)``."""
    u = np.clip(u, -0.95, 0.95)
    v = np.clip(v, -0.95, 0.95)
    return (
        np.stack(
            ((1 - u) * (1 - v), (1 + u) * (1 - v), (1 + u) * (1 + v), (1 - u) * (1 + v)), axis=1
        )
        / 4.0
    )


_CORNERS: Final = ((-1, -1), (1, -1), (1, 1), (-1, 1))  # force1..force4, pad half-widths


def _same_rhythm(a: Segment, b: Segment) -> bool:
    return (a.stroke, a.freq_hz, a.direction, a.compress_frac) == (
        b.stroke,
        b.freq_hz,
        b.direction,
        b.compress_frac,
    )


class _Renderer:
    """Renders samples page by page: every page is a pure function of its number."""

    def __init__(self, config: _Config, seed: int, script: Script | _ScriptFeed) -> None:
        self.config = config
        self.seed = seed
        self._feed = script if isinstance(script, _ScriptFeed) else None
        self.script = script if isinstance(script, Script) else script.covering(0.0)
        self._physiology = _Physiology.draw(seed)
        rng = np.random.default_rng([seed, _TAG_DRIFT])
        self._drift_n = rng.uniform(0.005, 0.02, config.channels)
        self._drift_nu = rng.uniform(0.002, 0.01, config.channels)
        self._drift_psi = rng.uniform(0.0, _TWO_PI, config.channels)
        self._groups: list[int] = []
        self._strokes: dict[int, _Stroke] = {}
        self._pages: dict[int, NDArray[np.float32]] = {}

    def ensure(self, t_s: float) -> Script:
        """The script, generated (for an endless feed) at least to ``t_s``."""
        if self._feed is not None:
            self.script = self._feed.covering(t_s)
        return self.script

    def render(self, i0: int, i1: int) -> NDArray[np.float32]:
        """Samples ``i0:i1``: shape (i1 - i0, columns), float32."""
        out = np.empty((i1 - i0, self.config.n_columns), dtype=np.float32)
        for p in range(i0 // PAGE_SAMPLES, (i1 - 1) // PAGE_SAMPLES + 1):
            lo = max(i0, p * PAGE_SAMPLES)
            hi = min(i1, (p + 1) * PAGE_SAMPLES)
            page = self._pages.get(p)
            if page is None:
                page = self._page(p)
                self._pages = {p: page} | {q: a for q, a in self._pages.items() if q == p - 1}
            out[lo - i0 : hi - i0] = page[lo - p * PAGE_SAMPLES : hi - p * PAGE_SAMPLES]
        return out

    def _stroke(self, k: int) -> _Stroke:
        stroke = self._strokes.get(k)
        if stroke is None:
            segments = self.script.segments
            for j in range(len(self._groups), k + 1):
                same = j > 0 and _same_rhythm(segments[j - 1], segments[j])
                self._groups.append(self._groups[j - 1] if same else j)
            group = self._groups[k]
            stroke = _Stroke.draw(segments[k], segments[group].start_s, group, self.seed)
            self._strokes[k] = stroke
        return stroke

    def _components(self, t: NDArray[np.float64], motion_only: bool = False) -> NDArray[np.float64]:
        """Stroke components at ``t`` with cross-fades between segments: shape (n, 7)."""
        starts = self.script._starts
        k = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(starts) - 1)
        out = np.empty((t.shape[0], 7))
        for kk in range(int(k.min()), int(k.max()) + 1):
            sel = k == kk
            if not np.any(sel):
                continue
            comps = self._stroke(kk).components(t, motion_only)
            if kk > 0 and np.any(sel & (t < starts[kk] + TRANSITION_S)):
                x = np.clip((t - starts[kk]) / TRANSITION_S, 0.0, 1.0)
                w = (x * x * (3.0 - 2.0 * x))[:, None]
                comps = self._stroke(kk - 1).components(t, motion_only) * (1.0 - w) + comps * w
            out[sel] = comps[sel]
        return out

    def _page(self, p: int) -> NDArray[np.float32]:
        cfg = self.config
        n = PAGE_SAMPLES
        t = (p * n + np.arange(n, dtype=np.float64)) / cfg.rate_hz
        script = self.ensure(float(t[-1]) + 2 * _ACC_STEP_S)
        comps = self._components(t)
        tremor = self._physiology.tremor_sines(t)
        pressure_kpa = script.level_at(t) * comps[:, 0] * self._physiology.factor(t, tremor)
        force_n = pressure_kpa * (cfg.area_cm2 / 10.0)
        if cfg.channels == 4:
            forces = force_n[:, None] * _corner_weights(comps[:, 1], comps[:, 2])
        else:
            forces = force_n[:, None]
        if cfg.noise:
            rng = np.random.default_rng([self.seed, _TAG_NOISE, p])
            baseline = self._drift_n * (
                _sines(t, self._drift_nu, self._drift_psi) - np.sin(self._drift_psi)
            )
            forces = forces + cfg.noise_n * rng.standard_normal(forces.shape) + baseline
            if cfg.spike_rate_hz > 0:
                forces = forces + self._spikes(p, forces.shape)
        if cfg.quant_n > 0:
            forces = np.round(forces / cfg.quant_n) * cfg.quant_n
        columns = [forces]
        if cfg.accel:
            hand_ms2 = self._physiology.tremor_accel(tremor) * comps[:, 6:7]
            columns.append(self._accel(p, t) + hand_ms2)
        return np.concatenate(columns, axis=1).astype(np.float32)

    def _spikes(self, p: int, shape: tuple[int, ...]) -> NDArray[np.float64]:
        rng = np.random.default_rng([self.seed, _TAG_SPIKES, p])
        count = int(rng.poisson(self.config.spike_rate_hz * PAGE_SAMPLES / self.config.rate_hz))
        out = np.zeros(shape)
        if count:
            rows = rng.integers(0, shape[0], count)
            cols = rng.integers(0, shape[1], count)
            size_n = rng.uniform(2.0, 20.0, count) * rng.choice((-1.0, 1.0), count)
            np.add.at(out, (rows, cols), size_n)
        return out

    def _accel(self, p: int, t: NDArray[np.float64]) -> NDArray[np.float64]:
        """Stroke motion (second difference of the hand position), gravity and sensor
        noise, m/s²: shape (n, 3); the tremor is added by the caller."""
        n = t.shape[0]
        step = _ACC_STEP_S
        t3 = np.concatenate((t - step, t, t + step))
        pos = self._components(t3, motion_only=True)[:, 3:6]
        acc = (pos[:n] - 2.0 * pos[n : 2 * n] + pos[2 * n :]) / (step * step)
        acc[:, 2] += G_STANDARD
        if self.config.noise:
            rng = np.random.default_rng([self.seed, _TAG_ACCEL_NOISE, p])
            acc += self.config.accel_noise_ms2 * rng.standard_normal((n, 3))
        return acc


def _stream_info(config: _Config, seed: int, script_meta: Mapping[str, Any]) -> StreamInfo:
    half_mm = config.pad_side_mm / 2.0
    if config.channels == 1:
        channels = [Channel("force", "N", "force")]
        pad: dict[str, Any] = {
            "layout": "one load cell under the pad",
            "side_mm": config.pad_side_mm,
        }
    else:
        channels = [Channel(f"force{i}", "N", "force") for i in range(1, 5)]
        pad = {
            "layout": "four load cells at the corners of a square plate",
            "side_mm": config.pad_side_mm,
            "axes": "origin at the pad centre, x to the person's right, y away from the person",
            "corners_mm": {
                f"force{i}": [cx * half_mm, cy * half_mm] for i, (cx, cy) in enumerate(_CORNERS, 1)
            },
        }
    if config.accel:
        channels += [Channel(f"acc {a}", "m/s^2", "accel") for a in "xyz"]
        pad["accel"] = "phone in the pressing hand, screen up: z up, gravity included"
    meta = {
        "seed": seed,
        "area_cm2": config.area_cm2,
        "pad": pad,
        "sensor": {
            "noise": config.noise,
            "noise_n": config.noise_n,
            "quant_n": config.quant_n,
            "spike_rate_hz": config.spike_rate_hz,
            "accel_noise_ms2": config.accel_noise_ms2,
        },
        "strokes": list(STROKES),
        "script": dict(script_meta),
    }
    return StreamInfo(
        "sim", f"palpate simulator (seed {seed})", config.rate_hz, tuple(channels), meta
    )


# -- public entry points --------------------------------------------------------------------------


def simulate(
    script_or_seed: Script | int = 0,
    *,
    duration_s: float | None = None,
    rate_hz: float = 100.0,
    channels: int = 1,
    accel: bool = False,
    area_cm2: float = 2.0,
    seed: int | None = None,
    noise: bool = True,
    noise_n: float = 0.02,
    quant_n: float = 0.01,
    spike_rate_hz: float = 0.0,
    accel_noise_ms2: float = 0.02,
    pad_side_mm: float = 60.0,
) -> tuple[StreamInfo, Frame]:
    """Render a whole simulated recording in one call.

    Parameters
    ----------
    script_or_seed : Script or int
        What the person does; an int draws ``Script.random(script_or_seed, duration_s)``.
    duration_s : float, optional
        Seconds to render: the script's length by default (60 s for a seed); a shorter
        value clips the script.
    rate_hz : float
        Sample rate, 50-1000 Hz.
    channels : int
        1 (``force``) or 4 (``force1``..``force4`` at the pad corners, see
        ``info.meta["pad"]``).
    accel : bool
        Add ``acc x``, ``acc y``, ``acc z`` (m/s², gravity +9.81 on z) of a phone held
        in the pressing hand.
    area_cm2 : float
        Contact area, cm²: force (N) = pressure (kPa) × area_cm2 / 10.
    seed : int, optional
        Seed of the person's and the sensor's randomness; defaults to the script seed
        for an int ``script_or_seed``, else 0.
    noise : bool
        Sensor white noise, baseline drift, spikes and accelerometer noise (not the
        person's tremor or breathing, and not quantisation).
    noise_n, quant_n : float
        Force noise standard deviation and quantisation step, N (0: no quantisation).
    spike_rate_hz : float
        Mean rate of single-sample ADC spikes (2-20 N) over all force channels.
    accel_noise_ms2 : float
        Accelerometer noise standard deviation, m/s².
    pad_side_mm : float
        Side of the square pad, mm (four-channel geometry).

    Returns
    -------
    info : StreamInfo
        ``meta`` holds the seed, area, pad geometry, sensor settings and the script
        (``Script.from_dict(info.meta["script"])``).
    frame : Frame
        ``t`` shape (n,) seconds (``index / rate_hz``), ``x`` shape (n, columns) float32,
        N and m/s². ``n = round(duration_s × rate_hz)``.

    A :class:`SimulatedPad` with the same script, seed and options streams exactly
    these samples, whatever its block size.
    """
    config = _make_config(
        rate_hz,
        channels,
        accel,
        area_cm2,
        noise,
        noise_n,
        quant_n,
        spike_rate_hz,
        accel_noise_ms2,
        pad_side_mm,
    )
    if isinstance(script_or_seed, Script):
        script = script_or_seed
        if duration_s is not None:
            script = script.clip(_check_duration(duration_s))
        real_seed = 0 if seed is None else _check_seed(seed, "seed")
    else:
        script_seed = _check_seed(script_or_seed, "script_or_seed (a Script or an int seed)")
        length = 60.0 if duration_s is None else _check_duration(duration_s)
        script = Script.random(script_seed, length)
        real_seed = script_seed if seed is None else _check_seed(seed, "seed")
    n = _n_samples(script.length_s, config.rate_hz)
    x = _Renderer(config, real_seed, script).render(0, n)
    t = np.arange(n, dtype=np.float64) / config.rate_hz
    return _stream_info(config, real_seed, script.to_dict()), Frame(t, x, 0)


class SimulatedPad(Source):
    """The built-in simulated pad as a :class:`~firmware_bridge.source.Source`.

    Parameters
    ----------
    rate_hz, channels, accel, area_cm2 : float, int, bool, float
        As for :func:`simulate`.
    noise, noise_n, quant_n, spike_rate_hz, accel_noise_ms2, pad_side_mm
        Sensor options, as for :func:`simulate`.
    seed : int, optional
        Seed of the session; None draws one (shown in ``info.device`` and
        ``info.meta["seed"]``, so a session can be replayed).
    script : Script, optional
        What the person does; None plays :meth:`Script.demo` for this seed.
    duration_s : float, optional
        Seconds to stream; None streams the whole script, or without a script forever
        (until the consumer stops).
    realtime : bool
        Pace frames to the wall clock (against the start time, so pacing never drifts);
        False yields as fast as possible, still letting other tasks run between frames.
    block_s : float
        Seconds per frame; a frame holds ``max(1, round(block_s × rate_hz))`` samples.

    The samples equal :func:`simulate`'s for the same script, seed and options, for any
    ``block_s``; an endless stream equals ``simulate(Script.demo(seed, d), seed=seed)``
    over its first ``d`` seconds.
    """

    def __init__(
        self,
        *,
        rate_hz: float = 100.0,
        channels: int = 1,
        accel: bool = False,
        area_cm2: float = 2.0,
        seed: int | None = None,
        script: Script | None = None,
        duration_s: float | None = None,
        realtime: bool = True,
        block_s: float = 0.01,
        noise: bool = True,
        noise_n: float = 0.02,
        quant_n: float = 0.01,
        spike_rate_hz: float = 0.0,
        accel_noise_ms2: float = 0.02,
        pad_side_mm: float = 60.0,
    ) -> None:
        super().__init__()
        config = _make_config(
            rate_hz,
            channels,
            accel,
            area_cm2,
            noise,
            noise_n,
            quant_n,
            spike_rate_hz,
            accel_noise_ms2,
            pad_side_mm,
        )
        block = _number("SimulatedPad", "block_s", block_s)
        if not 0 < block <= 60:
            raise ValueError(f"block_s must be 0-60 s per frame, got {block_s!r}")
        if script is not None and not isinstance(script, Script):
            raise ValueError(f"script must be a Script or None, got {type(script).__name__}")
        self._seed = secrets.randbelow(1_000_000) if seed is None else _check_seed(seed, "seed")
        duration = None if duration_s is None else _check_duration(duration_s)
        source: Script | _ScriptFeed
        if script is not None:
            source = script if duration is None else script.clip(duration)
        elif duration is not None:
            source = Script.demo(self._seed, duration)
        else:  # endless: the demo, generated as the stream goes
            source = _ScriptFeed(_demo_items(self._seed, _Style.checked(0.15, 150.0, 120.0, 0.2)))
        script_meta = (
            {"demo_seed": self._seed} if isinstance(source, _ScriptFeed) else source.to_dict()
        )
        self._total = (
            None if isinstance(source, _ScriptFeed) else _n_samples(source.length_s, config.rate_hz)
        )
        self._renderer = _Renderer(config, self._seed, source)
        self._block_n = max(1, round(block * config.rate_hz))
        self._realtime = bool(realtime)
        self._stream = _stream_info(config, self._seed, script_meta)

    @property
    def seed(self) -> int:
        """Seed of the simulated session."""
        return self._seed

    @property
    def script(self) -> Script:
        """The script being played (for an endless stream: as far as generated so far)."""
        return self._renderer.script

    def truth(self, t: ArrayLike) -> Truth:
        """Ground truth at times ``t`` (seconds, shape (n,)), generating an endless
        script as far as needed."""
        t_arr = np.atleast_1d(np.asarray(t, dtype=np.float64))
        if t_arr.size:
            self._renderer.ensure(float(t_arr.max()))
        return self._renderer.script.truth(t_arr)

    async def _open(self) -> StreamInfo:
        return self._stream

    async def _frames(self) -> AsyncIterator[Frame]:
        loop = asyncio.get_running_loop()
        rate_hz = self._renderer.config.rate_hz
        start = loop.time()
        i0 = 0
        while self._total is None or i0 < self._total:
            i1 = i0 + self._block_n if self._total is None else min(i0 + self._block_n, self._total)
            x = self._renderer.render(i0, i1)
            t = np.arange(i0, i1, dtype=np.float64) / rate_hz
            if self._realtime:  # a sample exists once its time has come
                await asyncio.sleep(max(0.0, start + i1 / rate_hz - loop.time()))
            else:
                await asyncio.sleep(0)
            yield Frame(t, x, i0)
            i0 = i1
