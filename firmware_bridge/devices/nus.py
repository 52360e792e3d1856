"""Nordic UART Service text devices: DIY boards that print lines of numbers over BLE.

GATT (Nordic UART Service): service ``6E400001-B5A3-F393-E0A9-E50E24DCCA9E``; the
board notifies text on TX ``6E400003-...``; palpate may write a start command to RX
``6E400002-...``. Text arrives in pieces (20 bytes per notification on a default
MTU), so lines are reassembled across notifications (``\\n``, ``\\r\\n`` or ``\\r``).

The **line format** says what a line holds, in one of two forms:

- field names separated by commas: ``"t_ms,raw1,raw2"``: numbers separated by commas,
  semicolons, tabs or spaces, in that order;
- a template with ``{name}`` placeholders and literal text around them:
  ``"Received value: {raw}"`` (what the ESP32 FSR sketch in ``../shared/data`` prints).

A field named ``t_ms``, ``t_s`` or ``t_us`` is the board's timestamp (used for the
session clock and lost-line detection); every other field is a channel. Units and
calibration come from the person's settings (``[nus]`` in ``<config dir>/settings.toml``)
or the options: ``unit`` (``adc``, ``N``, ``kg``, ``kPa``, ``g``, ``m/s^2``) converted to
palpate's units at the edge, and an optional ``calibration`` (the plain-data form of
:class:`analysis.calibration.DeviceCalibration`) that turns raw channels into newtons.

Examples
--------
>>> fmt = LineFormat.parse("t_ms,raw1,raw2")
>>> lines, rest = split_lines(b"10,512,3\\r\\n20,514,4\\n30,5")
>>> [parse_line(line, fmt).tolist() for line in lines], rest
([[10.0, 512.0, 3.0], [20.0, 514.0, 4.0]], b'30,5')
>>> parse_line(b"Received value: 2706", LineFormat.parse("Received value: {raw}")).tolist()
[2706.0]
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from bleak import BleakClient
from numpy.typing import NDArray

from analysis.calibration import Calibrator, DeviceCalibration
from analysis.stream import UNIT_TO_SI, Channel, StreamInfo
from firmware_bridge.ble import BleProfile, BleSource, Packet
from firmware_bridge.errors import DecodeError
from firmware_bridge.userdirs import config_dir

if TYPE_CHECKING:
    from firmware_bridge.virtual.air import Air
    from firmware_bridge.virtual.peer import VirtualPeripheral

__all__ = [
    "MAX_LINE",
    "PROFILE",
    "RX_UUID",
    "SERVICE_UUID",
    "TX_UUID",
    "LineFormat",
    "NusSource",
    "load_settings",
    "parse_line",
    "split_lines",
]

SERVICE_UUID: Final = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
RX_UUID: Final = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"
TX_UUID: Final = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"

MAX_LINE: Final = 256
"""Longest line accepted, bytes; longer runs without a line end are dropped."""

PROFILE: Final = BleProfile(
    kind="nus",
    label="Nordic UART text device",
    service_uuid=SERVICE_UUID,
    name_prefixes=("palpate-uart",),  # other boards: by the service, or nus:NAME
    rate_hz=50.0,
)

_TIME_FIELDS: Final = {"t_s": 1.0, "t_ms": 1e-3, "t_us": 1e-6}
_NUMBER: Final = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_SEPARATORS: Final = re.compile(rb"[,;\t ]+")
_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_ ]*$")


@dataclass(frozen=True, slots=True)
class LineFormat:
    """What one line holds: field names in order, and how to find them."""

    fields: tuple[str, ...]
    template: re.Pattern[bytes] | None = None
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> LineFormat:
        """Read a format: ``"t_ms,raw1,raw2"`` or a template like ``"F: {force}"``."""
        text = str(text).strip()
        if "{" in text:
            names = re.findall(r"\{([^{}]*)\}", text)
            pattern = ""
            for literal, name in re.findall(r"([^{}]*)\{([^{}]*)\}", text + "{}"):
                pattern += re.escape(literal)
                if name:
                    pattern += _NUMBER
            fields = tuple(n.strip() for n in names)
            template: re.Pattern[bytes] | None = re.compile(pattern.strip().encode() + rb"\s*$")
        else:
            fields = tuple(f.strip() for f in text.split(","))
            template = None
        if not fields or any(not _NAME.match(f) for f in fields):
            raise ValueError(
                f"line format {text!r}: give field names like 't_ms,raw1,raw2' or a template "
                "like 'Received value: {raw}' (names: letters, digits, _)"
            )
        if len(set(fields)) != len(fields):
            raise ValueError(f"line format {text!r} repeats a field name")
        if sum(f in _TIME_FIELDS for f in fields) > 1:
            raise ValueError(f"line format {text!r} has more than one time field")
        if all(f in _TIME_FIELDS for f in fields):
            raise ValueError(f"line format {text!r} has no value field")
        return cls(fields, template, text)

    @property
    def time_field(self) -> int | None:
        """Position of the time field, if any."""
        for i, f in enumerate(self.fields):
            if f in _TIME_FIELDS:
                return i
        return None

    @property
    def time_scale(self) -> float:
        """Seconds per unit of the time field."""
        i = self.time_field
        return _TIME_FIELDS[self.fields[i]] if i is not None else 1.0

    @property
    def channels(self) -> tuple[str, ...]:
        """The value fields (every field but the time)."""
        return tuple(f for f in self.fields if f not in _TIME_FIELDS)


def split_lines(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete lines of ``buffer`` (without their ends, empty ones dropped) and the rest."""
    data = bytes(buffer).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    *lines, rest = data.split(b"\n")
    return [line for line in lines if line.strip()], rest


