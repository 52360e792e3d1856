"""The virtual peripherals: a Progressor, a palpate pad, a micro:bit and a Nordic UART board.

Each serves the real device's GATT database on an :class:`~firmware_bridge.virtual.air.Air`,
answers its commands and streams simulator data (or a recording) with the real
packetisation, built by the same ``encode_*`` functions the drivers' decoders are
tested against. Options (``from_options``) are plain data, so the CLI and the
registry can ask for them: ``{"seed": 3, "faults": {"drop_at_s": 2.0}}``.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from bumble.device import Connection
from bumble.gatt import Characteristic, CharacteristicValue, Service
from numpy.typing import NDArray

from analysis.stream import G_STANDARD
from firmware_bridge.devices import microbit, nus, pad, polar, tindeq, weight_scale
from firmware_bridge.virtual.air import Air
from firmware_bridge.virtual.peer import Faults, Signal, SimSignal, VirtualPeripheral

__all__ = [
    "VirtualMicrobit",
    "VirtualPad",
    "VirtualPolar",
    "VirtualProgressor",
    "VirtualScale",
    "VirtualUartBoard",
]

_R = Characteristic.Properties


def _common(options: dict[str, Any]) -> tuple[Faults, dict[str, Any]]:
    options = dict(options)
    faults = options.pop("faults", None)
    if not isinstance(faults, Faults):
        faults = Faults.from_options(faults)
    return faults, options


def _check_keys(kind: str, options: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(options) - allowed
    if unknown:
        raise ValueError(
            f"virtual {kind}: unknown options {sorted(unknown)}; known: {sorted(allowed)}"
        )


class VirtualProgressor(VirtualPeripheral):
    """A virtual Tindeq Progressor: weight in kg with µs timestamps, ~80 Hz.

    Starts streaming on command 0x65, stops on 0x66, tares on 0x64 (subtracts the
    current reading), answers 0x6F with the battery voltage.
    """

    service_uuid = tindeq.SERVICE_UUID

    def __init__(
        self,
        air: Air,
        signal: Signal,
        *,
        name: str = "Progressor_7F3A",
        battery_mv: int = 3900,
        faults: Faults | None = None,
    ) -> None:
        super().__init__(air, name, signal, faults=faults, tick_s=0.04)
        self.battery_mv = battery_mv
        self._tare_kg = 0.0
        self._last_kg = 0.0
        self._data = Characteristic(tindeq.DATA_UUID, _R.NOTIFY, Characteristic.READABLE, b"")
        self._control = Characteristic(
            tindeq.CONTROL_UUID,
            _R.WRITE | _R.WRITE_WITHOUT_RESPONSE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_write),
        )

    @classmethod
    def from_options(cls, air: Air, options: dict[str, Any]) -> VirtualProgressor:
        faults, options = _common(options)
        _check_keys("tindeq", options, {"seed", "signal", "name", "battery_mv"})
        signal = options.pop("signal", None) or SimSignal(
            rate_hz=tindeq.PROFILE.rate_hz, seed=int(options.pop("seed", 0)), scale=1 / G_STANDARD
        )
        options.pop("seed", None)
        return cls(air, signal, faults=faults, **options)

    @property
    def data_characteristic(self) -> Characteristic:
        return self._data

    def services(self) -> list[Service]:
        return [Service(tindeq.SERVICE_UUID, [self._data, self._control])]

    def _on_write(self, connection: Connection, value: bytes) -> None:
        if not value:
            return
        self.commands.append(bytes(value))
        op = value[0]
        if op == tindeq.CMD_START:
            self.start_streaming()
        elif op == tindeq.CMD_STOP:
            self.stop_streaming()
        elif op == tindeq.CMD_TARE:
            self._tare_kg += self._last_kg
        elif op == tindeq.CMD_BATTERY:
            answer = tindeq.encode_response(struct.pack("<I", self.battery_mv))
            self._spawn(self._notify(answer))

    def packets(self, values: NDArray[np.float64], first: int) -> list[bytes]:
        kg = values[:, 0] - self._tare_kg
        self._last_kg = float(values[-1, 0])
        rate = self.signal.rate_hz
        t_us = np.round((first + np.arange(kg.size)) / rate * 1e6).astype(np.int64)
        return [
            tindeq.encode_weights(kg[i : i + 15], t_us[i : i + 15]) for i in range(0, kg.size, 15)
        ]


class VirtualMicrobit(VirtualPeripheral):
    """A virtual micro:bit with the accelerometer service: one sample per notification.

    Streams while the data characteristic is subscribed; the period characteristic
    takes the nearest accepted period (0 is ignored, as it must never be written).
    """

    service_uuid = microbit.SERVICE_UUID

    def __init__(
        self,
        air: Air,
        signal: Signal,
        *,
        name: str = "BBC micro:bit [tavit]",
        faults: Faults | None = None,
    ) -> None:
        super().__init__(air, name, signal, faults=faults, tick_s=0.01)
        self.period_ms = 20
        self._data = Characteristic(
            microbit.DATA_UUID, _R.READ | _R.NOTIFY, Characteristic.READABLE, bytes(6)
        )
        self._data.on("subscription", self.on_subscription())
        self._period = Characteristic(
            microbit.PERIOD_UUID,
            _R.READ | _R.WRITE,
            Characteristic.READABLE | Characteristic.WRITEABLE,
            CharacteristicValue(read=self._read_period, write=self._write_period),
        )

    @classmethod
    def from_options(cls, air: Air, options: dict[str, Any]) -> VirtualMicrobit:
        faults, options = _common(options)
        _check_keys("microbit", options, {"seed", "signal", "name"})
        return cls(air, _accel_signal(options), faults=faults, **options)

    @property
    def data_characteristic(self) -> Characteristic:
        return self._data

    def services(self) -> list[Service]:
        return [Service(microbit.SERVICE_UUID, [self._data, self._period])]

    def _read_period(self, connection: Connection) -> bytes:
        return struct.pack("<H", self.period_ms)

    def _write_period(self, connection: Connection, value: bytes) -> None:
        self.commands.append(bytes(value))
        if len(value) == 2 and (period := struct.unpack("<H", value)[0]) > 0:
            self.period_ms = microbit.nearest_period_ms(period)
            self.signal.rate_hz = 1000.0 / self.period_ms

    def packets(self, values: NDArray[np.float64], first: int) -> list[bytes]:
        mg = values[:, -3:] / G_STANDARD * 1000.0
        return [microbit.encode(*row) for row in mg]


def _accel_signal(options: dict[str, Any]) -> Signal:
    """``options["signal"]``, or the simulated hand's accelerometer (pops both keys)."""
    seed = int(options.pop("seed", 0))
    signal: Signal | None = options.pop("signal", None)
    return signal or _AccelSignal(SimSignal(rate_hz=100.0, accel=True, seed=seed))


