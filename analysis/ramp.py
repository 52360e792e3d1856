"""Working pressure level and its ramp rate.

The ramp warning must watch how fast the person *deepens*, not every wiggle of a
stroke. Pressure is first smoothed (a 2nd-order Butterworth low-pass that removes
tremor and sensor noise). The **working level** is then the highest smoothed
pressure of the last few seconds: during a static hold that is the pressure itself;
during kneading or circular strokes it is the envelope of the cycle peaks, flat
while the depth stays steady. A rest (no contact for half a second) ends it: the
next press-in starts from zero.

The **ramp rate** asks how fast the pressure now climbs above the level it stood at
before. Let ``base`` be the working level just before the current climb began and
``t_base`` the moment the pressure last stood near it (within 3 %) or, if later,
the last peak of the past half window::

    rate(t) = (p(t) - base) / (t - t_base - delay)     while p(t) > base

where ``delay`` is the smoothing filter's group delay. A press-in or deepening of a
hold leaves the base at its onset, so the rate is the slope of the ramp, within
about 0.1-0.2 s. In rhythmic strokes the base is the previous cycle peak, left as
the release began, so a compression that merely returns to the usual depth gives no
rate at all, and a deepening gives about (new peak - old peak) / (time since the old
peak): the slope of the peak envelope, never the steep flank of one compression. A
climb is divided by at least ``min_climb_s``, so the upstroke of a pulse or a spike
of noise cannot read as a ramp.
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

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray
from scipy.signal import butter, lfilter, lfilter_zi

__all__ = ["RampConfig", "RampTracker", "ramp_batch"]

FloatArray = NDArray[np.float64]

BLOCKS_PER_S: Final = 50.0
"""Resolution of the working-level bookkeeping, blocks per second."""


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
    contact_kpa : float
        Below this pressure nothing presses.
    rest_s : float
        After this long without contact the working level starts afresh, seconds.
    """

    smooth_hz: float = 6.0
    envelope_s: float = 2.6
    slope_s: float = 0.3
    near_fraction: float = 0.03
    near_floor_kpa: float = 0.5
    min_climb_s: float = 0.25
    contact_kpa: float = 3.0
    rest_s: float = 0.5

    def __post_init__(self) -> None:
        names = ("smooth_hz", "envelope_s", "slope_s", "min_climb_s", "contact_kpa", "rest_s")
        for name in names:
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"RampConfig.{name} must be a positive number, got {value!r}")
        if not (0 <= self.near_fraction < 1 and self.near_floor_kpa >= 0):
            raise ValueError(
                "RampConfig needs 0 <= near_fraction < 1 and near_floor_kpa >= 0, got "
                f"{self.near_fraction!r} and {self.near_floor_kpa!r}"
            )


