"""From a stream's channels to pressure (kPa) and centre of pressure.

Force channels (N) are summed into the total force and divided by the contact
area of the tool; a pressure channel (kPa) is used as it is. A pad with three or
more force channels at known positions also gives the centre of pressure (CoP),
the force-weighted mean of the channel positions. Positions come from the
stream's ``meta["positions_mm"]`` (one ``[x, y]`` per force channel); a 4-channel
pad without them is taken as a square with channels at the corners
``(-1,-1), (1,-1), (1,1), (-1,1)`` in channel order.

Examples
--------
>>> import numpy as np
>>> from analysis.stream import Channel, StreamInfo
>>> info = StreamInfo("sim", "pad", 100.0, (Channel("force", "N", "force"),))
>>> PressureMap(info, area_cm2=2.0).pressure_kpa(np.array([[4.0]], np.float32))
array([20.])
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from analysis.stream import StreamInfo
from analysis.tools import pressure_kpa_per_newton

__all__ = ["DEFAULT_SQUARE", "PressureMap"]

FloatArray = NDArray[np.float64]

DEFAULT_SQUARE: Final = ((-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0))
"""Corner positions assumed for a 4-channel pad without ``positions_mm``."""

_MIN_COP_FORCE_N: Final = 0.2  # below this total force the CoP is noise


class PressureMap:
    """Turns frames of one stream into pressure and CoP.

    Parameters
    ----------
    info : StreamInfo
        The stream; its force, pressure and accel channels are found by kind.
    area_cm2 : float
        Contact area of the tool, cm² (ignored for pressure channels).
    """

    def __init__(self, info: StreamInfo, area_cm2: float) -> None:
        self.kpa_per_n = pressure_kpa_per_newton(area_cm2)
        self.area_cm2 = float(area_cm2)
        self.force_idx = info.indices("force")
        self.pressure_idx = info.indices("pressure")
        self.accel_idx = info.indices("accel")
        self.positions: FloatArray | None = self._positions(info)
        self._mix: FloatArray | None = None

    @property
    def has_pressure(self) -> bool:
        return bool(self.force_idx or self.pressure_idx)

    @property
    def has_accel(self) -> bool:
        return len(self.accel_idx) == 3

    def _positions(self, info: StreamInfo) -> FloatArray | None:
        n = len(self.force_idx)
        if n < 3:
            return None
        given = info.meta.get("positions_mm")
        if given is not None:
            pos = np.asarray(given, dtype=np.float64)
            if pos.shape != (n, 2):
                raise ValueError(
                    f"{info.source}: meta positions_mm has shape {pos.shape}, "
                    f"expected ({n}, 2) for {n} force channels"
                )
            return pos
        if n == 4:
            return np.asarray(DEFAULT_SQUARE)
        return None

    def _weights(self, n_channels: int) -> FloatArray:
        """Columns summing x, y moments (when positioned) and total force over the channels."""
        if self._mix is None or self._mix.shape[0] != n_channels:
            mix = np.zeros((n_channels, 3))
            mix[self.force_idx, 2] = 1.0
            if self.positions is not None:
                mix[self.force_idx, :2] = self.positions
            self._mix = mix
        return self._mix

    def force_n(self, x: NDArray[np.float32]) -> FloatArray | None:
        """Total force, N, shape (n,); ``None`` without force channels."""
        if not self.force_idx:
            return None
        total: FloatArray = x @ self._weights(x.shape[1])[:, 2]
        return total

    def pressure_kpa(self, x: NDArray[np.float32]) -> FloatArray | None:
        """Pressure, kPa, shape (n,); ``None`` when the stream measures no force."""
        if not self.force_idx:
            return self.pressure_and_cop(x)[0]
        pressure: FloatArray = x @ (self._weights(x.shape[1])[:, 2] * self.kpa_per_n)
        return pressure

    def cop(self, x: NDArray[np.float32]) -> FloatArray | None:
        """Centre of pressure, shape (n, 2), in the unit of the positions; NaN without contact."""
        return self.pressure_and_cop(x)[1]

    def pressure_and_cop(
        self, x: NDArray[np.float32]
    ) -> tuple[FloatArray | None, FloatArray | None]:
        """Pressure (kPa, shape (n,)) and CoP (shape (n, 2)) from one pass over the frame."""
        if not self.force_idx:
            if self.pressure_idx:
                mean: FloatArray = x[:, self.pressure_idx].astype(np.float64).mean(axis=1)
                return mean, None
            return None, None
        sums = x @ self._weights(x.shape[1])  # (n, 3): x and y moments, total force
        total = sums[:, 2]
        pressure: FloatArray = total * self.kpa_per_n
        if self.positions is None:
            return pressure, None
        # divide along contiguous rows, NaN where the force is too small for a CoP; the
        # (n, 2) result is a view of a (2, n) array, as the stroke tracker wants it
        rows = np.ascontiguousarray(sums.T)
        cop = np.full((2, rows.shape[1]), np.nan)
        np.divide(rows[:2], rows[2], out=cop, where=rows[2] >= _MIN_COP_FORCE_N)
        return pressure, cop.T

    def accel(self, x: NDArray[np.float32]) -> FloatArray | None:
        """Acceleration, shape (n, 3), m/s^2; ``None`` without three accel channels."""
        if not self.has_accel:
            return None
        accel: FloatArray = x[:, self.accel_idx].astype(np.float64)
        return accel
