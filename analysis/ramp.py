"""Working pressure level and its ramp rate.

The ramp warning must watch how fast the person *deepens*, not every wiggle of a
stroke. Pressure is first smoothed (a 2nd-order Butterworth low-pass that removes
tremor and sensor noise). The **working level** is then the highest smoothed
pressure of the last few seconds: during a static hold that is the pressure itself;
during kneading or circular strokes it is the envelope of the cycle peaks, flat
while the depth stays steady. A rest (no contact for half a second) ends it: the
next press-in starts from zero.

The **ramp rate** asks how fast the pressure now climbs above the level it stood at
before. Let ``base`` be the working level just before the current climb began,
``t_base`` the moment the pressure last stood near it (within 3 %) or, if later,
the last peak of the past half window, and ``spread`` the usual change from one
cycle peak to the next (the median of the last five; 0 after a rest)::

    rate(t) = (p(t) - base - spread) / (t - t_base - delay)     while p(t) > base

where ``delay`` is the smoothing filter's group delay. A press-in or deepening of a
hold leaves the base at its onset, so the rate is the slope of the ramp, within
about 0.1-0.2 s; while the pressure stands still (its range over the last 1.6 s
under 15 % of its top) the base reaches back only ``hold_span_s``, so neither an
old breathing peak nor the level before a release hides a press-in. In rhythmic strokes the base
is the previous cycle peak, left as the release began, so a compression that merely
returns to the usual depth gives no rate at all, and a deepening gives about (new
peak - old peak - spread) / (time since the old peak): the slope of the peak
envelope, never the steep flank of one compression. The spread keeps the ordinary
cycle-to-cycle variation of a stroke (a few percent of a deep level, as much as a
slow deepening adds per cycle) from reading as a ramp; a real deepening passes it
in one cycle. A climb is divided by at least ``min_climb_s``, so the upstroke of a
pulse or a spike of noise cannot read as a ramp; a rise larger than any of those
(``quick_rise_kpa``) earns a shorter floor, in proportion (``min_climb_s ×
quick_rise_kpa / rise``), so a steep press-in is told before a quarter second has
passed: at a 50 kPa/s limit a press-in at 75 kPa/s about 50 ms sooner.
While the pressure is at or below the base the rate is the (negative or zero) slope
of the working level, so releasing never reads as a ramp.

The bookkeeping runs on blocks of ``q`` samples (about 50 blocks a second), so the
cost per sample is tiny. Everything is causal and streaming: :class:`RampTracker`
carries filter state and short tails of history from chunk to chunk, and any
chunking gives exactly the numbers of one call over the whole stream
(:func:`ramp_batch`).

Examples
--------
>>> import numpy as np
>>> rate_hz = 100.0
>>> t = np.arange(400) / rate_hz
>>> p = np.clip((t - 1.0) * 40.0, 0.0, 60.0)     # 40 kPa/s ramp from 1 s to 2.5 s
>>> level, rate = ramp_batch(t, p, rate_hz)
>>> bool(38.0 < rate[220] < 42.0), bool(abs(rate[-1]) < 1e-6)
(True, True)
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import deque
from dataclasses import dataclass
from typing import Final, NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy.signal import butter, lfilter, lfilter_zi

__all__ = ["RampBlocks", "RampConfig", "RampTracker", "block_counts", "ramp_batch"]

FloatArray = NDArray[np.float64]

BLOCKS_PER_S: Final = 50.0
"""Resolution of the working-level bookkeeping, blocks per second."""

PEAK_NEAR_TOP: Final = 0.7
"""A local peak counts as a cycle peak (for the spread) when it reaches this fraction of
the working level: the top of a compression, not a wiggle in a trough."""


@dataclass(frozen=True, slots=True)
class RampConfig:
    """How the working level and its rate are computed.

    Parameters
    ----------
    smooth_hz : float
        Cut-off of the low-pass applied to pressure before anything else, Hz.
    envelope_s : float
        Span of the working level (the running maximum), seconds; longer than the
        slowest stroke cycle (kneading at 0.4 Hz lasts 2.5 s).
    slope_s : float
        Span over which the slope of the working level is taken while releasing, s.
    near_fraction : float
        How close (fraction of the level) the pressure must stand to the base for a
        climb to be measured from that moment.
    near_floor_kpa : float
        The same closeness in kPa, added to it (sensor noise).
    min_climb_s : float
        Shortest time a climb is divided by, seconds (keeps noise and the pulse from
        reading as ramps).
    quick_rise_kpa : float or None
        A climb that has risen more than this is divided by at least ``min_climb_s ×
        quick_rise_kpa / rise`` instead: a rise no pulse, tremor or breath gives is
        evidence in itself, so the rate of a steep press-in counts sooner. Smaller rises
        keep the full ``min_climb_s`` (at most ``quick_rise_kpa / min_climb_s`` = 16 kPa/s
        from a rise of 4 kPa, however quick). 4 kPa: on tuning seeds the median delay at
        a 20 kPa/s limit went from 142.5 to 132.5 ms and at 50 kPa/s from 187.5 to
        147.5 ms with the same false warnings and no more cautions (3 kPa: more false
        warnings). None: the full floor for every rise, as sessions recorded before
        this setting existed were analysed (their replays keep it).
    contact_kpa : float
        Below this pressure nothing presses: 1.5 kPa is 0.3 N on a thumb, above the
        noise of a load cell or FSR pad at rest, and low enough that the first, shallow
        cycle of a stroke begun from rest counts as contact, so the next compression
        is measured from that cycle's peak, not from zero (at 3 kPa, tuning seeds:
        about twice the false warnings, all at the start of kneading from rest).
    rest_s : float
        After this long without contact the working level starts afresh, seconds.
    hold_span_s : float
        Span of the base of a climb when the pressure stands still (a hold), seconds:
        well under half a breath, so that an old breathing peak (or the tremor on one)
        does not hide a press-in that starts in a breathing trough; breathing itself
        moves a hold by a few kPa/s at most.
    hold_modulation : float
        The pressure counts as standing still while its range over the last
        ``still_s`` (highest minus lowest block) stays below this fraction of its
        highest.
    still_s : float
        Span of that test, seconds: most of the slowest stroke cycle, so a stroke
        never passes for a hold, and short enough that a hold right after a release
        counts as one.
    peak_spread : float
        A climb counts only above the base plus this many times the usual change
        from one cycle peak to the next (the median of the last five): strokes and
        pulse beats vary from cycle to cycle, and a peak that varies as usual is
        not a deepening.
    """

    smooth_hz: float = 6.0
    envelope_s: float = 2.6
    slope_s: float = 0.3
    near_fraction: float = 0.03
    near_floor_kpa: float = 0.5
    min_climb_s: float = 0.25
    quick_rise_kpa: float | None = 4.0
    contact_kpa: float = 1.5
    rest_s: float = 0.5
    hold_span_s: float = 0.3
    hold_modulation: float = 0.15
    still_s: float = 1.6
    peak_spread: float = 1.0

    def __post_init__(self) -> None:
        names = (
            "smooth_hz",
            "envelope_s",
            "slope_s",
            "min_climb_s",
            "contact_kpa",
            "rest_s",
            "hold_span_s",
            "hold_modulation",
            "still_s",
        )
        for name in names:
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"RampConfig.{name} must be a positive number, got {value!r}")
        if self.quick_rise_kpa is not None and not (
            np.isfinite(self.quick_rise_kpa) and self.quick_rise_kpa > 0
        ):
            raise ValueError(
                "RampConfig.quick_rise_kpa must be a positive number or None, got "
                f"{self.quick_rise_kpa!r}"
            )
        if not (np.isfinite(self.peak_spread) and self.peak_spread >= 0):
            raise ValueError(
                f"RampConfig.peak_spread must be a number >= 0, got {self.peak_spread!r}"
            )
        if not (0 <= self.near_fraction < 1 and self.near_floor_kpa >= 0):
            raise ValueError(
                "RampConfig needs 0 <= near_fraction < 1 and near_floor_kpa >= 0, got "
                f"{self.near_fraction!r} and {self.near_floor_kpa!r}"
            )


class RampBlocks(NamedTuple):
    """Working level and ramp rate at the end of each block completed by one update."""

    t: FloatArray
    """Time of each block's last sample, seconds, shape (nb,)."""
    level_kpa: FloatArray
    """Working pressure level, kPa, shape (nb,)."""
    rate_kpa_s: FloatArray
    """Ramp rate, kPa/s, shape (nb,)."""