class _AccelSignal(Signal):
    """The accelerometer columns of a simulated pad, at whatever rate is asked."""

    def __init__(self, inner: SimSignal) -> None:
        self._inner = inner
        self.rate_hz = 50.0
        self.columns = 3

    async def take(self, n: int) -> NDArray[np.float64]:
        return (await self._inner.take(n))[:, -3:]

    async def aclose(self) -> None:
        await self._inner.aclose()


class VirtualUartBoard(VirtualPeripheral):
    """A virtual DIY board on the Nordic UART Service printing lines of numbers.

    Lines follow ``line_format`` (``"t_ms,raw"`` by default: board milliseconds and a
    value; a template such as ``"Received value: {raw}"`` prints without a time);
    the text is cut into ``chunk`` -byte notifications regardless of line ends, as a
    UART bridge does. Streams while TX is subscribed.
    """

    service_uuid = nus.SERVICE_UUID

    def __init__(
        self,
        air: Air,
        signal: Signal,
        *,
        name: str = "palpate-uart 01",
        line_format: str = "t_ms,raw",
        decimals: int = 2,
        chunk: int = 20,
        faults: Faults | None = None,
    ) -> None:
        super().__init__(air, name, signal, faults=faults, tick_s=0.03)
        self.format = nus.LineFormat.parse(line_format)
        self.decimals = int(decimals)
        self.chunk = int(chunk)
        self._pending = b""
        self._tx = Characteristic(nus.TX_UUID, _R.NOTIFY, Characteristic.READABLE, b"")
        self._tx.on("subscription", self.on_subscription())
        self._rx = Characteristic(
            nus.RX_UUID,
            _R.WRITE | _R.WRITE_WITHOUT_RESPONSE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=lambda connection, value: self.commands.append(bytes(value))),
        )

    @classmethod
    def from_options(cls, air: Air, options: dict[str, Any]) -> VirtualUartBoard:
        faults, options = _common(options)
        _check_keys("nus", options, {"seed", "signal", "name", "line_format", "decimals", "chunk"})
        seed = int(options.pop("seed", 0))
        signal = options.pop("signal", None) or SimSignal(rate_hz=50.0, seed=seed)
        return cls(air, signal, faults=faults, **options)

    @property
    def data_characteristic(self) -> Characteristic:
        return self._tx

    def services(self) -> list[Service]:
        return [Service(nus.SERVICE_UUID, [self._rx, self._tx])]

    def _line(self, row: NDArray[np.float64], k: int) -> str:
        values = iter(row)
        fields = []
        for f in self.format.fields:
            if f == "t_ms":
                fields.append(str(round(k * 1000 / self.signal.rate_hz)))
            elif f == "t_us":
                fields.append(str(round(k * 1e6 / self.signal.rate_hz)))
            elif f == "t_s":
                fields.append(f"{k / self.signal.rate_hz:.4f}")
            else:
                fields.append(f"{next(values):.{self.decimals}f}")
        if self.format.template is None:
            return ",".join(fields)
        text = self.format.text
        for name, value in zip(self.format.fields, fields, strict=True):
            text = text.replace("{" + name + "}", value, 1)
        return text

    def packets(self, values: NDArray[np.float64], first: int) -> list[bytes]:
        text = "".join(self._line(row, first + i) + "\r\n" for i, row in enumerate(values))
        data = self._pending + text.encode()
        cut = len(data) - len(data) % self.chunk
        self._pending = data[cut:]
        return [data[i : i + self.chunk] for i in range(0, cut, self.chunk)]


