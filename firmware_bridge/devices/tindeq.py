"""Tindeq Progressor (and the open clones that speak its API): a BLE force gauge.

GATT: service ``7e4e1701-1ea6-40c9-9dcc-13d34ffead57``; notifications on ``...1702``;
commands written to ``...1703``, one opcode byte each:

====  =====================================
0x64  tare
0x65  start weight measurement
0x66  stop weight measurement
0x6F  battery voltage (answer: tag 0, uint32 mV)
====  =====================================

Notifications are ``[tag u8][length u8][value: length bytes]``, little-endian:

- tag 1, weight: repeated pairs ``(float32 kg, uint32 µs since start)``, several
  pairs per notification, about 80 Hz;
- tag 0, command response (the battery answer is one uint32, mV);
- tag 4, low battery warning (no value).

The driver converts kg to newtons (× 9.80665) and uses the device timestamps
(unwrapped past 2³² µs = 71.6 min) for the session clock.

Examples
--------
>>> packet = encode_weights([1.0, 1.5], [0, 12500])
>>> decoded = decode(packet)
>>> decoded.tag, decoded.kg.tolist(), decoded.t_us.tolist()
(1, [1.0, 1.5], [0, 12500])
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from bleak import BleakClient
from numpy.typing import NDArray

from analysis.stream import G_STANDARD, Channel, StreamInfo
from firmware_bridge.ble import BleProfile, BleSource, Packet, Unwrap32
from firmware_bridge.errors import DecodeError

if TYPE_CHECKING:
    from firmware_bridge.virtual.air import Air
    from firmware_bridge.virtual.peer import VirtualPeripheral

__all__ = [
    "CMD_BATTERY",
    "CMD_START",
    "CMD_STOP",
    "CMD_TARE",
    "CONTROL_UUID",
    "DATA_UUID",
    "PROFILE",
    "SERVICE_UUID",
    "TindeqPacket",
    "TindeqSource",
    "decode",
    "encode_response",
    "encode_weights",
]

SERVICE_UUID: Final = "7e4e1701-1ea6-40c9-9dcc-13d34ffead57"
DATA_UUID: Final = "7e4e1702-1ea6-40c9-9dcc-13d34ffead57"
CONTROL_UUID: Final = "7e4e1703-1ea6-40c9-9dcc-13d34ffead57"

CMD_TARE: Final = 0x64
CMD_START: Final = 0x65
CMD_STOP: Final = 0x66
CMD_BATTERY: Final = 0x6F

TAG_RESPONSE: Final = 0
TAG_WEIGHT: Final = 1
TAG_LOW_BATTERY: Final = 4

MAX_KG: Final = 1000.0
"""Readings beyond ±1000 kg cannot come from a Progressor (150 kg) or a clone: bad packet."""

PROFILE: Final = BleProfile(
    kind="tindeq",
    label="Tindeq Progressor",
    service_uuid=SERVICE_UUID,
    name_prefixes=("Progressor",),
    rate_hz=80.0,
)

_PAIR = np.dtype([("kg", "<f4"), ("t_us", "<u4")])


@dataclass(frozen=True, slots=True)
class TindeqPacket:
    """One decoded notification.

    ``kg`` and ``t_us`` have shape (n,) for a weight packet (n >= 1), (0,) otherwise;
    ``value`` holds the raw value bytes of other tags.
    """

    tag: int
    kg: NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))
    t_us: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    value: bytes = b""

    @property
    def battery_mv(self) -> int | None:
        """Battery voltage of a 4-byte command response, mV."""
        if self.tag == TAG_RESPONSE and len(self.value) == 4:
            return int(struct.unpack("<I", self.value)[0])
        return None


def decode(payload: bytes) -> TindeqPacket:
    """Decode one Progressor notification.

    Raises
    ------
    DecodeError
        Too short, length field disagreeing with the bytes, a weight value that is
        not whole pairs, non-finite or impossible weights, or timestamps that do
        not increase within the packet.
    """
    data = bytes(payload)
    if len(data) < 2:
        raise DecodeError(data, "shorter than the 2-byte tag/length header")
    tag, length = data[0], data[1]
    if len(data) != 2 + length:
        raise DecodeError(data, f"length field says {length} value bytes, {len(data) - 2} came")
    value = data[2:]
    if tag != TAG_WEIGHT:
        return TindeqPacket(tag, value=value)
    if length == 0 or length % 8:
        raise DecodeError(data, f"weight value of {length} bytes is not whole 8-byte pairs")
    pairs = np.frombuffer(value, _PAIR)
    kg = pairs["kg"].astype(np.float32)
    t_us = pairs["t_us"].astype(np.int64)
    if not np.all(np.isfinite(kg)) or np.any(np.abs(kg) > MAX_KG):
        raise DecodeError(data, "weight not finite or beyond ±1000 kg")
    steps = np.diff(t_us) % 2**32  # the µs counter may wrap inside a packet
    if np.any(steps == 0) or np.any(steps >= 2**31):
        raise DecodeError(data, "timestamps do not increase within the packet")
    return TindeqPacket(tag, kg, t_us)


def encode_weights(kg: Sequence[float] | NDArray[Any], t_us: Sequence[int] | NDArray[Any]) -> bytes:
    """A tag-1 weight notification (what a Progressor sends); at most 31 pairs."""
    kg_arr = np.asarray(kg, np.float32)
    t_arr = np.asarray(t_us, np.int64)
    if kg_arr.shape != t_arr.shape or kg_arr.ndim != 1 or not 0 < kg_arr.size <= 31:
        raise ValueError("need 1-31 weights with one timestamp each")
    pairs = np.empty(kg_arr.size, _PAIR)
    pairs["kg"] = kg_arr
    pairs["t_us"] = (t_arr % 2**32).astype(np.uint32)
    return bytes([TAG_WEIGHT, 8 * kg_arr.size]) + pairs.tobytes()


def encode_response(value: bytes, tag: int = TAG_RESPONSE) -> bytes:
    """A notification with another tag (command response, low battery)."""
    return bytes([tag, len(value)]) + bytes(value)


class TindeqSource(BleSource):
    """A Tindeq Progressor as a source: one ``force`` channel in newtons, ~80 Hz.

    Parameters are those of :class:`~firmware_bridge.ble.BleSource`; ``tare=True``
    zeroes the gauge on connect (nothing may hang on it then).
    """

    profile = PROFILE

    def __init__(self, target: str | None = None, *, tare: bool = False, **options: Any) -> None:
        super().__init__(target, **options)
        self._tare = bool(tare)
        self.battery_mv: int | None = None
        self.low_battery = False
        self._clock_us = Unwrap32()  # the 32-bit µs clock, run on past 2³² (71.6 min)

    async def _setup(self, client: BleakClient) -> StreamInfo:
        await client.start_notify(DATA_UUID, self._on_notify)
        await client.write_gatt_char(CONTROL_UUID, bytes([CMD_BATTERY]), response=True)
        if self._tare:
            await client.write_gatt_char(CONTROL_UUID, bytes([CMD_TARE]), response=True)
        await client.write_gatt_char(CONTROL_UUID, bytes([CMD_START]), response=True)
        return StreamInfo(
            "tindeq",
            self.link.device or "Tindeq Progressor",
            PROFILE.rate_hz,
            (Channel("force", "N", "force"),),
            {"address": self.link.address, "unit_on_device": "kg", "clock": "device µs"},
        )

    async def _teardown(self, client: BleakClient) -> None:
        await client.write_gatt_char(CONTROL_UUID, bytes([CMD_STOP]), response=True)

    def _unpack(self, payload: bytes) -> Packet | None:
        packet = decode(payload)
        if packet.tag == TAG_LOW_BATTERY:
            if not self.low_battery:
                self._log("low_battery", "the Progressor reports a low battery", save=True)
            self.low_battery = True
            return None
        if packet.tag != TAG_WEIGHT:
            if packet.battery_mv is not None:
                self.battery_mv = packet.battery_mv
            return None
        raw = packet.t_us
        start = self._clock_us(int(raw[0]))
        t_us = start + np.concatenate([[0], np.cumsum(np.diff(raw) % 2**32)])
        self._clock_us(int(raw[-1]))
        t_s = t_us.astype(np.float64) * 1e-6
        force = (packet.kg * np.float32(G_STANDARD)).astype(np.float32)[:, None]
        return Packet(force, device_t=t_s.astype(np.float64))

    @classmethod
    def _make_peer(cls, air: Air, options: dict[str, Any]) -> VirtualPeripheral:
        from firmware_bridge.virtual.peers import VirtualProgressor

        return VirtualProgressor.from_options(air, options)
