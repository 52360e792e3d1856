"""Per-channel calibration (raw readings to newtons), tare, and an outlier gate for ADC spikes.

A sensor reports raw values (ADC counts, or a driver's own unit); a **calibration**
maps them to newtons, one per channel:

- :class:`LinearCalibration` for load cells, ``F = gain * (raw - offset)``;
- :class:`PowerLawCalibration` for force-sensing resistors read through a voltage
  divider (:class:`FsrDivider`): counts become the FSR's conductance ``G`` and
  ``F = a * G**b`` above a contact threshold, 0 below it (the break-force region);
- :class:`TableCalibration`, a monotone piecewise-linear table;
- :class:`HysteresisCalibration`, separate loading and unloading branches chosen
  by the sign of the smoothed force derivative.

Each is fitted from a few known loads (``fit_linear``, ``fit_power_law``,
``fit_table``; three points at least, three to eight is the usual procedure) and
the fit returns a :class:`FitReport` with the error as a percentage of full
scale. Calibrations are plain data: ``to_dict()`` gives JSON-ready values with a
``"model"`` and a ``"version"``, and :func:`calibration_from_dict` /
:meth:`DeviceCalibration.from_dict` read them back, so a calibration is stored
with the device id it belongs to and travels in session metadata.

A :class:`Tare` removes the per-session offset (the median of an unloaded,
quiet stretch: :func:`is_quiet` lets the UI refuse to tare while someone is
pressing). The :class:`OutlierGate` removes the isolated 1-3 sample spikes that
load-cell ADCs emit, before any derivative is taken, at the price of a fixed
delay of a few samples.

Examples
--------
>>> import json
>>> import numpy as np
>>> raw = np.array([100.0, 300.0, 500.0])          # ADC counts at 0, 10 and 20 N
>>> cal, report = fit_linear(raw, np.array([0.0, 10.0, 20.0]))
>>> round(float(cal.apply(np.array([400.0]))[0]), 6), round(report.rmse_n, 6)
(15.0, 0.0)
>>> device = DeviceCalibration("pad-01", (cal,), created_unix=1.7e9)
>>> DeviceCalibration.from_dict(json.loads(json.dumps(device.to_dict()))) == device
True
>>> device.apply(np.array([[100.0], [500.0]])).round(6).tolist()
[[0.0], [20.0]]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided, sliding_window_view
from numpy.typing import NDArray

__all__ = [
    "FORMAT_VERSION",
    "MIN_POINTS",
    "BranchCalibration",
    "BranchState",
    "Calibration",
    "Calibrator",
    "DeviceCalibration",
    "FitReport",
    "FsrDivider",
    "HysteresisCalibration",
    "LinearCalibration",
    "NotQuietError",
    "OutlierConfig",
    "OutlierGate",
    "PowerLawCalibration",
    "TableCalibration",
    "Tare",
    "calibration_from_dict",
    "contact_conductance_from_rest",
    "fit_linear",
    "fit_power_law",
    "fit_table",
    "gate_outliers",
    "is_quiet",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
_T = TypeVar("_T")

FORMAT_VERSION: Final = 1
"""Version written into every ``to_dict()``; ``from_dict`` accepts this version only."""

MIN_POINTS: Final = 3
"""Fewest known loads a fit accepts."""

MAX_LOAD_N: Final = 1e5
"""Largest known load a fit accepts, N (10 tonnes: anything above is a unit mistake)."""

MAX_EXPONENT: Final = 20.0
"""Largest power-law exponent a fit accepts (force-sensing resistors give about 1-2)."""

MAX_RAW: Final = 1e12
"""Largest reading a fit accepts, in the device's raw unit (a 32-bit ADC gives 4e9)."""

_MAD_TO_SIGMA: Final = 1.4826  # MAD of a normal distribution times this is its sigma


# -- fit report ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FitReport:
    """How well a calibration reproduces the known loads it was fitted from.

    Attributes
    ----------
    rmse_n : float
        Root-mean-square error over the points, newtons.
    rmse_pct_full_scale : float
        ``rmse_n`` as a percentage of ``full_scale_n``.
    max_error_n : float
        Largest absolute error, newtons.
    n_points : int
        Known loads given to the fit (including any it could not use).
    full_scale_n : float
        Largest absolute known load, newtons.
    residuals_n : tuple of float
        Calibrated minus known force per point, newtons (for a table: per interior
        point, see ``method``).
    method : str
        ``"residuals"`` (errors at the fitted points) or ``"leave-one-out"`` (each
        interior point predicted from the others; a table passes through its own
        points, so that is the only honest figure for it).
    """

    rmse_n: float
    rmse_pct_full_scale: float
    max_error_n: float
    n_points: int
    full_scale_n: float
    residuals_n: tuple[float, ...] = ()
    method: str = "residuals"


def _report(residuals: FloatArray, force_n: FloatArray, method: str = "residuals") -> FitReport:
    full_scale = float(np.max(np.abs(force_n)))
    rmse = float(np.sqrt(np.mean(residuals**2))) if residuals.size else 0.0
    return FitReport(
        rmse_n=rmse,
        rmse_pct_full_scale=100.0 * rmse / full_scale if full_scale > 0 else math.inf,
        max_error_n=float(np.max(np.abs(residuals))) if residuals.size else 0.0,
        n_points=int(force_n.size),
        full_scale_n=full_scale,
        residuals_n=tuple(float(r) for r in residuals),
        method=method,
    )


