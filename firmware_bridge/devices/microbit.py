"""BBC micro:bit accelerometer service: a 3-axis accelerometer worn on the hand.

GATT (the micro:bit Bluetooth profile):

- service ``E95D0753-251D-470A-A062-FA1922DFA9A8``;
- data ``E95DCA4B-251D-470A-A062-FA1922DFA9A8`` (read, notify): 6 bytes, x, y, z as
  int16 little-endian, milli-g;
- period ``E95DFB24-251D-470A-A062-FA1922DFA9A8`` (read, write): uint16 little-endian,
  milliseconds between samples, one of :data:`PERIODS_MS`; writing 0 is never done
  (it stops some firmware versions).

One sample per notification, no timestamp and no counter: the session clock comes
from the arrival times and the period (see :mod:`firmware_bridge.clock`). The driver
converts milli-g to m/s² (× 9.80665 / 1000).

Examples
--------
>>> decode(encode(120, -40, 1000)).tolist()
[120, -40, 1000]
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from bleak import BleakClient
from numpy.typing import NDArray

from analysis.stream import G_STANDARD, Channel, StreamInfo
from firmware_bridge.ble import BleProfile, BleSource, Packet
from firmware_bridge.errors import DecodeError

if TYPE_CHECKING:
    from firmware_bridge.virtual.air import Air
    from firmware_bridge.virtual.peer import VirtualPeripheral

__all__ = [
    "DATA_UUID",
    "PERIODS_MS",
    "PERIOD_UUID",
    "PROFILE",
    "SERVICE_UUID",
    "MicrobitSource",
    "decode",
    "decode_period",
    "encode",
    "nearest_period_ms",
]

SERVICE_UUID: Final = "e95d0753-251d-470a-a062-fa1922dfa9a8"
DATA_UUID: Final = "e95dca4b-251d-470a-a062-fa1922dfa9a8"
PERIOD_UUID: Final = "e95dfb24-251d-470a-a062-fa1922dfa9a8"

PERIODS_MS: Final = (1, 2, 5, 10, 20, 80, 160, 640)
"""Sample periods the micro:bit accepts, ms."""

PROFILE: Final = BleProfile(
    kind="microbit",
    label="BBC micro:bit",
    service_uuid=SERVICE_UUID,
    name_prefixes=("BBC micro:bit",),
    rate_hz=50.0,
)


def decode(payload: bytes | bytearray) -> NDArray[np.int16]:
    """One accelerometer notification -> x, y, z in milli-g, shape (3,) int16.

    Raises :class:`~firmware_bridge.errors.DecodeError` unless it is exactly 6 bytes.
    """
    data = bytes(payload)
    if len(data) != 6:
        raise DecodeError(data, f"an accelerometer sample is 6 bytes, not {len(data)}")
    return np.frombuffer(data, "<i2").astype(np.int16)


def encode(x_mg: int, y_mg: int, z_mg: int) -> bytes:
    """One accelerometer notification (milli-g, clipped to int16)."""
    x, y, z = (int(np.clip(round(v), -32768, 32767)) for v in (x_mg, y_mg, z_mg))
    return struct.pack("<hhh", x, y, z)


def decode_period(payload: bytes | bytearray) -> int:
    """The period characteristic -> milliseconds."""
    data = bytes(payload)
    if len(data) != 2:
        raise DecodeError(data, f"the period is 2 bytes, not {len(data)}")
    return int(struct.unpack("<H", data)[0])


def nearest_period_ms(period_ms: float) -> int:
    """The accepted period closest to ``period_ms`` (never 0)."""
    return min(PERIODS_MS, key=lambda p: (abs(p - period_ms), p))


class MicrobitSource(BleSource):
    """A micro:bit's accelerometer: ``acc x``, ``acc y``, ``acc z`` in m/s².

    Parameters
    ----------
    target : str, optional
        Address or name (``"BBC micro:bit [tavit]"``, or just ``"tavit"`` is not
        enough: names match from the start).
    period_ms : int
        Sample period to ask for, one of :data:`PERIODS_MS` (default 20 ms, 50 Hz).
    **options
        As for :class:`~firmware_bridge.ble.BleSource`.
    """

    profile = PROFILE

    def __init__(self, target: str | None = None, *, period_ms: int = 20, **options: Any) -> None:
        if period_ms not in PERIODS_MS:
            raise ValueError(
                f"period_ms must be one of {PERIODS_MS} (the micro:bit's own), got {period_ms!r}"
            )
        super().__init__(target, **options)
        self._period_ms = int(period_ms)
        self.period_ms = int(period_ms)

    async def _setup(self, client: BleakClient) -> StreamInfo:
        await client.write_gatt_char(PERIOD_UUID, struct.pack("<H", self._period_ms), response=True)
        actual = decode_period(await client.read_gatt_char(PERIOD_UUID))
        self.period_ms = actual if actual in PERIODS_MS else nearest_period_ms(actual)
        await client.start_notify(DATA_UUID, self._on_notify)
        return StreamInfo(
            "microbit",
            self.link.device or "BBC micro:bit",
            1000.0 / self.period_ms,
            tuple(Channel(f"acc {a}", "m/s^2", "accel") for a in "xyz"),
            {
                "address": self.link.address,
                "period_ms": self.period_ms,
                "unit_on_device": "milli-g",
                "clock": "arrival times and the period (no device timestamps)",
                "accel": "micro:bit on the pressing hand",
            },
        )

    async def _teardown(self, client: BleakClient) -> None:
        await client.stop_notify(DATA_UUID)

    def _unpack(self, payload: bytes) -> Packet:
        mg = decode(payload)
        return Packet((mg.astype(np.float32) * np.float32(G_STANDARD / 1000.0))[None, :])

    @classmethod
    def _make_peer(cls, air: Air, options: dict[str, Any]) -> VirtualPeripheral:
        from firmware_bridge.virtual.peers import VirtualMicrobit

        return VirtualMicrobit.from_options(air, options)
