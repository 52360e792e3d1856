"""The data model every palpate package speaks: channels, streams, frames and events.

A :class:`Source` (in ``firmware_bridge``) describes what it produces with a
:class:`StreamInfo` and yields :class:`Frame` blocks; the analysis pipeline turns
them into pressure and :class:`Event` objects. Units inside palpate are seconds,
newtons, kilopascals, kPa/s and m/s^2; converting at the edge is the job of the
driver or importer (see :data:`UNIT_TO_SI`).

Examples
--------
>>> import numpy as np
>>> info = StreamInfo("sim", "simulated pad", 100.0, (Channel("force", "N", "force"),))
>>> frame = Frame(np.arange(3) / 100.0, np.zeros((3, 1), np.float32), index=0)
>>> info.check(frame)
>>> frame.n, frame.next_index
(3, 3)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CHANNEL_KINDS",
    "G_STANDARD",
    "UNIT_TO_SI",
    "Channel",
    "Event",
    "EventKind",
    "Frame",
    "StreamInfo",
    "concat_frames",
]

G_STANDARD: Final = 9.80665
"""Standard gravity, m/s^2 (used to turn kg into N and g into m/s^2)."""

CHANNEL_KINDS: Final = ("force", "pressure", "accel", "raw")
"""What a channel measures. ``raw`` needs a calibration before it means anything."""

UNIT_TO_SI: Final[Mapping[str, tuple[str, str, float]]] = MappingProxyType(
    {
        # unit: (kind, palpate unit, factor to the palpate unit)
        "N": ("force", "N", 1.0),
        "kg": ("force", "N", G_STANDARD),
        "kPa": ("pressure", "kPa", 1.0),
        "m/s^2": ("accel", "m/s^2", 1.0),
        "g": ("accel", "m/s^2", G_STANDARD),
        "adc": ("raw", "adc", 1.0),
    }
)
"""Units palpate accepts at its edges, with the kind they imply and the factor that
converts them to palpate's internal unit for that kind."""

_KIND_UNITS: Final = {
    "force": ("N",),
    "pressure": ("kPa",),
    "accel": ("m/s^2",),
    "raw": ("adc",),
}


@dataclass(frozen=True, slots=True)
class Channel:
    """One column of a stream.

    Parameters
    ----------
    name : str
        Column name, e.g. ``"force"``, ``"force3"``, ``"acc x"``.
    unit : str
        Internal unit: ``N`` for force, ``kPa`` for pressure, ``m/s^2`` for
        acceleration, ``adc`` for raw counts.
    kind : str
        One of :data:`CHANNEL_KINDS`.
    """

    name: str
    unit: str
    kind: str

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise ValueError("channel name must not be empty")
        if self.kind not in _KIND_UNITS:
            raise ValueError(
                f"channel {self.name!r}: kind {self.kind!r} is not one of {CHANNEL_KINDS}"
            )
        if self.unit not in _KIND_UNITS[self.kind]:
            allowed = ", ".join(_KIND_UNITS[self.kind])
            raise ValueError(
                f"channel {self.name!r}: a {self.kind} channel is kept in {allowed} inside "
                f"palpate, not {self.unit!r}; convert at the edge (see UNIT_TO_SI)"
            )


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What a source produces.

    Parameters
    ----------
    source : str
        Registry name or kind of the source (``"sim"``, ``"csv"``, ``"tindeq"``).
    device : str
        Human-readable device name or identifier.
    rate_hz : float
        Nominal sample rate in Hz (the measured rate may differ).
    channels : tuple of Channel
        The columns of every frame's ``x``, in order.
    meta : mapping
        Free-form facts (firmware version, serial, tool, ...); JSON-serialisable.
    """

    source: str
    device: str
    rate_hz: float
    channels: tuple[Channel, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.rate_hz) and self.rate_hz > 0):
            raise ValueError(f"rate_hz must be a positive number, not {self.rate_hz!r}")
        if not self.channels:
            raise ValueError("a stream needs at least one channel")
        object.__setattr__(self, "channels", tuple(self.channels))
        names = [c.name for c in self.channels]
        if len(set(names)) != len(names):
            raise ValueError(f"channel names must be unique, got {names}")

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    def indices(self, kind: str) -> tuple[int, ...]:
        """Column indices of the channels of one kind, e.g. ``"force"``."""
        if kind not in _KIND_UNITS:
            raise ValueError(f"unknown channel kind {kind!r}; expected one of {CHANNEL_KINDS}")
        return tuple(i for i, c in enumerate(self.channels) if c.kind == kind)

    def check(self, frame: Frame) -> None:
        """Raise ``ValueError`` when ``frame`` does not fit this stream's channels."""
        if frame.x.shape[1] != self.n_channels:
            raise ValueError(
                f"{self.source}: frame has {frame.x.shape[1]} channels, "
                f"stream declares {self.n_channels}"
            )


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """A block of consecutive samples.

    Parameters
    ----------
    t : ndarray, shape (n,), float64, seconds
        Sample times on the session clock, strictly increasing.
    x : ndarray, shape (n, channels), float32
        Sample values in each channel's unit.
    index : int
        The stream's sample number of the first row; a jump between consecutive
        frames marks lost samples.

    Use :meth:`from_arrays` to build a frame from arrays of other dtypes.
    """

    t: NDArray[np.float64]
    x: NDArray[np.float32]
    index: int

    def __post_init__(self) -> None:
        t, x = self.t, self.x
        if not isinstance(t, np.ndarray) or t.dtype != np.float64 or t.ndim != 1:
            raise ValueError(f"Frame.t must be a 1-D float64 array, got {_describe(t)}")
        if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.ndim != 2:
            raise ValueError(f"Frame.x must be a 2-D float32 array, got {_describe(x)}")
        if x.shape[0] != t.shape[0]:
            raise ValueError(f"Frame has {t.shape[0]} times but {x.shape[0]} rows of samples")
        if x.shape[1] < 1:
            raise ValueError("Frame.x needs at least one channel column")
        if t.shape[0] == 0:
            raise ValueError("a Frame holds at least one sample")
        if not np.all(np.isfinite(t)):
            bad = int(np.flatnonzero(~np.isfinite(t))[0])
            raise ValueError(f"Frame.t holds a non-finite time at row {bad}")
        if t.shape[0] > 1:
            steps = np.diff(t)
            if not np.all(steps > 0):
                bad = int(np.flatnonzero(steps <= 0)[0])
                raise ValueError(
                    f"Frame.t must strictly increase: row {bad + 1} ({t[bad + 1]!r} s) "
                    f"does not come after row {bad} ({t[bad]!r} s)"
                )
        if isinstance(self.index, bool) or not isinstance(self.index, int | np.integer):
            raise ValueError(f"Frame.index must be an int, got {type(self.index).__name__}")
        if self.index < 0:
            raise ValueError(f"Frame.index must be >= 0, got {self.index}")
        object.__setattr__(self, "index", int(self.index))
        t.flags.writeable = False
        x.flags.writeable = False

    @classmethod
    def from_arrays(cls, t: Any, x: Any, index: int = 0) -> Frame:
        """Build a frame converting ``t`` to float64 and ``x`` to float32.

        A 1-D ``x`` is taken as a single channel.
        """
        t_arr = np.array(t, dtype=np.float64, copy=True)
        x_arr = np.array(x, dtype=np.float32, copy=True)
        if x_arr.ndim == 1:
            x_arr = x_arr[:, None]
        return cls(t_arr, x_arr, index)

    @property
    def n(self) -> int:
        """Number of samples (rows)."""
        return int(self.t.shape[0])

    @property
    def next_index(self) -> int:
        """The index the next contiguous frame starts at."""
        return self.index + self.n

    def slice(self, start: int, stop: int) -> Frame:
        """Rows ``start:stop`` as a new frame (views, no copy)."""
        if not 0 <= start < stop <= self.n:
            raise ValueError(f"slice {start}:{stop} is outside a frame of {self.n} rows")
        # rows of a valid frame make a valid frame (read-only views of read-only arrays):
        # no need to check them again
        part = object.__new__(Frame)
        object.__setattr__(part, "t", self.t[start:stop])
        object.__setattr__(part, "x", self.x[start:stop])
        object.__setattr__(part, "index", self.index + int(start))
        return part