class VirtualPad(VirtualPeripheral):
    """A virtual palpate pad speaking ``hardware/PROTOCOL.md`` version 1.0.

    Streams the simulated pad (4 load cells at the corners by default) in packets of
    :func:`~firmware_bridge.devices.pad.samples_per_packet` samples, answers START,
    STOP, SET_RATE, TARE and SET_ACCEL, and serves the info characteristic.
    """

    service_uuid = pad.SERVICE_UUID
    RATES_HZ = (50, 100, 200, 250, 500, 1000)

    def __init__(
        self,
        air: Air,
        signal: Signal,
        *,
        n_force: int = 4,
        has_accel: bool = False,
        name: str = "palpate-pad 3F2A",
        rate_hz: int = 1000,
        force_lsb_n: float = 0.01,
        protocol_major: int = pad.PROTOCOL_MAJOR,
        faults: Faults | None = None,
    ) -> None:
        super().__init__(air, name, signal, faults=faults, tick_s=0.025)
        self.protocol_major = protocol_major
        self.n_force = n_force
        self.has_accel = has_accel
        self.accel_on = has_accel
        self.rate_hz = rate_hz
        self.force_lsb_n = force_lsb_n
        self.signal.rate_hz = float(rate_hz)
        self._rows = np.zeros((0, signal.columns))
        self._rows_first = 0
        self._seq = 0
        self._tare = np.zeros(n_force)
        self._taring: list[NDArray[np.float64]] | None = None  # rows averaged for a TARE
        self._data = Characteristic(pad.DATA_UUID, _R.NOTIFY, Characteristic.READABLE, b"")
        self._control = Characteristic(
            pad.CONTROL_UUID,
            _R.WRITE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_write),
        )
        self._info = Characteristic(
            pad.INFO_UUID,
            _R.READ,
            Characteristic.READABLE,
            CharacteristicValue(read=lambda connection: pad.encode_info(self.info())),
        )

    @classmethod
    def from_options(cls, air: Air, options: dict[str, Any]) -> VirtualPad:
        faults, options = _common(options)
        _check_keys(
            "pad",
            options,
            {"seed", "signal", "name", "n_force", "has_accel", "rate_hz", "protocol_major"},
        )
        seed = int(options.pop("seed", 0))
        n_force = int(options.get("n_force", 4))
        has_accel = bool(options.get("has_accel", False))
        if n_force not in (1, 4) and "signal" not in options:
            raise ValueError("the simulated pad has 1 or 4 force channels")
        signal = options.pop("signal", None) or SimSignal(
            rate_hz=float(options.get("rate_hz", 1000)),
            channels=n_force,
            accel=has_accel,
            seed=seed,
        )
        return cls(air, signal, faults=faults, **options)

    def info(self) -> pad.PadInfo:
        half = 30
        corners = ((-half, -half), (half, -half), (half, half), (-half, half))
        positions = corners if self.n_force == 4 else tuple((0, 0) for _ in range(self.n_force))
        flags = (pad.INFO_HAS_ACC if self.has_accel else 0) | (
            pad.INFO_ACC_ON if self.accel_on else 0
        )
        return pad.PadInfo(
            (self.protocol_major, pad.PROTOCOL_MINOR),
            (1, 0, 0),
            self.n_force,
            flags | pad.INFO_CALIBRATED,
            self.rate_hz,
            max(self.RATES_HZ),
            self.force_lsb_n,
            1,
            1_764_000_000,
            2 * half,
            positions,
            self.name.removeprefix("palpate-pad ").strip() or "0000",
        )

    @property
    def data_characteristic(self) -> Characteristic:
        return self._data

    def services(self) -> list[Service]:
        return [Service(pad.SERVICE_UUID, [self._data, self._control, self._info])]

    def _on_write(self, connection: Connection, value: bytes) -> None:
        self.commands.append(bytes(value))
        if not value:
            return
        op, args = value[0], bytes(value[1:])
        if op == pad.OP_START:
            self._seq = 0
            self._rows = np.zeros((0, self.signal.columns))
            self.start_streaming()
        elif op == pad.OP_STOP:
            self.stop_streaming()
        elif op == pad.OP_SET_RATE and len(args) == 2:
            asked = struct.unpack("<H", args)[0]
            self.rate_hz = min(self.RATES_HZ, key=lambda r: (abs(r - asked), r))
            self.signal.rate_hz = float(self.rate_hz)
        elif op == pad.OP_TARE:
            self._taring = []  # the next 0.25 s of samples set the zero (PROTOCOL.md)
        elif op == pad.OP_SET_ACCEL and len(args) == 1:
            self.accel_on = bool(args[0]) and self.has_accel

    def _take_tare(self, force_n: NDArray[np.float64]) -> None:
        if self._taring is None:
            return
        self._taring.append(force_n)
        rows = np.concatenate(self._taring)
        if rows.shape[0] >= 0.25 * self.rate_hz:
            self._tare = rows.mean(axis=0)
            self._taring = None

    def packets(self, values: NDArray[np.float64], first: int) -> list[bytes]:
        if not self._rows.shape[0]:
            self._rows_first = first
        self._rows = np.concatenate([self._rows, values])
        per = pad.samples_per_packet(247, self.n_force, self.accel_on, self.rate_hz)
        period_us = round(1e6 / self.rate_hz)
        out = []
        while self._rows.shape[0] >= per:
            block, self._rows = self._rows[:per], self._rows[per:]
            self._take_tare(block[:, : self.n_force])
            force_n = block[:, : self.n_force] - self._tare
            counts = np.round(force_n / self.force_lsb_n)
            acc = None
            if self.accel_on:
                acc = np.round(block[:, self.n_force : self.n_force + 3] / G_STANDARD * 1000)
            out.append(
                pad.encode_data(
                    counts,
                    seq=self._seq,
                    first_sample=self._rows_first,
                    t_us=self._rows_first * period_us,
                    period_us=period_us,
                    acc=acc,
                )
            )
            self._seq += 1
            self._rows_first += per
        return out