class RampTracker:
    """Streaming working level (kPa) and ramp rate (kPa/s) of a pressure signal.

    Parameters
    ----------
    rate_hz : float
        Nominal sample rate of the stream, Hz; sets the filter and the spans in samples.
    config : RampConfig
        Spans, cut-off and closeness.

    Attributes
    ----------
    block_size : int
        Samples per block; level and rate change once per block.
    """

    def __init__(self, rate_hz: float, config: RampConfig | None = None) -> None:
        self.config = config = config or RampConfig()
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be positive, got {rate_hz!r}")
        cutoff = min(config.smooth_hz, 0.45 * rate_hz)  # stay below Nyquist on slow streams
        self._b, self._a = butter(2, cutoff / (rate_hz / 2.0))
        self._delay_s = float(np.sqrt(2.0) / (2.0 * np.pi * cutoff))  # group delay at 0 Hz
        self._zi: FloatArray | None = None
        self.block_size = q = max(1, round(rate_hz / BLOCKS_PER_S))
        blocks_per_s = rate_hz / q
        self._span = max(2, round(config.envelope_s * blocks_per_s))  # blocks in the window
        self._half = max(1, self._span // 2)
        self._short = max(1, min(self._span, round(config.hold_span_s * blocks_per_s)))
        self._still = max(1, min(self._span, round(config.still_s * blocks_per_s)))
        self._rest_blocks = max(1, round(config.rest_s * blocks_per_s))
        self._lag = max(1, round(config.slope_s * blocks_per_s))
        # smoothed samples of the unfinished block, and their times
        self._part_s: FloatArray = np.empty(0)
        self._part_t: FloatArray = np.empty(0)
        self._last_valid = 0.0  # last finite pressure, to bridge NaN samples
        # block bookkeeping, in plain floats: one block costs a few µs at any chunking
        self._count = 0  # blocks completed
        # candidates for the window maximum: blocks higher than every later one, oldest
        # first (from self._head on), as block number, -maximum, time of the maximum
        self._idx: list[int] = []
        self._neg: list[float] = []
        self._when: list[float] = []
        self._head = 0
        # the same for the window minimum of block ends: blocks lower than every later one
        self._lo_idx: list[int] = []
        self._lo_val: list[float] = []
        self._lo_head = 0
        self._prev_high = np.nan
        self._quiet = 0  # blocks in a row without contact
        self._rest = -1  # last block that ended a rest of rest_s
        self._base = np.nan  # working level before the current climb
        self._base_t = np.nan  # when the pressure last stood near it
        self._rising = False
        self._last_peak = math.nan
        self._diffs: deque[float] = deque(maxlen=5)
        self._margin = 0.0
        self._levels: deque[tuple[float, float]] = deque(maxlen=self._lag + 1)
        self.level_kpa = np.nan
        """Working level after the last block."""
        self.rate_kpa_s = np.nan
        """Ramp rate after the last block."""

    @property
    def pending(self) -> int:
        """Samples of the unfinished block taken in so far."""
        return int(self._part_s.size)

    def update(self, t: FloatArray, pressure_kpa: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Process one chunk; level and rate per sample.

        Each sample carries the values of the last block completed at or before it,
        so any chunking gives the same arrays.

        Parameters
        ----------
        t : ndarray, shape (n,), seconds
        pressure_kpa : ndarray, shape (n,), kPa
            NaN samples (no contact data) are held at the last valid value.

        Returns
        -------
        level_kpa, rate_kpa_s : ndarray, shape (n,)
        """
        if t.size and self._zi is None:
            self._start(float(t[0]), max(float(np.nan_to_num(pressure_kpa[0])), 0.0))
        before = self._part_s.size
        prev = (self.level_kpa, self.rate_kpa_s)
        blocks = self.update_blocks(t, pressure_kpa)
        done = block_counts(before, t.size, self.block_size)
        return np.append(prev[0], blocks.level_kpa)[done], np.append(prev[1], blocks.rate_kpa_s)[
            done
        ]

    def update_blocks(self, t: FloatArray, pressure_kpa: FloatArray) -> RampBlocks:
        """Process one chunk; level and rate at the end of every block it completes."""
        p = np.asarray(pressure_kpa, dtype=np.float64)
        t = np.asarray(t, dtype=np.float64)
        if p.size == 0:
            return RampBlocks(np.empty(0), np.empty(0), np.empty(0))
        # below zero nothing presses: noise around zero or a negative spike (even one in
        # the first sample, which the spike gate cannot judge) must not read as a climb
        p = np.maximum(self._fill_nan(p), 0.0)
        if self._zi is None:
            self._start(float(t[0]), float(p[0]))
        smooth, self._zi = lfilter(self._b, self._a, p, zi=self._zi)

        q = self.block_size
        if self._part_s.size:
            smooth = np.concatenate((self._part_s, smooth))
            t = np.concatenate((self._part_t, t))
        nb = smooth.size // q
        end = nb * q
        self._part_s, self._part_t = smooth[end:], t[end:]
        if nb == 0:
            return RampBlocks(self._part_t[:0], self._part_t[:0], self._part_t[:0])
        grid = smooth[:end].reshape(nb, q)
        # the latest sample holding each block's maximum
        at = np.arange(q - 1, end, q) - np.argmax(grid[:, ::-1], axis=1)
        end_t = t[q - 1 : end : q]
        levels, rates = self._blocks(
            smooth.take(at).tolist(),
            t.take(at).tolist(),
            smooth[q - 1 : end : q].tolist(),
            end_t.tolist(),
        )
        return RampBlocks(end_t, np.array(levels), np.array(rates))

    def _blocks(
        self, highs: list[float], high_t: list[float], ends: list[float], end_t: list[float]
    ) -> tuple[list[float], list[float]]:
        cfg = self.config
        idx, neg, when = self._idx, self._neg, self._when
        span, half, delay, min_climb = self._span, self._half, self._delay_s, cfg.min_climb_s
        # a rise above quick_rise_kpa earns a shorter floor: quick / rise
        quick = math.inf if cfg.quick_rise_kpa is None else min_climb * cfg.quick_rise_kpa
        keep, floor, contact = 1.0 - cfg.near_fraction, cfg.near_floor_kpa, cfg.contact_kpa
        levels: list[float] = []
        rates: list[float] = []
        b = self._count
        if b == 0:  # before the stream: its first block, at rest if it has no contact
            self._prev_high = highs[0]
            self._quiet = self._rest_blocks - 1
        # the state in locals for the loop (about 50 blocks a second)
        quiet, rest, head, rest_blocks = self._quiet, self._rest, self._head, self._rest_blocks
        lo_idx, lo_val, lo_head = self._lo_idx, self._lo_val, self._lo_head
        short, calm, still = self._short, self._still, cfg.hold_modulation
        base, base_t, prev_high, history = self._base, self._base_t, self._prev_high, self._levels
        rising, last_peak, diffs, margin = self._rising, self._last_peak, self._diffs, self._margin
        spread = cfg.peak_spread
        for high, ht, s, te in zip(highs, high_t, ends, end_t, strict=True):
            # a rest (no contact for rest_s) ends the working level; kneading's brief
            # troughs are not rests
            quiet = quiet + 1 if high < contact else 0
            if quiet >= rest_blocks:
                rest = b
                last_peak, margin = math.nan, 0.0
                diffs.clear()
            nh = -high
            while len(neg) > head and neg[-1] >= nh:
                del idx[-1], neg[-1], when[-1]
            idx.append(b)
            neg.append(nh)
            when.append(ht)
            start = b - span + 1
            if start < rest:
                start = rest
            while idx[head] < start:  # the window moves on (at most one block, but at a rest)
                head += 1
            if head > 256:
                del idx[:head], neg[:head], when[:head]
                head = 0
            win_max = -neg[head]
            while len(lo_val) > lo_head and lo_val[-1] >= s:
                del lo_idx[-1], lo_val[-1]
            lo_idx.append(b)
            lo_val.append(s)
            while lo_idx[lo_head] < start:
                lo_head += 1
            if lo_head > 256:
                del lo_idx[:lo_head], lo_val[:lo_head]
                lo_head = 0

            if s > base:
                climb = te - base_t - delay
                rise = s - base - margin
                if rise > 0.0:
                    least = quick / rise if rise * min_climb > quick else min_climb
                    rate = rise / (climb if climb > least else least)
                else:
                    rate = 0.0
            else:  # at or below the base: the slope of the working level, never positive
                rate = 0.0
                if history:
                    t0, v0 = history[0]
                    if te > t0 and win_max < v0:
                        rate = (win_max - v0) / (te - t0)
            # a climb's base: the working level at the last block that did not rise, and
            # the time the pressure last stood near it: the latest block within reach of
            # the maximum, or the latest peak of the last half window, if later
            # (in a hold, whose range is small, the base reaches back only hold_span_s)
            if high <= prev_high:
                if rising and prev_high >= PEAK_NEAR_TOP * win_max:  # a cycle peak passed
                    if last_peak == last_peak:
                        diffs.append(abs(prev_high - last_peak))
                        margin = spread * sorted(diffs)[len(diffs) // 2]
                    last_peak = prev_high
                rising = False
                first = head
                lately = b - calm + 1 if b - calm + 1 > start else start
                top = -neg[bisect_left(idx, lately, head)]
                if top - lo_val[bisect_left(lo_idx, lately, lo_head)] < still * top:
                    lately = b - short + 1 if b - short + 1 > start else start
                    first = bisect_left(idx, lately, head)
                    top = -neg[first]
                else:
                    top = win_max
                near = when[bisect_right(neg, -(top * keep - floor), first) - 1]
                lately = b - half + 1 if b - half + 1 > start else start
                recent = when[bisect_left(idx, lately, first)]
                base, base_t = top, near if near > recent else recent
            else:
                rising = True
            prev_high = high
            history.append((te, win_max))
            levels.append(win_max)
            rates.append(rate)
            b += 1
        self._quiet, self._rest, self._head, self._lo_head = quiet, rest, head, lo_head
        self._rising, self._last_peak, self._margin = rising, last_peak, margin
        self._base, self._base_t, self._prev_high = base, base_t, prev_high
        self._count = b
        self.level_kpa, self.rate_kpa_s = levels[-1], rates[-1]
        return levels, rates

    def _start(self, t0: float, p0: float) -> None:
        """The stream begins: as if it had stood at its first value before."""
        self._zi = lfilter_zi(self._b, self._a) * p0
        self._base, self._base_t = p0, t0
        self.level_kpa, self.rate_kpa_s = p0, 0.0

    def _fill_nan(self, p: FloatArray) -> FloatArray:
        if math.isfinite(np.add.reduce(p)):  # no NaN or inf (one call, not two)
            self._last_valid = float(p[-1])
            return p
        bad = ~np.isfinite(p)
        if bad.any():
            idx = np.maximum.accumulate(np.where(bad, -1, np.arange(p.size)))
            p = np.where(idx >= 0, p[np.maximum(idx, 0)], self._last_valid)
        self._last_valid = float(p[-1])
        return p


def block_counts(before: int, n: int, block_size: int) -> NDArray[np.intp]:
    """How many blocks of a chunk are complete at each of its ``n`` samples.

    ``before`` samples of the unfinished block came in earlier chunks. Indexing
    ``[value before the chunk, value of each completed block...]`` with the result
    gives every sample the value of the last block completed at or before it, the
    same for any chunking.
    """
    return (before + np.arange(1, n + 1)) // block_size


def ramp_batch(
    t: FloatArray, pressure_kpa: FloatArray, rate_hz: float, config: RampConfig | None = None
) -> tuple[FloatArray, FloatArray]:
    """Working level and ramp rate of a whole recording at once (see :class:`RampTracker`)."""
    return RampTracker(rate_hz, config).update(t, pressure_kpa)