def concat_frames(frames: Sequence[Frame]) -> Frame:
    """Join frames in time order into one frame (indices follow the first frame).

    Raises ``ValueError`` when channel counts differ or time runs backwards
    across frames.
    """
    if not frames:
        raise ValueError("concat_frames needs at least one frame")
    if len(frames) == 1:
        return frames[0]
    widths = {f.x.shape[1] for f in frames}
    if len(widths) != 1:
        raise ValueError(f"cannot join frames of different channel counts {sorted(widths)}")
    t = np.concatenate([f.t for f in frames])
    x = np.concatenate([f.x for f in frames])
    return Frame(t, x, frames[0].index)


class EventKind(StrEnum):
    """What an :class:`Event` reports."""

    WARNING = "warning"  # ramp warning level changed: data {"level", "rate_kpa_s"}
    CEILING = "ceiling"  # pressure crossed a ceiling: data {"on", "ceiling_kpa", "which"}
    STROKE = "stroke"  # stroke label changed: data {"stroke", "confidence"}
    GAP = "gap"  # samples lost: data {"missing", "stream"}
    RECONNECT = "reconnect"  # a device link came back: data {"device", "down_s"}
    PAIN = "pain"  # the person pressed "pain, easing off": data {"pressure_kpa"}
    MARKER = "marker"  # a bookmark: data {"label"}
    PULSE = "pulse"  # a pulse under the hand: data {"bpm"}
    SENSOR = "sensor"  # sensor honesty: data {"reason"} (too slow to judge, stale)


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened at time ``t`` (seconds, session clock).

    ``data`` holds the facts of the event; keys depend on ``kind`` (see
    :class:`EventKind`) and values are JSON-serialisable.
    """

    t: float
    kind: EventKind
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not np.isfinite(self.t):
            raise ValueError(f"Event time must be finite, got {self.t!r}")
        object.__setattr__(self, "t", float(self.t))
        try:
            object.__setattr__(self, "kind", EventKind(self.kind))
        except ValueError as err:
            kinds = ", ".join(k.value for k in EventKind)
            raise ValueError(f"unknown event kind {self.kind!r}; expected one of {kinds}") from err


def _describe(a: Any) -> str:
    if isinstance(a, np.ndarray):
        return f"{a.ndim}-D {a.dtype} array of shape {a.shape}"
    return type(a).__name__