def parse_line(line: bytes, fmt: LineFormat) -> NDArray[np.float64]:
    """One line -> its fields' values, shape (len(fmt.fields),), float64.

    Raises :class:`~firmware_bridge.errors.DecodeError` when the line does not hold
    exactly the format's fields as finite numbers.
    """
    data = bytes(line)
    if len(data) > MAX_LINE:
        raise DecodeError(data, f"line longer than {MAX_LINE} bytes")
    text = data.strip()
    if fmt.template is not None:
        match = fmt.template.match(text)
        if match is None:
            raise DecodeError(data, "line does not match the line format")
        parts = list(match.groups())
    else:
        parts = [p for p in _SEPARATORS.split(text) if p]
        if len(parts) != len(fmt.fields):
            raise DecodeError(data, f"{len(parts)} fields, the format has {len(fmt.fields)}")
    try:
        values = np.array([float(p) for p in parts], dtype=np.float64)
    except (ValueError, UnicodeDecodeError) as err:
        raise DecodeError(data, f"not a number: {err}") from None
    if not np.all(np.isfinite(values)) or np.any(np.abs(values) > 1e12):
        raise DecodeError(data, "a field is not a finite number")
    return values


def load_settings() -> dict[str, Any]:
    """The ``[nus]`` table of ``<config dir>/settings.toml`` ({} when absent or unreadable)."""
    try:
        data = tomllib.loads((config_dir() / "settings.toml").read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}
    table = data.get("nus", {})
    return dict(table) if isinstance(table, dict) else {}


