"""The calibration procedure without Qt: capture steady readings under known weights, fit, save.

Place known weights one by one (0 kg first); for each, :meth:`CalibrationSteps.capture`
takes the newest second of one raw channel and keeps its mean, refusing a reading that
is not steady (someone is still pressing, the weight is rocking). :meth:`fit` fits
``analysis.calibration`` (linear for load cells, a monotone table otherwise) and
reports the error; :meth:`save` writes a :class:`~analysis.calibration.DeviceCalibration`
as JSON into the calibrations folder, one file per device.

Examples
--------
>>> import numpy as np
>>> steps = CalibrationSteps("pad-01", channels=1)
>>> for kg, counts in [(0, 100.0), (1, 300.0), (2, 500.0)]:
...     t = np.arange(100) / 100.0
...     rows = np.column_stack([t, np.full(100, counts)])
...     _ = steps.capture(rows, channel=0, known_kg=kg)
>>> cal, report = steps.fit("linear", channel=0)
>>> round(float(cal.apply(np.array([400.0]))[0]), 3), round(report.rmse_n, 6)
(14.71, 0.0)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from analysis.calibration import (
    MIN_POINTS,
    DeviceCalibration,
    FitReport,
    LinearCalibration,
    TableCalibration,
    fit_linear,
    fit_table,
)
from analysis.stream import G_STANDARD
from sessions.calibrations import save_calibration

__all__ = ["CalibrationSteps", "Point"]

STEADY_SPAN_S = 1.0
"""A capture averages this many seconds of the newest samples."""


@dataclass(frozen=True, slots=True)
class Point:
    """One known load: the channel's mean reading and the load in newtons."""

    channel: int
    raw: float
    force_n: float
    spread: float


@dataclass
class CalibrationSteps:
    """Known-weight points per channel of one device (see the module docstring).

    Parameters
    ----------
    device_id : str
        The device the calibration belongs to.
    channels : int
        Raw channels of the device.
    max_relative_spread : float
        A capture is refused when the reading moves (a trend beyond its noise) by more
        than this share of the span of the readings captured so far, so a weight that is
        still rocking or a hand still on the pad is not taken.
    """

    device_id: str
    channels: int
    max_relative_spread: float = 0.02
    points: list[Point] = field(default_factory=list)

    def capture(self, rows: NDArray[np.float64], channel: int, known_kg: float) -> Point:
        """Take the newest :data:`STEADY_SPAN_S` of ``rows`` ``(t, ch0, ch1, ...)`` as a point.

        Raises ``ValueError`` (said plainly) for too little data, a bad weight or an
        unsteady reading.
        """
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel} does not exist (the device has {self.channels})")
        if not (math.isfinite(known_kg) and known_kg >= 0):
            raise ValueError(f"the known weight must be 0 kg or more, got {known_kg!r}")
        if rows.shape[0] < 5:
            raise ValueError("not enough samples yet: wait a second with the weight in place")
        t = rows[:, 0]
        recent = rows[t >= t[-1] - STEADY_SPAN_S, 1 + channel]
        recent = recent[np.isfinite(recent)]
        if recent.size < 5:
            raise ValueError("no valid readings in the last second: check the connection")
        tt = t[t >= t[-1] - STEADY_SPAN_S][-recent.size :]
        mean, spread = float(recent.mean()), float(recent.std())
        # steady = no trend beyond the noise: the reading's change over the second (from a
        # straight-line fit) against the scatter around that line, and against the span of
        # the readings captured so far
        slope, intercept = np.polyfit(tt - tt[0], recent, 1)
        change = abs(float(slope)) * float(tt[-1] - tt[0])
        noise = float(np.std(recent - (slope * (tt - tt[0]) + intercept)))
        span = self._span(mean)
        if change > 6.0 * noise + 1e-12 and (span == 0 or change > self.max_relative_spread * span):
            raise ValueError(
                f"the reading is not steady (it moved by {change:.3g} in the last second): let "
                "the weight settle and nobody touch the pad, then capture again"
            )
        point = Point(channel, mean, known_kg * G_STANDARD, spread)
        self.points.append(point)
        return point

    def _span(self, mean: float) -> float:
        raws = [p.raw for p in self.points] + [mean]
        return max(raws) - min(raws)

    def remove(self, index: int) -> None:
        del self.points[index]

    def of_channel(self, channel: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Readings and loads (N) captured for ``channel``."""
        pts = [p for p in self.points if p.channel == channel]
        return np.array([p.raw for p in pts]), np.array([p.force_n for p in pts])

    def fit(
        self, model: str, channel: int
    ) -> tuple[LinearCalibration | TableCalibration, FitReport]:
        """Fit ``model`` (``linear`` or ``table``) to the points of ``channel``."""
        raw, force = self.of_channel(channel)
        if raw.size < MIN_POINTS:
            raise ValueError(
                f"capture at least {MIN_POINTS} known weights (0 kg first); "
                f"channel {channel} has {raw.size}"
            )
        if model == "linear":
            return fit_linear(raw, force)
        if model == "table":
            return fit_table(raw, force)
        raise ValueError(f"unknown calibration model {model!r}; choose linear or table")

    def device_calibration(self, model: str, notes: str = "") -> DeviceCalibration:
        """One fitted calibration per channel, as stored."""
        fits = [self.fit(model, ch) for ch in range(self.channels)]
        text = notes or "; ".join(
            f"ch{ch}: {len(self.of_channel(ch)[0])} points, rmse {r.rmse_n:.3g} N "
            f"({r.rmse_pct_full_scale:.2g} % FS)"
            for ch, (_cal, r) in enumerate(fits)
        )
        return DeviceCalibration(
            self.device_id, tuple(c for c, _ in fits), created_unix=time.time(), notes=text
        )

    def save(self, model: str, folder: Path | None = None) -> Path:
        """Write the calibration as JSON; return the file (named after the device)."""
        return save_calibration(self.device_calibration(model), folder)
