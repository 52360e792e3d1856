"""Working pressure level and its ramp rate.

The ramp warning must watch how fast the person *deepens*, not every wiggle of a
stroke. So the pressure is first smoothed (a 2nd-order Butterworth low-pass that
removes tremor and sensor noise), then its **working level** is taken as the
running maximum over the last few seconds: during a static hold that is the
smoothed pressure itself; during kneading or circular strokes it is the envelope
of the cycle peaks, which stays flat while the depth stays steady. The **ramp
rate** is the slope of the working level over a short span (default 0.2 s).
Releasing pressure lowers the level and gives a negative rate, which never warns.

Everything is causal and streaming: :class:`RampTracker` carries filter state and
short tails of history from block to block, so any chunking of a stream gives the
same numbers as one call over the whole stream (:func:`ramp_batch`).

Examples
--------
>>> import numpy as np
>>> rate_hz = 100.0
>>> t = np.arange(400) / rate_hz
>>> p = np.clip((t - 1.0) * 40.0, 0.0, 60.0)     # 40 kPa/s ramp from 1 s to 2.5 s
>>> level, rate = ramp_batch(t, p, rate_hz)
>>> bool(35.0 < rate[220] < 45.0), bool(abs(rate[-1]) < 1e-6)
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import maximum_filter1d
from scipy.signal import butter, sosfilt, sosfilt_zi

__all__ = ["RampConfig", "RampTracker", "ramp_batch"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class RampConfig:
    """How the working level and its rate are computed.

    Parameters
    ----------
    smooth_hz : float
        Cut-off of the low-pass applied to pressure before anything else, Hz.
    envelope_s : float
        Span of the running maximum that turns rhythmic strokes into their peak
        envelope, seconds; longer than the slowest stroke cycle (0.4 Hz -> 2.5 s).
    slope_s : float
        Span over which the rate of the working level is measured, seconds.
    """

    smooth_hz: float = 5.0
    envelope_s: float = 2.6
    slope_s: float = 0.2

    def __post_init__(self) -> None:
        for name in ("smooth_hz", "envelope_s", "slope_s"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"RampConfig.{name} must be a positive number, got {value!r}")


class RampTracker:
    """Streaming working level (kPa) and ramp rate (kPa/s) of a pressure signal.

    Parameters
    ----------
    rate_hz : float
        Nominal sample rate of the stream, Hz; sets the filter and the spans in samples.
    config : RampConfig
        Spans and cut-off.
    """

    def __init__(self, rate_hz: float, config: RampConfig | None = None) -> None:
        self.config = config = config or RampConfig()
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be positive, got {rate_hz!r}")
        nyquist = rate_hz / 2.0
        cutoff = min(config.smooth_hz, 0.45 * rate_hz)  # stay below Nyquist on slow streams
        self._sos = butter(2, cutoff / nyquist, output="sos")
        self._zi: FloatArray | None = None
        self._env_n = max(1, round(config.envelope_s * rate_hz))
        self._slope_n = max(1, round(config.slope_s * rate_hz))
        self._smooth_tail = np.empty(0)  # last env_n - 1 smoothed samples
        self._level_tail = np.empty(0)  # last slope_n working-level samples
        self._t_tail = np.empty(0)  # their times
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
            Slope of the working level over ``slope_s``; positive when deepening.
        """
        p = np.asarray(pressure_kpa, dtype=np.float64)
        if p.size == 0:
            return np.empty(0), np.empty(0)
        p = self._fill_nan(p)
        if self._zi is None:
            self._zi = sosfilt_zi(self._sos)[:, :] * p[0]
        smooth, self._zi = sosfilt(self._sos, p, zi=self._zi)

        history = np.concatenate((self._smooth_tail, smooth))
        env = maximum_filter1d(history, self._env_n, origin=(self._env_n - 1) // 2, mode="nearest")
        level = env[self._smooth_tail.size :]
        self._smooth_tail = history[-(self._env_n - 1) :] if self._env_n > 1 else np.empty(0)

        levels = np.concatenate((self._level_tail, level))
        times = np.concatenate((self._t_tail, np.asarray(t, dtype=np.float64)))
        pos = np.arange(self._level_tail.size, levels.size)
        ref = np.maximum(pos - self._slope_n, 0)
        dt = times[pos] - times[ref]
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(dt > 0, (levels[pos] - levels[ref]) / dt, 0.0)
        self._level_tail = levels[-self._slope_n :]
        self._t_tail = times[-self._slope_n :]
        return level, rate

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