class NusSource(BleSource):
    """A Nordic UART text device as a source.

    Parameters
    ----------
    target : str, optional
        Address or name of the board.
    line_format : str, optional
        See the module doc (default from settings, else ``"t_ms,raw"``).
    unit : str, optional
        Unit of every value field: ``adc`` (raw, needs a calibration), ``N``, ``kg``,
        ``kPa``, ``g`` or ``m/s^2`` (default from settings, else ``adc``).
    calibration : mapping, optional
        A :class:`~analysis.calibration.DeviceCalibration` as plain data, one
        calibration per value field: raw -> newtons.
    rate_hz : float, optional
        Nominal line rate, Hz (default from settings, else 50).
    start_command : str, optional
        Text written to RX after subscribing (e.g. ``"start\\n"``).
    **options
        As for :class:`~firmware_bridge.ble.BleSource`.
    """

    profile = PROFILE

    def __init__(
        self,
        target: str | None = None,
        *,
        line_format: str | None = None,
        unit: str | None = None,
        calibration: Mapping[str, Any] | None = None,
        rate_hz: float | None = None,
        start_command: str | None = None,
        **options: Any,
    ) -> None:
        settings = load_settings()
        self.format = LineFormat.parse(line_format or settings.get("line_format", "t_ms,raw"))
        self.unit = str(unit or settings.get("unit", "adc"))
        if self.unit not in UNIT_TO_SI:
            raise ValueError(f"unit must be one of {sorted(UNIT_TO_SI)}, got {self.unit!r}")
        rate = float(rate_hz if rate_hz is not None else settings.get("rate_hz", 50.0))
        if not 0 < rate <= 10_000:
            raise ValueError(f"rate_hz must be 0-10000 Hz, got {rate!r}")
        self.rate_hz = rate
        cal = calibration if calibration is not None else settings.get("calibration")
        self._calibrator: Calibrator | None = None
        if cal is not None:
            device = DeviceCalibration.from_dict(cal)
            if device.n_channels != len(self.format.channels):
                raise ValueError(
                    f"the calibration has {device.n_channels} channels, the line format "
                    f"{len(self.format.channels)} value fields"
                )
            self._calibrator = Calibrator(device)
        self._start_command = start_command or settings.get("start_command")
        super().__init__(target, **options)
        self._buffer = b""
        self._value_cols = [i for i, f in enumerate(self.format.fields) if f not in _TIME_FIELDS]

    def _channels(self) -> tuple[Channel, ...]:
        if self._calibrator is not None:
            return tuple(Channel(n, "N", "force") for n in self.format.channels)
        kind, si_unit, _ = UNIT_TO_SI[self.unit]
        return tuple(Channel(n, si_unit, kind) for n in self.format.channels)

    async def _setup(self, client: BleakClient) -> StreamInfo:
        self._buffer = b""
        await client.start_notify(TX_UUID, self._on_notify)
        if self._start_command:
            await client.write_gatt_char(RX_UUID, str(self._start_command).encode(), response=False)
        return StreamInfo(
            "nus",
            self.link.device or "UART board",
            self.rate_hz,
            self._channels(),
            {
                "address": self.link.address,
                "line_format": ",".join(self.format.fields),
                "unit_on_device": self.unit,
                "calibrated": self._calibrator is not None,
            },
        )

    def _unpack(self, payload: bytes) -> Packet | None:
        lines, self._buffer = split_lines(self._buffer + bytes(payload))
        if len(self._buffer) > MAX_LINE:
            self._count_bad(DecodeError(self._buffer[:64], "no line end"))
            self._buffer = b""
        rows = []
        for line in lines:
            try:
                rows.append(parse_line(line, self.format))
            except DecodeError as err:
                self._count_bad(err)
        if not rows:
            return None
        table = np.vstack(rows)
        device_t = None
        i = self.format.time_field
        if i is not None:
            device_t = table[:, i] * self.format.time_scale
            # a row whose time does not pass every earlier row's is a repeat: drop it
            before = np.maximum.accumulate(np.concatenate([[-np.inf], device_t[:-1]]))
            keep = device_t > before
            if not keep.all():
                self.link.late_packets += int((~keep).sum())
                table, device_t = table[keep], device_t[keep]
        values = table[:, self._value_cols]
        if self._calibrator is not None:
            values = self._calibrator.update(values)
        else:
            values = values * UNIT_TO_SI[self.unit][2]
        return Packet(values.astype(np.float32), device_t=device_t)

    def _count_bad(self, err: DecodeError) -> None:
        self.link.bad_packets += 1
        if self.link.bad_packets <= 5 or self.link.bad_packets % 100 == 0:
            self._log("bad_line", f"#{self.link.bad_packets}: {err}")

    @classmethod
    def _make_peer(cls, air: Air, options: dict[str, Any]) -> VirtualPeripheral:
        from firmware_bridge.virtual.peers import VirtualUartBoard

        return VirtualUartBoard.from_options(air, options)