class VirtualPolar(VirtualPeripheral):
    """A virtual Polar Verity Sense: PMD control point and accelerometer frames.

    Offers 26/52/104/208 Hz, ±2/4/8/16 g; answers on the control point by indication;
    streams compressed type-1 frames (``compressed=True``, the default) or raw type-1
    frames, ``per_frame`` samples each, stamped with the last sample's time.
    """

    service_uuid = polar.SERVICE_UUID
    RATES = (26, 52, 104, 208)

    def __init__(
        self,
        air: Air,
        signal: Signal,
        *,
        name: str = "Polar Sense B5A1",
        compressed: bool = True,
        per_frame: int = 9,
        faults: Faults | None = None,
    ) -> None:
        super().__init__(air, name, signal, faults=faults, tick_s=0.05)
        self.compressed = compressed
        self.per_frame = per_frame
        self.rate_hz = 52
        self._rows = np.zeros((0, 3))
        self._rows_first = 0
        self._t0_ns = 800_000_000 * 10**9  # the device's clock, ns since 2000
        self._data = Characteristic(polar.DATA_UUID, _R.NOTIFY, Characteristic.READABLE, b"")
        self._control = Characteristic(
            polar.CONTROL_UUID,
            _R.WRITE | _R.INDICATE,
            Characteristic.WRITEABLE | Characteristic.READABLE,
            CharacteristicValue(write=self._on_write, read=lambda connection: b""),
        )

    @classmethod
    def from_options(cls, air: Air, options: dict[str, Any]) -> VirtualPolar:
        faults, options = _common(options)
        _check_keys("polar", options, {"seed", "signal", "name", "compressed", "per_frame"})
        return cls(air, _accel_signal(options), faults=faults, **options)

    @property
    def data_characteristic(self) -> Characteristic:
        return self._data

    def services(self) -> list[Service]:
        return [Service(polar.SERVICE_UUID, [self._control, self._data])]

    def _on_write(self, connection: Connection, value: bytes) -> None:
        self.commands.append(bytes(value))
        if len(value) < 2:
            return
        op, kind = value[0], value[1]
        status, params = 0, b""
        if kind != polar.ACC:
            status = 1
        elif op == polar.OP_GET_SETTINGS:
            params = polar.encode_settings(
                {
                    polar.SAMPLE_RATE: list(self.RATES),
                    polar.RESOLUTION: [16],
                    polar.RANGE: [2, 4, 8, 16],
                }
            )
        elif op == polar.OP_START:
            _, _, _, asked = polar.decode_response(bytes([polar.RESPONSE, 0, 0, 0, 0]) + value[2:])
            self.rate_hz = int(asked.get(polar.SAMPLE_RATE, [52])[0])
            self.signal.rate_hz = float(self.rate_hz)
            self._rows = np.zeros((0, 3))
            params = polar.encode_settings({polar.FACTOR: [1.0]})
            self.start_streaming()
        elif op == polar.OP_STOP:
            self.stop_streaming()
        answer = bytes([polar.RESPONSE, op, kind, status, 0]) + params
        self._spawn(self.device.indicate_subscribers(self._control, answer))

    def packets(self, values: NDArray[np.float64], first: int) -> list[bytes]:
        if not self._rows.shape[0]:
            self._rows_first = first
        self._rows = np.concatenate([self._rows, values[:, -3:] / G_STANDARD * 1000.0])
        out = []
        encode = polar.encode_delta if self.compressed else polar.encode_raw
        while self._rows.shape[0] >= self.per_frame:
            block, self._rows = self._rows[: self.per_frame], self._rows[self.per_frame :]
            last = self._rows_first + self.per_frame - 1
            stamp = self._t0_ns + round(last * 1e9 / self.rate_hz)
            out.append(encode(block, stamp))
            self._rows_first += self.per_frame
        return out


