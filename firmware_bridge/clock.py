"""Clock alignment: device timestamps (or sample counters) onto the session clock.

A device stamps its samples with its own clock (or only counts them); palpate
needs every sample on one session clock, so that two devices in one session line
up. Each notification gives one pair ``(device time of its last sample, host time
it arrived)``. Arrival = sampling + latency, and latency is never negative but
jumps up in bursts (the radio bunches notifications into one connection event,
the OS delivers late). So the map ``host = offset + skew × device`` is fitted to
the *lower envelope* of the pairs over a sliding window:

1. the window (default 30 s of device time) is cut into bins; in each bin the pair
   with the least latency (smallest ``host - device``) stands for the bin;
2. ``skew`` is the least-squares slope through those minima (clamped to
   ``1 ± max_skew``; 1 until the window spans ``min_span_s``);
3. ``offset`` is the smallest ``host - skew × device`` in the window, so mapped
   times sit on the earliest-arrival line: the fixed minimum latency of the link
   remains (a few ms), the bursts do not.

A burst delays some arrivals but never moves the envelope, so the fit is robust
to it; a drifting device clock (ppm to per-mille) shows as ``skew != 1`` and is
followed as the window slides.

Examples
--------
>>> import numpy as np
>>> aligner = ClockAligner()
>>> for k in range(200):  # a device clock running 0.1 % fast, 20 ms latency
...     aligner.add(k * 0.1 * 1.001, 5.0 + k * 0.1 + 0.02)
>>> round(aligner.skew, 4)
0.999
>>> float(np.round(aligner.map(np.array([10.01])), 3)[0])
15.02
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["ClockAligner"]


class ClockAligner:
    """Map one device's clock onto the session clock (seconds to seconds).

    Parameters
    ----------
    window_s : float
        Span of device time the fit looks back over, seconds.
    min_span_s : float
        Device time the window must span before the skew is fitted; until then
        the skew is 1.
    max_skew : float
        Largest accepted clock-rate error, as a fraction (0.02: ±2 %).
    bins : int
        Lower-envelope bins across the window.
    """

    def __init__(
        self,
        *,
        window_s: float = 30.0,
        min_span_s: float = 2.0,
        max_skew: float = 0.02,
        bins: int = 12,
        refit_s: float = 0.5,
    ) -> None:
        if not window_s > min_span_s > 0:
            raise ValueError(f"need window_s > min_span_s > 0, got {window_s}, {min_span_s}")
        if not 0 <= max_skew < 0.5:
            raise ValueError(f"max_skew must be in [0, 0.5), got {max_skew}")
        self.window_s = float(window_s)
        self.min_span_s = float(min_span_s)
        self.max_skew = float(max_skew)
        self.bins = int(bins)
        self.refit_s = float(refit_s)
        self._pairs = np.empty((1024, 2))  # (device, host) rows [_start, _end)
        self._start = self._end = 0
        self._skew = 1.0
        self._offset = np.nan
        self._fitted_at = -np.inf  # device time of the last skew fit
        self._dirty = False

    def reset(self) -> None:
        """Forget every pair (the device clock restarted, e.g. after a reconnect)."""
        self._start = self._end = 0
        self._skew = 1.0
        self._offset = np.nan
        self._fitted_at = -np.inf
        self._dirty = False

    @property
    def ready(self) -> bool:
        """Whether at least one pair has been seen."""
        return self._end > self._start

    @property
    def skew(self) -> float:
        """Session seconds per device second (1.001: the device clock runs 0.1 % slow)."""
        self._refit()
        return self._skew

    @property
    def offset(self) -> float:
        """Session time of device time 0, seconds."""
        self._refit()
        return float(self._offset)

    def add(self, device_t: float, host_t: float) -> None:
        """Add one pair: a sample stamped ``device_t`` had arrived by ``host_t``."""
        if not (np.isfinite(device_t) and np.isfinite(host_t)):
            raise ValueError(f"clock pair must be finite, got ({device_t}, {host_t})")
        if self._end > self._start and device_t < self._pairs[self._end - 1, 0]:
            raise ValueError(
                f"device time went back from {self._pairs[self._end - 1, 0]} to {device_t}; "
                "reset() first"
            )
        if self._end == self._pairs.shape[0]:  # compact, or grow when the window is full
            live = self._pairs[self._start : self._end].copy()
            if live.shape[0] > self._pairs.shape[0] // 2:
                self._pairs = np.empty((2 * self._pairs.shape[0], 2))
            self._pairs[: live.shape[0]] = live
            self._start, self._end = 0, live.shape[0]
        self._pairs[self._end] = device_t, host_t
        self._end += 1
        oldest = np.searchsorted(
            self._pairs[self._start : self._end, 0], device_t - self.window_s, side="left"
        )
        self._start += int(min(oldest, self._end - self._start - 2)) if oldest > 0 else 0
        self._dirty = True

    def map(self, device_t: NDArray[np.float64]) -> NDArray[np.float64]:
        """Session times of device times ``device_t`` (shape (n,), seconds)."""
        if self._end == self._start:
            raise ValueError("ClockAligner.map needs at least one pair; add() first")
        self._refit()
        return self._offset + self._skew * np.asarray(device_t, dtype=np.float64)

    def _refit(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        pairs = self._pairs[self._start : self._end]
        dev, host = pairs[:, 0], pairs[:, 1]
        if dev[-1] - self._fitted_at >= self.refit_s:  # the skew moves slowly: refit now and then
            self._fitted_at = float(dev[-1])
            self._skew = self._fit_skew(dev, host)
        self._offset = float(np.min(host - self._skew * dev))

    def _fit_skew(self, dev: NDArray[np.float64], host: NDArray[np.float64]) -> float:
        if dev[-1] - dev[0] < self.min_span_s or dev.size < 4:
            return 1.0
        edges = np.linspace(dev[0], dev[-1], self.bins + 1)
        which = np.clip(np.searchsorted(edges, dev, side="right") - 1, 0, self.bins - 1)
        latency = host - dev
        order = np.lexsort((latency, which))  # by bin, then by latency
        first = np.flatnonzero(np.r_[True, np.diff(which[order]) != 0])
        picks = order[first]  # the least-latency pair of each bin
        if picks.size < 3:
            return 1.0
        d, h = dev[picks], host[picks]
        d0 = d - d.mean()
        slope = float(np.dot(d0, h - h.mean()) / np.dot(d0, d0))
        return float(np.clip(slope, 1 - self.max_skew, 1 + self.max_skew))