class RampTracker:
    """Streaming working level (kPa) and ramp rate (kPa/s) of a pressure signal.

    Parameters
    ----------
    rate_hz : float
        Nominal sample rate of the stream, Hz; sets the filter and the spans in samples.
    config : RampConfig
        Spans, cut-off and closeness.
    """

    def __init__(self, rate_hz: float, config: RampConfig | None = None) -> None:
        self.config = config = config or RampConfig()
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be positive, got {rate_hz!r}")
        cutoff = min(config.smooth_hz, 0.45 * rate_hz)  # stay below Nyquist on slow streams
        self._b, self._a = butter(2, cutoff / (rate_hz / 2.0))
        self._delay_s = np.sqrt(2.0) / (2.0 * np.pi * cutoff)  # group delay at 0 Hz
        self._zi: FloatArray | None = None
        self._q = max(1, round(rate_hz / BLOCKS_PER_S))  # samples per block
        self._env_blocks = max(2, round(config.envelope_s * rate_hz / self._q))
        self._lag_n = max(1, round(config.slope_s * rate_hz))
        self._part = np.empty((0, 2))  # smoothed samples of the unfinished block, with times
        self._blocks = np.empty((0, 2))  # last env_blocks - 1 blocks: max and when reached
        # after the last complete block: working level, base of the current climb, t_base
        self._state = np.full(3, np.nan)
        self._tail = np.empty((0, 2))  # last lag_n samples: working level and time
        self._last_valid = 0.0  # last finite pressure, to bridge NaN samples

    def update(self, t: FloatArray, pressure_kpa: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Process one block.

        Parameters
        ----------
        t : ndarray, shape (n,), seconds
        pressure_kpa : ndarray, shape (n,), kPa
            NaN samples (no contact data) are held at the last valid value.

        Returns
        -------
        level_kpa : ndarray, shape (n,), kPa
            Working pressure level.
        rate_kpa_s : ndarray, shape (n,), kPa/s
            Ramp rate (see the module docstring); positive when deepening.
        """
        p = np.asarray(pressure_kpa, dtype=np.float64)
        t = np.asarray(t, dtype=np.float64)
        n = p.size
        if n == 0:
            return np.empty(0), np.empty(0)
        p = self._fill_nan(p)
        if self._zi is None:
            self._zi = lfilter_zi(self._b, self._a) * p[0]
            self._state = np.array([p[0], p[0], t[0]])
        smooth, self._zi = lfilter(self._b, self._a, p, zi=self._zi)

        # the block state in force at each sample: after the last block completed before it
        before = self._part.shape[0]
        states = self._add_blocks(smooth, t)
        win_max, base, base_t = states[(before + np.arange(n)) // self._q].T
        level = np.maximum(win_max, smooth)

        levels = np.concatenate((self._tail[:, 0], level))
        times = np.concatenate((self._tail[:, 1], t))
        pos = np.arange(self._tail.shape[0], levels.size)
        ref = np.maximum(pos - self._lag_n, 0)
        dt = times[pos] - times[ref]
        with np.errstate(invalid="ignore", divide="ignore"):
            env_slope = np.where(dt > 0, (levels[pos] - levels[ref]) / dt, 0.0)
        climb_s = np.maximum(t - base_t - self._delay_s, self.config.min_climb_s)
        rate = np.where(smooth > base, (smooth - base) / climb_s, np.minimum(env_slope, 0.0))
        self._tail = np.column_stack((levels, times))[-self._lag_n :]
        return level, rate

    def _add_blocks(self, smooth: FloatArray, t: FloatArray) -> FloatArray:
        """Fold new samples into blocks.

        Returns the state before each new block and after the last one, shape
        (new blocks + 1, 3): working level, climb base, time the pressure last stood
        near the base.
        """
        q, w, cfg = self._q, self._env_blocks, self.config
        samples = np.concatenate((self._part, np.column_stack((smooth, t))))
        nb = samples.shape[0] // q
        self._part = samples[nb * q :]
        if nb == 0:
            return self._state[None, :]
        grid = samples[: nb * q].reshape(nb, q, 2)
        rows = np.arange(nb)
        at = q - 1 - np.argmax(grid[:, ::-1, 0], axis=1)  # latest sample holding the maximum
        new = grid[rows, at]  # (nb, 2): block maximum and its time

        previous = self._blocks[-1, 0] if self._blocks.shape[0] else self._state[0]
        prev_high = np.concatenate(([previous], new[:-1, 0]))
        # keep enough past for each new block's window and for a rest lasting before it
        run = max(1, round(cfg.rest_s * BLOCKS_PER_S))
        past = w - 1 + run - 1
        history = np.concatenate((self._blocks, new))
        if history.shape[0] < past + nb:  # stream start: the past repeats the first block
            pad = past + nb - history.shape[0]
            history = np.concatenate((np.repeat(history[:1], pad, axis=0), history))
        self._blocks = history[history.shape[0] - past :]

        # the level does not outlive a release: only blocks since the last rest (no contact
        # for rest_s; kneading's brief troughs are not rests) count
        no_contact = history[:, 0] < cfg.contact_kpa
        lasting = sliding_window_view(no_contact, run).all(axis=1)  # ends at blocks run-1..
        rest = sliding_window_view(lasting, w)
        history = history[run - 1 :]
        highs = sliding_window_view(history[:, 0], w)  # (nb, w): each block's window
        cols = np.arange(w)
        last_rest = np.where(rest.any(axis=1), w - 1 - np.argmax(rest[:, ::-1], axis=1), -1)
        highs = np.where(cols[None, :] >= np.minimum(last_rest, w - 1)[:, None], highs, -np.inf)
        win_max = highs.max(axis=1)
        near = highs >= (win_max * (1.0 - cfg.near_fraction) - cfg.near_floor_kpa)[:, None]
        last_near = w - 1 - np.argmax(near[:, ::-1], axis=1)
        # ... or the latest peak of the last half window, if later (a stroke's last cycle
        # peak may sit below the window's highest one)
        half = max(1, w // 2)
        recent_peak = w - 1 - np.argmax(highs[:, : w - half - 1 : -1], axis=1)
        times_w = sliding_window_view(history[:, 1], w)
        near_t = np.maximum(times_w[rows, last_near], times_w[rows, recent_peak])

        # a climb's base: the working level at the last block that did not rise
        settled = new[:, 0] <= prev_high
        last = np.maximum.accumulate(np.where(settled, rows, -1))
        k = np.maximum(last, 0)
        base = np.where(last >= 0, win_max[k], self._state[1])
        base_t = np.where(last >= 0, near_t[k], self._state[2])
        after = np.column_stack((win_max, base, base_t))
        states = np.concatenate((self._state[None, :], after))
        self._state = after[-1]
        return states

    def _fill_nan(self, p: FloatArray) -> FloatArray:
        bad = ~np.isfinite(p)
        if bad.any():
            idx = np.maximum.accumulate(np.where(bad, -1, np.arange(p.size)))
            p = np.where(idx >= 0, p[np.maximum(idx, 0)], self._last_valid)
        self._last_valid = float(p[-1])
        return p


def ramp_batch(
    t: FloatArray, pressure_kpa: FloatArray, rate_hz: float, config: RampConfig | None = None
) -> tuple[FloatArray, FloatArray]:
    """Working level and ramp rate of a whole recording at once (see :class:`RampTracker`)."""
    return RampTracker(rate_hz, config).update(t, pressure_kpa)
