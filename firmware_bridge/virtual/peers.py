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
from firmware_bridge.devices import microbit, nus, tindeq
from firmware_bridge.virtual.air import Air
from firmware_bridge.virtual.peer import Faults, Signal, SimSignal, VirtualPeripheral

__all__ = ["VirtualMicrobit", "VirtualProgressor", "VirtualUartBoard"]

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
        seed = int(options.pop("seed", 0))
        signal = options.pop("signal", None) or _AccelSignal(
            SimSignal(rate_hz=100.0, accel=True, seed=seed)
        )
        return cls(air, signal, faults=faults, **options)

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