class VirtualScale(VirtualPeripheral):
    """A virtual SIG weight scale indicating a reading twice a second while subscribed."""

    service_uuid = weight_scale.SERVICE_UUID

    def __init__(
        self, air: Air, signal: Signal, *, name: str = "Scale 81", faults: Faults | None = None
    ) -> None:
        super().__init__(air, name, signal, faults=faults, tick_s=0.1)
        self._measurement = Characteristic(
            weight_scale.MEASUREMENT_UUID, _R.INDICATE, Characteristic.READABLE, b""
        )
        self._measurement.on("subscription", self.on_subscription())

    @classmethod
    def from_options(cls, air: Air, options: dict[str, Any]) -> VirtualScale:
        faults, options = _common(options)
        _check_keys("scale", options, {"seed", "signal", "name"})
        seed = int(options.pop("seed", 0))
        signal = options.pop("signal", None) or _Decimated(
            SimSignal(rate_hz=50.0, seed=seed, scale=1 / G_STANDARD), 25
        )
        return cls(air, signal, faults=faults, **options)

    @property
    def data_characteristic(self) -> Characteristic:
        return self._measurement

    def services(self) -> list[Service]:
        return [Service(weight_scale.SERVICE_UUID, [self._measurement])]

    async def _notify(self, packet: bytes) -> None:
        await self.device.indicate_subscribers(self._measurement, packet)

    def packets(self, values: NDArray[np.float64], first: int) -> list[bytes]:
        return [weight_scale.encode(max(0.0, float(kg))) for kg in values[:, 0]]


class _Decimated(Signal):
    """Every ``k``-th sample of a signal: a scale's slow readings of a fast press."""

    def __init__(self, inner: SimSignal, k: int) -> None:
        self._inner = inner
        self._k = k
        self.rate_hz = inner.rate_hz / k
        self.columns = inner.columns

    async def take(self, n: int) -> NDArray[np.float64]:
        return (await self._inner.take(n * self._k))[:: self._k]

    async def aclose(self) -> None:
        await self._inner.aclose()