# -- models --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinearCalibration:
    """Load cell: ``F = gain_n_per_unit * (raw - offset_units)``.

    Parameters
    ----------
    gain_n_per_unit : float
        Newtons per raw unit (per ADC count); non-zero, may be negative.
    offset_units : float
        Raw reading at zero force, raw units.
    """

    gain_n_per_unit: float
    offset_units: float = 0.0

    def __post_init__(self) -> None:
        _check_finite(self, ("gain_n_per_unit", "offset_units"))
        if self.gain_n_per_unit == 0:
            raise ValueError("LinearCalibration.gain_n_per_unit must not be zero")

    def apply(self, raw: npt.ArrayLike) -> FloatArray:
        """Force for raw readings.

        Parameters
        ----------
        raw : array_like, any shape, raw units

        Returns
        -------
        ndarray, same shape, float64, newtons
            A new array; NaN stays NaN.
        """
        r = np.asarray(raw, dtype=np.float64)
        return self.gain_n_per_unit * (r - self.offset_units)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data (see :func:`calibration_from_dict`)."""
        return {
            "model": "linear",
            "version": FORMAT_VERSION,
            "gain_n_per_unit": self.gain_n_per_unit,
            "offset_units": self.offset_units,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinearCalibration:
        """Read :meth:`to_dict` output back; ``ValueError`` says what is wrong."""
        d = _Fields(data, "linear", ("gain_n_per_unit", "offset_units"))
        return d.build(
            cls, gain_n_per_unit=d.number("gain_n_per_unit"), offset_units=d.number("offset_units")
        )


@dataclass(frozen=True, slots=True)
class FsrDivider:
    """How an FSR is wired into a voltage divider, and so how counts give its conductance.

    Two orientations, with a fixed resistor ``R`` (``r_fixed_ohm``):

    - ``fsr_on_high_side=False`` (default): the fixed resistor pulls the ADC node up
      to the supply and the FSR goes from the node to ground. At rest the FSR is
      open (an FSR 402 is > 10 MΩ unloaded) and the node sits at its *open level*;
      pressing lowers the FSR's resistance and pulls the reading **down**.
    - ``fsr_on_high_side=True``: the FSR goes from the supply to the node and the
      fixed resistor to ground. The open level is 0 and pressing pulls the reading
      **up** towards ``adc_max``.

    In both, with ``u`` the fraction of the way the reading has moved from the open
    level to the rail the FSR connects to (ground or supply),
    ``u = (raw - open) / (rail - open)``, the divider gives
    ``u = R G / (1 + R G)``, so ``G = u / ((1 - u) R)``.

    ``open_counts`` sets the open level when it is not the supply rail: an extra
    resistance from the node to ground (a board pull-down, the ADC input) turns the
    pull-up into a Thévenin source below the supply, and the reading at rest is
    then below ``adc_max``. Measure it from an unloaded stretch. That shunt also
    lowers the effective ``R``, which only rescales ``G``: the fitted ``a`` of a
    :class:`PowerLawCalibration` absorbs it, so forces stay right even when
    ``r_fixed_ohm`` is nominal.

    Parameters
    ----------
    r_fixed_ohm : float
        The fixed divider resistor, ohms.
    adc_max : float
        Full-scale reading, counts (4095 for a 12-bit ADC).
    fsr_on_high_side : bool
        Orientation, see above.
    open_counts : float or None
        Reading with the FSR open (no contact), counts; ``None`` means the rail the
        fixed resistor goes to: ``adc_max`` (low side) or 0 (high side).
    """

    r_fixed_ohm: float = 10_000.0
    adc_max: float = 4095.0
    fsr_on_high_side: bool = False
    open_counts: float | None = None

    def __post_init__(self) -> None:
        _check_finite(self, ("r_fixed_ohm", "adc_max"))
        if not isinstance(self.fsr_on_high_side, bool):
            raise ValueError(
                f"FsrDivider.fsr_on_high_side must be a bool, not {self.fsr_on_high_side!r}"
            )
        if self.r_fixed_ohm <= 0 or self.adc_max <= 0:
            raise ValueError(
                f"FsrDivider needs positive r_fixed_ohm and adc_max, got "
                f"{self.r_fixed_ohm!r} and {self.adc_max!r}"
            )
        if self.open_counts is not None:
            _check_finite(self, ("open_counts",))
            if not 0 <= self.open_counts <= self.adc_max:
                raise ValueError(
                    f"FsrDivider.open_counts {self.open_counts!r} is outside 0..{self.adc_max!r}"
                )
            if self.open_counts == self.rail_counts:
                side = "supply" if self.fsr_on_high_side else "ground"
                raise ValueError(
                    f"FsrDivider.open_counts {self.open_counts!r} equals the rail the FSR "
                    f"connects to ({side}); the reading could not move with load"
                )

    @property
    def open_level(self) -> float:
        """Reading with the FSR open, counts."""
        if self.open_counts is not None:
            return float(self.open_counts)
        return 0.0 if self.fsr_on_high_side else float(self.adc_max)

    @property
    def rail_counts(self) -> float:
        """Reading with the FSR shorted, counts: ``adc_max`` (high side) or 0 (low side)."""
        return float(self.adc_max) if self.fsr_on_high_side else 0.0

    def conductance_us(self, raw: npt.ArrayLike) -> FloatArray:
        """FSR conductance for raw readings.

        Parameters
        ----------
        raw : array_like, any shape, counts

        Returns
        -------
        ndarray, same shape, float64, microsiemens
            0 at or beyond the open level (no contact); readings within half a
            count of the rail are held there (finite, very large); NaN stays NaN.
        """
        r = np.asarray(raw, dtype=np.float64)
        span = self.rail_counts - self.open_level
        u_max = 1.0 - 0.5 / abs(span)
        u = np.clip((r - self.open_level) / span, 0.0, u_max)
        return 1e6 * u / ((1.0 - u) * self.r_fixed_ohm)

    def to_dict(self) -> dict[str, Any]:
        return {
            "r_fixed_ohm": self.r_fixed_ohm,
            "adc_max": self.adc_max,
            "fsr_on_high_side": self.fsr_on_high_side,
            "open_counts": self.open_counts,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FsrDivider:
        d = _Fields(
            data,
            None,
            ("r_fixed_ohm", "adc_max", "fsr_on_high_side", "open_counts"),
            what="divider",
        )
        open_counts = data["open_counts"]
        return d.build(
            cls,
            r_fixed_ohm=d.number("r_fixed_ohm"),
            adc_max=d.number("adc_max"),
            fsr_on_high_side=d.boolean("fsr_on_high_side"),
            open_counts=None if open_counts is None else d.number("open_counts"),
        )


@dataclass(frozen=True, slots=True)
class PowerLawCalibration:
    """Force-sensing resistor: ``F = a * G**b`` above the contact threshold, 0 below it.

    ``G`` is the FSR's conductance in microsiemens, from the raw counts through
    ``divider``. Below ``contact_conductance_us`` the FSR is in its break-force
    region (effectively open, no usable reading) and the force is 0; at the
    threshold it steps from 0 to ``a * contact_conductance_us**b``, the smallest
    force this channel can tell from rest (0.1-0.5 N on a typical FSR pad).

    Parameters
    ----------
    a : float
        Newtons at a conductance of 1 µS (so in N / µS**b); positive.
    b : float
        Exponent; positive (force rises with conductance). Near 1 for many FSRs.
    contact_conductance_us : float
        Contact threshold, µS; >= 0.
    divider : FsrDivider
        How counts become conductance.
    """

    a: float
    b: float
    contact_conductance_us: float = 0.0
    divider: FsrDivider = field(default_factory=FsrDivider)

    def __post_init__(self) -> None:
        _check_finite(self, ("a", "b", "contact_conductance_us"))
        if self.a <= 0 or self.b <= 0:
            raise ValueError(
                f"PowerLawCalibration needs a > 0 and b > 0 (force rises with "
                f"conductance), got a={self.a!r}, b={self.b!r}"
            )
        if self.contact_conductance_us < 0:
            raise ValueError(
                f"PowerLawCalibration.contact_conductance_us must be >= 0, "
                f"got {self.contact_conductance_us!r}"
            )
        if not isinstance(self.divider, FsrDivider):
            raise ValueError(
                f"PowerLawCalibration.divider must be an FsrDivider, not {self.divider!r}"
            )

    def apply(self, raw: npt.ArrayLike) -> FloatArray:
        """Force for raw readings.

        Parameters
        ----------
        raw : array_like, any shape, counts

        Returns
        -------
        ndarray, same shape, float64, newtons
            >= 0; exactly 0 at or below the contact threshold; NaN stays NaN.
        """
        g = self.divider.conductance_us(raw)
        contact = g > self.contact_conductance_us
        force = np.where(contact, self.a * np.where(contact, g, 1.0) ** self.b, 0.0)
        return np.where(np.isnan(g), np.nan, force)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data (see :func:`calibration_from_dict`)."""
        return {
            "model": "power_law",
            "version": FORMAT_VERSION,
            "a": self.a,
            "b": self.b,
            "contact_conductance_us": self.contact_conductance_us,
            "divider": self.divider.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PowerLawCalibration:
        """Read :meth:`to_dict` output back; ``ValueError`` says what is wrong."""
        d = _Fields(data, "power_law", ("a", "b", "contact_conductance_us", "divider"))
        divider = data["divider"]
        if not isinstance(divider, Mapping):
            raise ValueError(f"power_law calibration: 'divider' must be a mapping, not {divider!r}")
        try:
            div = FsrDivider.from_dict(divider)
        except ValueError as err:
            raise ValueError(f"power_law calibration: divider: {err}") from err
        return d.build(
            cls,
            a=d.number("a"),
            b=d.number("b"),
            contact_conductance_us=d.number("contact_conductance_us"),
            divider=div,
        )


@dataclass(frozen=True, slots=True)
class TableCalibration:
    """A monotone table of (raw, force) points, interpolated piecewise-linearly.

    Outside the table (documented policy):

    - beyond the **high-force** end the line of the last segment is continued, so
      pressing harder than the heaviest calibration load still reads higher (a
      clamp would hide deepening pressure from the ramp warning);
    - beyond the **low-force** end the force is held at that end's value (put the
      unloaded reading in the table as its 0 N point), so rest noise never turns
      into negative force.

    Parameters
    ----------
    raw_points : tuple of float
        Raw readings, strictly increasing, raw units; two at least.
    force_points : tuple of float
        Force at each raw reading, newtons; monotone (non-decreasing or
        non-increasing, not constant), so FSR tables whose reading falls with
        load are fine.
    """

    raw_points: tuple[float, ...]
    force_points: tuple[float, ...]

    def __post_init__(self) -> None:
        raw = tuple(float(v) for v in self.raw_points)
        force = tuple(float(v) for v in self.force_points)
        object.__setattr__(self, "raw_points", raw)
        object.__setattr__(self, "force_points", force)
        if len(raw) != len(force):
            raise ValueError(
                f"TableCalibration has {len(raw)} raw points but {len(force)} force points"
            )
        if len(raw) < 2:
            raise ValueError(f"TableCalibration needs two points at least, got {len(raw)}")
        if not all(math.isfinite(v) for v in raw + force):
            raise ValueError("TableCalibration points must be finite numbers")
        steps = np.diff(raw)
        if not np.all(steps > 0):
            i = int(np.flatnonzero(steps <= 0)[0])
            raise ValueError(
                f"TableCalibration.raw_points must strictly increase: point {i + 1} "
                f"({raw[i + 1]!r}) does not come after point {i} ({raw[i]!r}); "
                f"fit_table sorts the points for you"
            )
        _check_monotone(np.asarray(raw), np.asarray(force))

    @property
    def increasing(self) -> bool:
        """True when force rises with the raw reading."""
        return self.force_points[-1] > self.force_points[0]

    def apply(self, raw: npt.ArrayLike) -> FloatArray:
        """Force for raw readings (see the class docstring for outside the table).

        Parameters
        ----------
        raw : array_like, any shape, raw units

        Returns
        -------
        ndarray, same shape, float64, newtons
            NaN stays NaN.
        """
        r = np.asarray(raw, dtype=np.float64)
        xp = np.asarray(self.raw_points)
        fp = np.asarray(self.force_points)
        force = np.interp(r, xp, fp)
        if self.increasing:  # high-force end on the right
            slope = (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
            beyond = r > xp[-1]
            force = np.where(beyond, fp[-1] + slope * (r - xp[-1]), force)
        else:  # high-force end on the left
            slope = (fp[1] - fp[0]) / (xp[1] - xp[0])
            beyond = r < xp[0]
            force = np.where(beyond, fp[0] + slope * (r - xp[0]), force)
        return np.asarray(force, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data (see :func:`calibration_from_dict`)."""
        return {
            "model": "table",
            "version": FORMAT_VERSION,
            "raw_points": list(self.raw_points),
            "force_points": list(self.force_points),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableCalibration:
        """Read :meth:`to_dict` output back; ``ValueError`` says what is wrong."""
        d = _Fields(data, "table", ("raw_points", "force_points"))
        return d.build(
            cls, raw_points=d.numbers("raw_points"), force_points=d.numbers("force_points")
        )


BranchCalibration: TypeAlias = LinearCalibration | PowerLawCalibration | TableCalibration
"""A calibration that can serve as one branch of a :class:`HysteresisCalibration`."""


@dataclass(frozen=True, slots=True)
class BranchState:
    """What a :class:`HysteresisCalibration` carries from one block to the next.

    Attributes
    ----------
    history_n : ndarray, shape (<= span_samples, ...), newtons
        The last loading-branch forces seen.
    unloading : ndarray, shape (...), bool
        The branch the last sample was on.
    """

    history_n: FloatArray
    unloading: BoolArray


@dataclass(frozen=True, slots=True)
class HysteresisCalibration:
    """Separate loading and unloading branches (FSRs read lower while unloading).

    The branch is chosen per sample from the *smoothed derivative* of force: the
    change of the loading-branch force over the last ``span_samples`` samples
    (the sum of the last ``span_samples`` differences, i.e. a boxcar-smoothed
    derivative). It switches to unloading when that change falls below
    ``-deadband_n``, back to loading when it rises above ``+deadband_n``, and
    keeps the previous branch in between (a still hold stays on the branch it
    arrived on). A stream starts on the loading branch. Vectorised: the
    keep-previous rule is a forward fill, no per-sample loop.

    :meth:`apply` treats its input as one contiguous stretch along axis 0; to
    process a stream block by block with the same result use :meth:`apply_stream`
    (or :class:`Calibrator`, which does that for a whole device).

    Parameters
    ----------
    loading, unloading : LinearCalibration, PowerLawCalibration or TableCalibration
        The two branches.
    span_samples : int
        Samples over which the derivative is smoothed; >= 1.
    deadband_n : float
        Change over the span below which the branch is kept, newtons; >= 0.
    """

    loading: BranchCalibration
    unloading: BranchCalibration
    span_samples: int = 5
    deadband_n: float = 0.05

    def __post_init__(self) -> None:
        for name in ("loading", "unloading"):
            branch = getattr(self, name)
            if not isinstance(branch, LinearCalibration | PowerLawCalibration | TableCalibration):
                raise ValueError(
                    f"HysteresisCalibration.{name} must be a linear, power-law or table "
                    f"calibration, not {type(branch).__name__}"
                )
        if isinstance(self.span_samples, bool) or not isinstance(self.span_samples, int):
            raise ValueError(
                f"HysteresisCalibration.span_samples must be an int, not {self.span_samples!r}"
            )
        if self.span_samples < 1:
            raise ValueError(
                f"HysteresisCalibration.span_samples must be >= 1, got {self.span_samples}"
            )
        _check_finite(self, ("deadband_n",))
        if self.deadband_n < 0:
            raise ValueError(
                f"HysteresisCalibration.deadband_n must be >= 0, got {self.deadband_n}"
            )

    def apply(self, raw: npt.ArrayLike) -> FloatArray:
        """Force for one contiguous stretch of raw readings.

        Parameters
        ----------
        raw : array_like, shape (n, ...), raw units
            Time on axis 0.

        Returns
        -------
        ndarray, same shape, float64, newtons
        """
        return self.apply_stream(raw, None)[0]

    def apply_stream(
        self, raw: npt.ArrayLike, state: BranchState | None
    ) -> tuple[FloatArray, BranchState]:
        """Force for the next block of a stream.

        Parameters
        ----------
        raw : array_like, shape (n, ...), raw units
            Time on axis 0.
        state : BranchState or None
            What the previous block returned; ``None`` starts a stream.

        Returns
        -------
        force_n : ndarray, same shape, float64, newtons
        state : BranchState
            Pass it with the next block.
        """
        r = np.asarray(raw, dtype=np.float64)
        if r.ndim == 0:
            raise ValueError("HysteresisCalibration needs samples along axis 0, got a scalar")
        f_load = self.loading.apply(r)
        f_unload = self.unloading.apply(r)
        if state is None:
            history = np.empty((0, *r.shape[1:]))
            last = np.zeros(r.shape[1:], dtype=bool)
        else:
            history, last = state.history_n, state.unloading
            if history.shape[1:] != r.shape[1:]:
                raise ValueError(
                    f"block of shape {r.shape} does not continue a stream of shape "
                    f"(n, {', '.join(map(str, history.shape[1:]))})"
                )
        n = r.shape[0]
        if n == 0:
            return np.empty(r.shape), BranchState(history, last)
        full = np.concatenate((history, f_load))
        pos = np.arange(history.shape[0], full.shape[0])
        change = full[pos] - full[np.maximum(pos - self.span_samples, 0)]
        # 1 = unloading, 0 = loading, -1 = keep the previous branch (NaN lands here too)
        decided = np.where(
            change < -self.deadband_n, 1, np.where(change > self.deadband_n, 0, -1)
        ).astype(np.int8)
        rows = np.arange(n).reshape((n,) + (1,) * (r.ndim - 1))
        src = np.maximum.accumulate(np.where(decided >= 0, rows, -1), axis=0)
        picked = np.take_along_axis(decided, np.maximum(src, 0), axis=0)
        unloading = np.where(src >= 0, picked == 1, last)
        force = np.where(unloading, f_unload, f_load)
        new_state = BranchState(full[-self.span_samples :].copy(), unloading[-1].copy())
        return force, new_state

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data (see :func:`calibration_from_dict`)."""
        return {
            "model": "hysteresis",
            "version": FORMAT_VERSION,
            "loading": self.loading.to_dict(),
            "unloading": self.unloading.to_dict(),
            "span_samples": self.span_samples,
            "deadband_n": self.deadband_n,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HysteresisCalibration:
        """Read :meth:`to_dict` output back; ``ValueError`` says what is wrong."""
        d = _Fields(data, "hysteresis", ("loading", "unloading", "span_samples", "deadband_n"))
        branches: dict[str, BranchCalibration] = {}
        for name in ("loading", "unloading"):
            try:
                branch = calibration_from_dict(data[name])
            except ValueError as err:
                raise ValueError(f"hysteresis calibration: {name} branch: {err}") from err
            if isinstance(branch, HysteresisCalibration):
                raise ValueError(
                    f"hysteresis calibration: {name} branch cannot itself be hysteresis"
                )
            branches[name] = branch
        return d.build(
            cls,
            loading=branches["loading"],
            unloading=branches["unloading"],
            span_samples=d.integer("span_samples"),
            deadband_n=d.number("deadband_n"),
        )


Calibration: TypeAlias = (
    LinearCalibration | PowerLawCalibration | TableCalibration | HysteresisCalibration
)
"""Any per-channel calibration."""

_MODELS: Final[dict[str, Any]] = {
    "linear": LinearCalibration,
    "power_law": PowerLawCalibration,
    "table": TableCalibration,
    "hysteresis": HysteresisCalibration,
}


def calibration_from_dict(data: Any) -> Calibration:
    """Read any calibration's ``to_dict()`` output back.

    Raises
    ------
    ValueError
        Not a mapping, unknown ``"model"``, wrong ``"version"``, a missing or
        unknown key, or a value of the wrong kind; the message says which.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"a calibration must be a mapping, not {type(data).__name__}")
    if "model" not in data:
        raise ValueError(f"calibration has no 'model' key (keys: {sorted(data)})")
    model = data["model"]
    if not isinstance(model, str) or model not in _MODELS:
        raise ValueError(f"unknown calibration model {model!r}; expected one of {sorted(_MODELS)}")
    result: Calibration = _MODELS[model].from_dict(data)
    return result


# -- fits ----------------------------------------------------------------------------------------


def fit_linear(raw: npt.ArrayLike, force_n: npt.ArrayLike) -> tuple[LinearCalibration, FitReport]:
    """Least-squares load-cell calibration from known loads.

    Parameters
    ----------
    raw : array_like, shape (k,), raw units
        Readings at the known loads; k >= 3, at least two different readings.
    force_n : array_like, shape (k,), newtons
        The known loads (0 for the unloaded reading; negative for tension is fine).

    Returns
    -------
    LinearCalibration, FitReport
    """
    r, f = _points(raw, force_n, "fit_linear")
    if np.ptp(r) == 0:
        raise ValueError(f"fit_linear: all {r.size} readings are {r[0]!r}; the gain is undefined")
    if np.ptp(f) == 0:
        raise ValueError(f"fit_linear: all {f.size} loads are {f[0]!r} N; the gain would be zero")
    slope, intercept = _line(r, f)
    cal = LinearCalibration(gain_n_per_unit=slope, offset_units=-intercept / slope)
    return cal, _report(cal.apply(r) - f, f)


def fit_power_law(
    raw: npt.ArrayLike,
    force_n: npt.ArrayLike,
    divider: FsrDivider,
    *,
    contact_conductance_us: float | None = None,
    break_force_n: float = 0.1,
) -> tuple[PowerLawCalibration, FitReport]:
    """FSR calibration: least squares of ``log F = log a + b log G`` from known loads.

    Parameters
    ----------
    raw : array_like, shape (k,), counts
        Readings at the known loads.
    force_n : array_like, shape (k,), newtons
        The known loads, >= 0. Points at 0 N (the unloaded reading) are not in the
        log fit but are in the report.
    divider : FsrDivider
        How the FSR is wired; sets the conductance of each reading.
    contact_conductance_us : float, optional
        Contact threshold, µS; points at or below it are left out of the fit.
        Best set from the rest noise (:func:`contact_conductance_from_rest`), so
        that rest noise reads 0 N. When omitted it is where the fitted curve gives
        ``break_force_n``, which may lie inside the rest noise of a real circuit.
    break_force_n : float
        Turn-on force used when ``contact_conductance_us`` is omitted, newtons
        (0.1 N: the FSR 402 data sheet's actuation force).

    Returns
    -------
    PowerLawCalibration, FitReport
        The report covers every point given.

    Raises
    ------
    ValueError
        Fewer than 3 loaded points above the threshold, a negative load, a load on
        a reading that shows no contact, or force falling as conductance rises (the
        divider orientation or open level is wrong).
    """
    r, f = _points(raw, force_n, "fit_power_law")
    if np.any(f < 0):
        i = int(np.flatnonzero(f < 0)[0])
        raise ValueError(f"fit_power_law: point {i} has a negative load ({f[i]!r} N)")
    if not (math.isfinite(break_force_n) and break_force_n > 0):
        raise ValueError(f"fit_power_law: break_force_n must be positive, got {break_force_n!r}")
    g = divider.conductance_us(r)
    no_contact = (f > 0) & (g <= 0)
    if np.any(no_contact):
        i = int(np.flatnonzero(no_contact)[0])
        raise ValueError(
            f"fit_power_law: point {i} ({f[i]!r} N) reads {r[i]!r} counts, which is no "
            f"contact for this divider (open level {divider.open_level!r}, FSR on the "
            f"{'high' if divider.fsr_on_high_side else 'low'} side); check the orientation "
            f"and open_counts"
        )
    threshold = 0.0 if contact_conductance_us is None else float(contact_conductance_us)
    if not (math.isfinite(threshold) and threshold >= 0):
        raise ValueError(
            f"fit_power_law: contact_conductance_us must be >= 0, got {contact_conductance_us!r}"
        )
    use = (f > 0) & (g > threshold)
    if use.sum() < MIN_POINTS:
        raise ValueError(
            f"fit_power_law: needs {MIN_POINTS} loaded points above the contact threshold "
            f"({threshold!r} µS), got {int(use.sum())} of {r.size}"
        )
    log_g, log_f = np.log(g[use]), np.log(f[use])
    if np.ptp(log_g) == 0:
        raise ValueError("fit_power_law: all loaded points read the same conductance")
    b, log_a = _line(log_g, log_f)
    if not b > 0:
        raise ValueError(
            f"fit_power_law: force falls as conductance rises (exponent b = {b:.3g}); the "
            f"divider orientation (fsr_on_high_side={divider.fsr_on_high_side}) or open "
            f"level ({divider.open_level!r} counts) does not match the readings"
        )
    a = math.exp(log_a)
    if not (0.0 < a < math.inf and b <= MAX_EXPONENT):
        raise ValueError(
            f"fit_power_law: the loads do not follow a power law of the conductance (a = "
            f"{a:.3g}, b = {b:.3g}; an FSR gives b of about 1-2): check the unit of the loads "
            "and that each load goes with its own reading"
        )
    if contact_conductance_us is None:
        threshold = (break_force_n / a) ** (1.0 / b)
    cal = PowerLawCalibration(a=a, b=b, contact_conductance_us=threshold, divider=divider)
    return cal, _report(cal.apply(r) - f, f)


def contact_conductance_from_rest(
    rest_raw: npt.ArrayLike, divider: FsrDivider, n_sigma: float = 6.0
) -> float:
    """Contact threshold just outside the rest noise of an FSR channel.

    Parameters
    ----------
    rest_raw : array_like, shape (n,), counts
        Readings while nothing touches the sensor; n >= 3.
    divider : FsrDivider
    n_sigma : float
        How many robust sigmas (1.4826 × MAD, at least half a count) from the rest
        median towards the rail the threshold reading lies.

    Returns
    -------
    float, microsiemens
        The conductance of that reading; pass it as ``contact_conductance_us``
        to :func:`fit_power_law`, so that rest noise reads exactly 0 N.
    """
    r = np.asarray(rest_raw, dtype=np.float64)
    if r.ndim != 1 or r.size < MIN_POINTS or not np.all(np.isfinite(r)):
        raise ValueError(
            f"contact_conductance_from_rest: needs {MIN_POINTS} or more finite rest "
            f"readings in a 1-D array, got shape {r.shape}"
        )
    if not (math.isfinite(n_sigma) and n_sigma > 0):
        raise ValueError(
            f"contact_conductance_from_rest: n_sigma must be positive, not {n_sigma!r}"
        )
    centre = float(np.median(r))
    sigma = max(_MAD_TO_SIGMA * float(np.median(np.abs(r - centre))), 0.5)
    toward_rail = math.copysign(1.0, divider.rail_counts - divider.open_level)
    return float(divider.conductance_us(centre + toward_rail * n_sigma * sigma))


def fit_table(raw: npt.ArrayLike, force_n: npt.ArrayLike) -> tuple[TableCalibration, FitReport]:
    """Monotone table calibration through known loads.

    Parameters
    ----------
    raw : array_like, shape (k,), raw units
        Readings at the known loads, in any order, all different; k >= 3.
    force_n : array_like, shape (k,), newtons
        The known loads; monotone in the reading.

    Returns
    -------
    TableCalibration, FitReport
        The table passes through every point, so the report is leave-one-out:
        each interior point predicted from the table without it.

    Raises
    ------
    ValueError
        Repeated readings, or loads that are not monotone in the reading (the
        message names the points where the order turns).
    """
    r, f = _points(raw, force_n, "fit_table")
    order = np.argsort(r, kind="stable")
    r, f = r[order], f[order]
    same = np.flatnonzero(np.diff(r) == 0)
    if same.size:
        raise ValueError(
            f"fit_table: reading {r[same[0]]!r} appears more than once; average repeated "
            f"readings of one load, and give different loads different readings"
        )
    _check_monotone(r, f)
    table = TableCalibration(tuple(r.tolist()), tuple(f.tolist()))
    loo = np.empty(r.size - 2)
    for j, i in enumerate(range(1, r.size - 1)):  # a handful of points, not a hot path
        keep = np.arange(r.size) != i
        loo[j] = float(np.interp(r[i], r[keep], f[keep])) - f[i]
    return table, _report(loo, f, method="leave-one-out")


# -- a device ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceCalibration:
    """The calibrations of one device, one per channel, as plain data.

    Parameters
    ----------
    device_id : str
        The device the calibration belongs to (serial, BLE address or registry id).
    channels : tuple of Calibration
        One per column of the device's frames, in order.
    created_unix : float
        When the calibration was made, seconds since the Unix epoch.
    notes : str
        Free text (weights used, who calibrated, the FitReports).
    """

    device_id: str
    channels: tuple[Calibration, ...]
    created_unix: float
    notes: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.device_id, str) or not self.device_id.strip():
            raise ValueError(
                f"DeviceCalibration.device_id must be a non-empty str, not {self.device_id!r}"
            )
        object.__setattr__(self, "channels", tuple(self.channels))
        if not self.channels:
            raise ValueError(f"device {self.device_id!r}: a calibration needs at least one channel")
        for i, cal in enumerate(self.channels):
            if not isinstance(
                cal,
                LinearCalibration | PowerLawCalibration | TableCalibration | HysteresisCalibration,
            ):
                raise ValueError(
                    f"device {self.device_id!r}: channel {i} is a {type(cal).__name__}, "
                    f"not a calibration"
                )
        _check_finite(self, ("created_unix",))
        if not isinstance(self.notes, str):
            raise ValueError(
                f"DeviceCalibration.notes must be a str, not {type(self.notes).__name__}"
            )

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    def apply(self, x: npt.ArrayLike) -> FloatArray:
        """Force per channel for one contiguous stretch of raw samples.

        Parameters
        ----------
        x : array_like, shape (n, channels), raw units

        Returns
        -------
        ndarray, shape (n, channels), float64, newtons
            A new array. Hysteresis channels treat ``x`` as one stretch; use a
            :class:`Calibrator` to process a stream block by block.
        """
        return Calibrator(self).update(x)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data."""
        return {
            "version": FORMAT_VERSION,
            "device_id": self.device_id,
            "created_unix": self.created_unix,
            "notes": self.notes,
            "channels": [cal.to_dict() for cal in self.channels],
        }

    @classmethod
    def from_dict(cls, data: Any) -> DeviceCalibration:
        """Read :meth:`to_dict` output back.

        Raises
        ------
        ValueError
            Wrong version, missing or unknown keys, values of the wrong kind, or a
            channel that does not read (the message names the channel).
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a device calibration must be a mapping, not {type(data).__name__}")
        d = _Fields(
            data,
            None,
            ("device_id", "created_unix", "notes", "channels"),
            versioned=True,
            what="device calibration",
        )
        channels = data["channels"]
        if not isinstance(channels, list | tuple):
            raise ValueError(f"device calibration: 'channels' must be a list, not {channels!r}")
        device_id = data["device_id"]
        cals = []
        for i, ch in enumerate(channels):
            try:
                cals.append(calibration_from_dict(ch))
            except ValueError as err:
                raise ValueError(f"device {device_id!r}: channel {i}: {err}") from err
        notes = data["notes"]
        return d.build(
            cls,
            device_id=device_id,
            channels=tuple(cals),
            created_unix=d.number("created_unix"),
            notes=notes,
        )


class Calibrator:
    """Streaming calibration of a device: raw blocks in, newtons out.

    Carries the branch state of hysteresis channels from block to block, so any
    chunking of a stream gives the same forces as one call over the whole stream
    (:meth:`DeviceCalibration.apply`). The other models are stateless.

    Parameters
    ----------
    device : DeviceCalibration
    """

    def __init__(self, device: DeviceCalibration) -> None:
        self.device = device
        self._states: dict[int, BranchState] = {}

    def update(self, x: npt.ArrayLike) -> FloatArray:
        """Calibrate one block.

        Parameters
        ----------
        x : array_like, shape (n, channels), raw units

        Returns
        -------
        ndarray, shape (n, channels), float64, newtons
        """
        raw = np.asarray(x, dtype=np.float64)
        if raw.ndim != 2 or raw.shape[1] != self.device.n_channels:
            raise ValueError(
                f"device {self.device.device_id!r} is calibrated for "
                f"{self.device.n_channels} channels: expected samples of shape "
                f"(n, {self.device.n_channels}), got {raw.shape}"
            )
        out = np.empty(raw.shape)
        for i, cal in enumerate(self.device.channels):  # a few channels, each vectorised
            if isinstance(cal, HysteresisCalibration):
                out[:, i], self._states[i] = cal.apply_stream(raw[:, i], self._states.get(i))
            else:
                out[:, i] = cal.apply(raw[:, i])
        return out


# -- tare ----------------------------------------------------------------------------------------


class NotQuietError(ValueError):
    """The stretch offered for a tare moves too much (someone is touching the sensor).

    Attributes
    ----------
    std_n : tuple of float
        Standard deviation of each channel over the stretch, newtons.
    max_std_n : float
        The limit, newtons.
    """

    def __init__(self, std_n: tuple[float, ...], max_std_n: float) -> None:
        self.std_n = std_n
        self.max_std_n = max_std_n
        worst = max(range(len(std_n)), key=lambda i: std_n[i])
        super().__init__(
            f"cannot tare while the sensor is loaded or moving: channel {worst} varies by "
            f"{std_n[worst]:.3g} N (standard deviation), more than {max_std_n:.3g} N"
        )


def _as_columns(force_n: npt.ArrayLike, what: str) -> FloatArray:
    f = np.asarray(force_n, dtype=np.float64)
    if f.ndim == 1:
        f = f[:, None]
    if f.ndim != 2 or f.shape[0] == 0:
        raise ValueError(
            f"{what}: expected samples of shape (n, channels) with n >= 1, got {f.shape}"
        )
    if not np.all(np.isfinite(f)):
        row = int(np.flatnonzero(~np.isfinite(f).all(axis=1))[0])
        raise ValueError(f"{what}: row {row} holds a non-finite force")
    return f


def is_quiet(force_n: npt.ArrayLike, max_std_n: float = 0.1) -> bool:
    """Whether a stretch is still enough to tare on.

    Parameters
    ----------
    force_n : array_like, shape (n,) or (n, channels), newtons
        A second or so of calibrated force, before the tare.
    max_std_n : float
        Largest standard deviation allowed on any channel, newtons. The default
        0.1 N is above the noise of a typical load-cell or FSR pad at rest and
        below the tremor of a hand resting on it; tune per device.

    Returns
    -------
    bool
        True when every channel's standard deviation is at most ``max_std_n``.
    """
    f = _as_columns(force_n, "is_quiet")
    return bool(np.all(np.std(f, axis=0) <= max_std_n))


@dataclass(frozen=True, slots=True)
class Tare:
    """Per-session zero: an offset per channel subtracted from calibrated force.

    Parameters
    ----------
    offset_n : tuple of float
        Force read at rest per channel, newtons.
    """

    offset_n: tuple[float, ...]

    def __post_init__(self) -> None:
        offsets = tuple(float(v) for v in self.offset_n)
        if not offsets or not all(math.isfinite(v) for v in offsets):
            raise ValueError(f"Tare.offset_n must be one finite number per channel, got {offsets}")
        object.__setattr__(self, "offset_n", offsets)

    @classmethod
    def from_samples(cls, force_n: npt.ArrayLike, *, max_std_n: float | None = None) -> Tare:
        """Tare on an unloaded stretch: the median of each channel.

        Parameters
        ----------
        force_n : array_like, shape (n,) or (n, channels), newtons
            Calibrated force while nothing touches the sensor.
        max_std_n : float, optional
            When given, refuse (:class:`NotQuietError`) if any channel's standard
            deviation exceeds it (see :func:`is_quiet`).
        """
        f = _as_columns(force_n, "Tare.from_samples")
        if max_std_n is not None:
            std = np.std(f, axis=0)
            if np.any(std > max_std_n):
                raise NotQuietError(tuple(float(s) for s in std), float(max_std_n))
        return cls(tuple(float(v) for v in np.median(f, axis=0)))

    def apply(self, force_n: npt.ArrayLike) -> FloatArray:
        """Subtract the offsets.

        Parameters
        ----------
        force_n : array_like, shape (n, channels) or (n,) for one channel, newtons

        Returns
        -------
        ndarray, same shape, float64, newtons
        """
        f = np.asarray(force_n, dtype=np.float64)
        width = f.shape[-1] if f.ndim == 2 else 1
        if f.ndim not in (1, 2) or width != len(self.offset_n):
            raise ValueError(
                f"tare holds {len(self.offset_n)} channel offsets; got force of shape {f.shape}"
            )
        offsets = np.asarray(self.offset_n)
        out: FloatArray = f - (offsets[0] if f.ndim == 1 else offsets)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, "offset_n": list(self.offset_n)}

    @classmethod
    def from_dict(cls, data: Any) -> Tare:
        if not isinstance(data, Mapping):
            raise ValueError(f"a tare must be a mapping, not {type(data).__name__}")
        d = _Fields(data, None, ("offset_n",), versioned=True, what="tare")
        return d.build(cls, offset_n=d.numbers("offset_n"))


# -- outlier gate --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutlierConfig:
    """What counts as a spike.

    A sample is a spike when it departs from the median of the ``2 k + 1`` samples
    centred on it (``k = max_spike_samples``) by more than
    ``max(n_sigma * robust sigma, floor)``, the robust sigma being 1.4826 times the
    median absolute deviation of that window (a Hampel filter). A departure that
    lasts ``k`` samples or fewer and comes back is gated; one that lasts longer is
    a real change and passes, and a monotone stretch (a ramp, the edge of a step)
    equals its own running median, so it passes untouched.

    Parameters
    ----------
    floor : float
        Smallest departure that can be a spike, in the units of the gated signal
        (counts before calibration, newtons after). Seven samples give a rough
        sigma (on white noise the robust-sigma test alone flags ~1 % of samples),
        so the floor does real work: set it to 4 or more noise sigmas and above a
        few quantisation steps (at 4 sigmas white noise is gated < 1e-4 of the
        time, and a flat, quantised signal never).
    max_spike_samples : int
        Longest spike, samples; also the delay of the streaming gate. >= 1.
    n_sigma : float
        Departure threshold in robust sigmas.
    """

    floor: float
    max_spike_samples: int = 3
    n_sigma: float = 5.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.floor) and self.floor > 0):
            raise ValueError(f"OutlierConfig.floor must be a positive number, got {self.floor!r}")
        k = self.max_spike_samples
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"OutlierConfig.max_spike_samples must be an int >= 1, got {k!r}")
        if not (math.isfinite(self.n_sigma) and self.n_sigma > 0):
            raise ValueError(
                f"OutlierConfig.n_sigma must be a positive number, got {self.n_sigma!r}"
            )


def _hampel(padded: FloatArray, config: OutlierConfig) -> tuple[FloatArray, BoolArray]:
    """Gate the centres of every full window of ``padded`` (shape (m, ch)), m - 2k of them."""
    k = config.max_spike_samples
    m, ch = padded.shape
    if np.isnan(padded).any():  # np.median lets NaN through, as a window with one must
        windows = sliding_window_view(padded, 2 * k + 1, axis=0)  # (m - 2k, ch, 2k + 1)
        med = np.median(windows, axis=-1)
        mad = np.median(np.abs(windows - med[..., None]), axis=-1)
    else:  # the same numbers, a few times faster: the middle of a partial sort
        step_t, step_c = padded.strides
        windows = as_strided(padded, (m - 2 * k, ch, 2 * k + 1), (step_t, step_c, step_t))
        med = np.partition(windows, k, axis=-1)[..., k]
        dev = np.abs(windows - med[..., None])
        mad = np.partition(dev, k, axis=-1)[..., k]
        limit = np.maximum(config.n_sigma * _MAD_TO_SIGMA * mad, config.floor)
        flagged = dev[..., k] > limit  # the centre's own departure
        return np.where(flagged, med, padded[k : m - k]), flagged
    centre = padded[k : m - k]
    limit = np.maximum(config.n_sigma * _MAD_TO_SIGMA * mad, config.floor)
    flagged = np.abs(centre - med) > limit  # NaN compares False: never gated
    return np.where(flagged, med, centre), flagged


def _spans(x: FloatArray, width: int) -> FloatArray:
    """``max - min`` of every run of ``width`` consecutive samples of ``x``, shape
    (n - width + 1,): running extremes over doubling spans, a few passes in all."""
    hi = lo = x
    span = 1
    while 2 * span <= width:
        hi, lo = np.maximum(hi[:-span], hi[span:]), np.minimum(lo[:-span], lo[span:])
        span *= 2
    rest = width - span
    if rest:
        hi, lo = np.maximum(hi[:-rest], hi[rest:]), np.minimum(lo[:-rest], lo[rest:])
    spans: FloatArray = hi - lo
    return spans


def gate_outliers(x: npt.ArrayLike, config: OutlierConfig) -> tuple[FloatArray, BoolArray]:
    """Remove short spikes from a whole recording (no delay: it sees the future).

    Parameters
    ----------
    x : array_like, shape (n,) or (n, channels)
        Time on axis 0; channels are gated independently. The ends are padded
        with copies of the first and last sample.
    config : OutlierConfig

    Returns
    -------
    gated : ndarray, same shape, float64
        Spikes replaced by their window's median; every other sample unchanged.
    flagged : ndarray, same shape, bool
        Which samples were replaced.
    """
    v = np.asarray(x, dtype=np.float64)
    if v.ndim not in (1, 2):
        raise ValueError(f"gate_outliers: expected shape (n,) or (n, channels), got {v.shape}")
    if v.shape[0] == 0:
        return v.copy(), np.zeros(v.shape, dtype=bool)
    cols = v.reshape(v.shape[0], -1)
    k = config.max_spike_samples
    padded = np.concatenate((np.repeat(cols[:1], k, axis=0), cols, np.repeat(cols[-1:], k, axis=0)))
    gated, flagged = _hampel(padded, config)
    return gated.reshape(v.shape), flagged.reshape(v.shape)


class OutlierGate:
    """Streaming spike removal with a fixed delay of ``max_spike_samples`` samples.

    Whether a departure is a spike (it comes back within ``k`` samples) or the
    leading edge of a real step (it stays) can only be known ``k`` samples later,
    so the gate looks ``k`` samples ahead and its output runs ``k`` samples behind
    its input: each :meth:`update` returns as many samples as it was given, and
    output sample ``j`` of the stream is input sample ``j - k``, gated. The first
    ``k`` outputs repeat the first input sample; :meth:`flush` releases the last
    ``k`` at the end of a stream. ``k = 3`` is 3 ms at 1 kHz and 37.5 ms at
    80 Hz, well inside the fraction of a second a ramp warning may take.

    Any chunking gives the same output: the concatenated updates plus the flush
    equal ``k`` copies of the first sample followed by :func:`gate_outliers` of
    the whole stream.

    Parameters
    ----------
    config : OutlierConfig

    Attributes
    ----------
    n_gated : int
        Samples replaced so far (over all channels, across flushes).
    """

    def __init__(self, config: OutlierConfig) -> None:
        self.config = config
        self.n_gated = 0
        self._tail: FloatArray | None = None  # last 2k padded input samples, shape (2k, ch)
        self._emitted = 0  # output samples released in this stream
        self._shape: tuple[int, ...] | None = None  # trailing shape: () or (channels,)
        # a window's samples counted from its first one
        self._offsets = np.arange(2 * config.max_spike_samples + 1)

    @property
    def delay_samples(self) -> int:
        """How many samples the output runs behind the input."""
        return self.config.max_spike_samples

    def update(self, x: npt.ArrayLike) -> FloatArray:
        """Gate one block.

        Parameters
        ----------
        x : array_like, shape (n,) or (n, channels)

        Returns
        -------
        ndarray, same shape, float64
            The stream delayed by :attr:`delay_samples`, spikes replaced.
        """
        v = np.asarray(x, dtype=np.float64)
        if v.ndim not in (1, 2):
            raise ValueError(f"OutlierGate: expected shape (n,) or (n, channels), got {v.shape}")
        if self._shape is not None and v.shape[1:] != self._shape:
            raise ValueError(
                f"OutlierGate: block of shape {v.shape} does not continue a stream of "
                f"shape (n, {', '.join(map(str, self._shape)) or ''})"
            )
        if v.shape[0] == 0:
            return v.copy()
        cols = v.reshape(v.shape[0], -1)
        if self._tail is None:
            self._shape = v.shape[1:]
            self._tail = np.repeat(cols[:1], 2 * self.delay_samples, axis=0)
        if v.ndim == 1 and self._emitted >= self.delay_samples:
            return self._release_1d(v)
        return self._release(cols).reshape(v.shape)

    def flush(self) -> FloatArray:
        """End the stream: the last :attr:`delay_samples` gated samples.

        Returns
        -------
        ndarray, shape (k,) or (k, channels), float64
            Empty when nothing was fed. The next :meth:`update` starts a new stream.
        """
        if self._tail is None or self._shape is None:
            return np.empty(0)
        shape = self._shape
        pad = np.repeat(self._tail[-1:], self.delay_samples, axis=0)
        out = self._release(pad).reshape((self.delay_samples, *shape))
        self._tail, self._emitted, self._shape = None, 0, None
        return out

    def _release_1d(self, v: FloatArray) -> FloatArray:
        """:meth:`_release` for one channel in mid-stream, in a third of the time."""
        assert self._tail is not None
        k = self.delay_samples
        buf = np.concatenate((self._tail[:, 0], v))
        if np.isnan(buf.sum()):  # NaN (or opposite infinities): the general path
            return self._release(v[:, None])[:, 0]
        self._tail = buf[-2 * k :, None]
        self._emitted += v.size
        centre = buf[k : k + v.size]
        cfg = self.config
        # A centre departs from its window's median by at most the window's span
        # (max - min), and is gated only beyond the floor: only windows spanning more
        # than the floor (about 1 % of them on a real signal) need the Hampel test.
        # Rounding is monotone, so the skipped ones would not be flagged either.
        suspects = np.flatnonzero(_spans(buf, 2 * k + 1) > cfg.floor)
        if suspects.size == 0:
            return centre
        windows = buf.take(suspects[:, None] + self._offsets)
        med = np.partition(windows, k, axis=1)[:, k]
        dev = np.abs(windows - med[:, None])
        mad = np.partition(dev, k, axis=1)[:, k]
        flagged = dev[:, k] > np.maximum(cfg.n_sigma * _MAD_TO_SIGMA * mad, cfg.floor)
        if not flagged.any():
            return centre
        self.n_gated += int(np.count_nonzero(flagged))
        out = centre.copy()
        out[suspects[flagged]] = med[flagged]
        return out

    def _release(self, cols: FloatArray) -> FloatArray:
        assert self._tail is not None
        k = self.delay_samples
        buf = np.concatenate((self._tail, cols))
        gated, flagged = _hampel(buf, self.config)
        # the first k outputs of a stream are its first sample, not yet gateable
        lead = max(0, min(k - self._emitted, cols.shape[0]))
        if lead:
            gated[:lead] = self._tail[0]
            flagged[:lead] = False
        self.n_gated += int(np.count_nonzero(flagged))
        self._emitted += cols.shape[0]
        self._tail = buf[-2 * k :]
        return gated


# -- helpers -------------------------------------------------------------------------------------


def _check_finite(obj: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise ValueError(f"{type(obj).__name__}.{name} must be a number, not {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{type(obj).__name__}.{name} must be finite, got {value!r}")
        object.__setattr__(obj, name, float(value))


def _check_monotone(raw: FloatArray, force: FloatArray) -> None:
    """``force`` monotone and not constant over ``raw`` sorted ascending."""
    steps = np.diff(force)
    if np.all(steps == 0):
        raise ValueError(f"a calibration table needs loads that change; all are {force[0]!r} N")
    rising = steps[steps != 0][0] > 0
    bad = np.flatnonzero(steps < 0 if rising else steps > 0)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"calibration table is not monotone: force {'rises' if rising else 'falls'} with "
            f"the reading, then goes from {force[i]!r} N at {raw[i]!r} to {force[i + 1]!r} N "
            f"at {raw[i + 1]!r}"
        )


def _points(raw: npt.ArrayLike, force_n: npt.ArrayLike, what: str) -> tuple[FloatArray, FloatArray]:
    r = np.array(raw, dtype=np.float64, copy=True)
    f = np.array(force_n, dtype=np.float64, copy=True)
    if r.ndim != 1 or f.ndim != 1:
        raise ValueError(f"{what}: raw and force_n must be 1-D, got shapes {r.shape} and {f.shape}")
    if r.size != f.size:
        raise ValueError(f"{what}: {r.size} readings but {f.size} loads")
    if r.size < MIN_POINTS:
        raise ValueError(
            f"{what}: needs {MIN_POINTS} known loads at least, got {r.size}; "
            f"calibrate with 3 to 8 weights spread over the working range"
        )
    for name, arr in (("raw", r), ("force_n", f)):
        if not np.all(np.isfinite(arr)):
            i = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise ValueError(f"{what}: {name}[{i}] is not finite ({arr[i]!r})")
    for name, arr, most, unit in (
        ("raw", r, MAX_RAW, "a reading a device gives"),
        ("force_n", f, MAX_LOAD_N, "a load a pad carries"),
    ):
        if np.any(np.abs(arr) > most):
            i = int(np.flatnonzero(np.abs(arr) > most)[0])
            raise ValueError(
                f"{what}: {name}[{i}] = {arr[i]:g} is not {unit} (at most {most:g}); check the unit"
            )
    return r, f


def _line(x: FloatArray, y: FloatArray) -> tuple[float, float]:
    """Least-squares slope and intercept of ``y`` on ``x`` (centred, well conditioned)."""
    mx = float(np.mean(x))
    design = np.column_stack((x - mx, np.ones_like(x)))
    (slope, mid), *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(slope), float(mid - slope * mx)


class _Fields:
    """Checks a ``to_dict`` mapping: model, version, exactly the expected keys."""

    def __init__(
        self,
        data: Mapping[str, Any],
        model: str | None,
        keys: tuple[str, ...],
        *,
        versioned: bool | None = None,
        what: str | None = None,
    ) -> None:
        self.data = data
        self.what = what or (f"{model} calibration" if model else "calibration data")
        if not isinstance(data, Mapping):
            raise ValueError(f"{self.what} must be a mapping, not {type(data).__name__}")
        versioned = model is not None if versioned is None else versioned
        expected = (
            set(keys) | ({"version"} if versioned else set()) | ({"model"} if model else set())
        )
        missing = sorted(expected - set(data))
        if missing:
            raise ValueError(f"{self.what}: missing key {missing[0]!r} (has {sorted(data)})")
        unknown = sorted(set(data) - expected)
        if unknown:
            raise ValueError(f"{self.what}: unknown key {unknown[0]!r}")
        if model is not None and data["model"] != model:
            raise ValueError(f"{self.what}: 'model' is {data['model']!r}")
        if versioned:
            version = data["version"]
            if isinstance(version, bool) or version != FORMAT_VERSION:
                raise ValueError(
                    f"{self.what}: version {version!r} is not supported (this palpate reads "
                    f"version {FORMAT_VERSION})"
                )

    def number(self, key: str) -> float:
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{self.what}: {key!r} must be a number, not {value!r}")
        return float(value)

    def integer(self, key: str) -> int:
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{self.what}: {key!r} must be an integer, not {value!r}")
        return value

    def boolean(self, key: str) -> bool:
        value = self.data[key]
        if not isinstance(value, bool):
            raise ValueError(f"{self.what}: {key!r} must be true or false, not {value!r}")
        return value

    def numbers(self, key: str) -> tuple[float, ...]:
        value = self.data[key]
        if not isinstance(value, list | tuple) or any(
            isinstance(v, bool) or not isinstance(v, int | float) for v in value
        ):
            raise ValueError(f"{self.what}: {key!r} must be a list of numbers, not {value!r}")
        return tuple(float(v) for v in value)

    def build(self, cls: type[_T], **kwargs: Any) -> _T:
        """``cls(**kwargs)``, naming this mapping in any ``ValueError``."""
        try:
            return cls(**kwargs)
        except ValueError as err:
            raise ValueError(f"{self.what}: {err}") from err
