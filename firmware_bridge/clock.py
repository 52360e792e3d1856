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

from collections import deque

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
    ) -> None:
        if not window_s > min_span_s > 0:
            raise ValueError(f"need window_s > min_span_s > 0, got {window_s}, {min_span_s}")
        if not 0 <= max_skew < 0.5:
            raise ValueError(f"max_skew must be in [0, 0.5), got {max_skew}")
        self.window_s = float(window_s)
        self.min_span_s = float(min_span_s)
        self.max_skew = float(max_skew)
        self.bins = int(bins)
        self._dev: deque[float] = deque()
        self._host: deque[float] = deque()
        self._skew = 1.0
        self._offset = np.nan
        self._dirty = False

    def reset(self) -> None:
        """Forget every pair (the device clock restarted, e.g. after a reconnect)."""
        self._dev.clear()
        self._host.clear()
        self._skew = 1.0
        self._offset = np.nan
        self._dirty = False

    @property
    def ready(self) -> bool:
        """Whether at least one pair has been seen."""
        return bool(self._dev)

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
        if self._dev and device_t < self._dev[-1]:
            raise ValueError(
                f"device time went back from {self._dev[-1]} to {device_t}; reset() first"
            )
        self._dev.append(float(device_t))
        self._host.append(float(host_t))
        while len(self._dev) > 2 and self._dev[-1] - self._dev[0] > self.window_s:
            self._dev.popleft()
            self._host.popleft()
        self._dirty = True

    def map(self, device_t: NDArray[np.float64]) -> NDArray[np.float64]:
        """Session times of device times ``device_t`` (shape (n,), seconds)."""
        if not self._dev:
            raise ValueError("ClockAligner.map needs at least one pair; add() first")
        self._refit()
        return self._offset + self._skew * np.asarray(device_t, dtype=np.float64)

    def _refit(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        dev = np.fromiter(self._dev, np.float64, len(self._dev))
        host = np.fromiter(self._host, np.float64, len(self._host))
        span = dev[-1] - dev[0]
        skew = 1.0
        if span >= self.min_span_s and dev.size >= 4:
            edges = np.linspace(dev[0], dev[-1], self.bins + 1)
            which = np.clip(np.searchsorted(edges, dev, side="right") - 1, 0, self.bins - 1)
            latency = host - dev
            picks = []
            for b in np.unique(which):
                members = np.flatnonzero(which == b)
                picks.append(members[np.argmin(latency[members])])
            if len(picks) >= 3:
                d, h = dev[picks], host[picks]
                slope = float(np.polyfit(d - d.mean(), h - h.mean(), 1)[0])
                skew = float(np.clip(slope, 1 - self.max_skew, 1 + self.max_skew))
        self._skew = skew
        self._offset = float(np.min(host - skew * dev))
