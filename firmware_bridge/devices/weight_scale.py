"""Bluetooth SIG Weight Scale (service 0x181D): press on a kitchen or bathroom scale.

GATT: Weight Measurement ``0x2A9D`` (indicate), little-endian:

======  =====  ==========================================================
offset  size   field
======  =====  ==========================================================
0       1      flags: bit 0 imperial (lb) else SI (kg); bit 1 time stamp
                present; bit 2 user id present; bit 3 BMI and height present
1       2      weight, uint16: × 0.005 kg (SI) or × 0.01 lb (imperial);
                0xFFFF: measurement unsuccessful
+7             time stamp (year u16, month, day, hours, minutes, seconds)
+1             user id (0xFF unknown)
+2 +2          BMI (× 0.1 kg/m²), height (× 0.001 m SI or × 0.1 in imperial)
======  =====  ==========================================================

Scales indicate a reading when it changes or settles (often only a few per second), so
the stream is slow: palpate shows the force but says the rate is too slow to judge
ramps. The driver converts kg (and lb) to newtons.

Examples
--------
>>> decode(encode(12.5)).kg
12.5
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from bleak import BleakClient

from analysis.stream import G_STANDARD, Channel, StreamInfo
from firmware_bridge.ble import BleProfile, BleSource, Packet
from firmware_bridge.errors import DecodeError

if TYPE_CHECKING:
    from firmware_bridge.virtual.air import Air
    from firmware_bridge.virtual.peer import VirtualPeripheral

__all__ = ["MEASUREMENT_UUID", "PROFILE", "SERVICE_UUID", "WeightMeasurement", "WeightScaleSource",
           "decode", "encode"]  # fmt: skip

SERVICE_UUID: Final = "0000181d-0000-1000-8000-00805f9b34fb"
MEASUREMENT_UUID: Final = "00002a9d-0000-1000-8000-00805f9b34fb"
LB_KG: Final = 0.45359237

PROFILE: Final = BleProfile(
    kind="scale", label="Bluetooth weight scale", service_uuid=SERVICE_UUID, rate_hz=2.0
)


@dataclass(frozen=True, slots=True)
class WeightMeasurement:
    """One reading; ``kg`` is None when the scale says the measurement failed."""

    kg: float | None
    user_id: int | None = None
    bmi: float | None = None
    height_m: float | None = None


def decode(payload: bytes | bytearray) -> WeightMeasurement:
    """Decode a Weight Measurement indication (raises ``DecodeError`` when the length
    does not match the flags)."""
    data = bytes(payload)
    if len(data) < 3:
        raise DecodeError(data, "shorter than flags + weight (3 bytes)")
    flags = data[0]
    imperial = bool(flags & 1)
    size = 3 + (7 if flags & 2 else 0) + (1 if flags & 4 else 0) + (4 if flags & 8 else 0)
    if len(data) != size:
        raise DecodeError(data, f"flags {flags:#04x} need {size} bytes, got {len(data)}")
    raw = struct.unpack_from("<H", data, 1)[0]
    kg = None if raw == 0xFFFF else (raw * 0.01 * LB_KG if imperial else raw * 0.005)
    i = 3 + (7 if flags & 2 else 0)
    user = None
    if flags & 4:
        user = None if data[i] == 0xFF else data[i]
        i += 1
    bmi = height = None
    if flags & 8:
        bmi_raw, height_raw = struct.unpack_from("<HH", data, i)
        bmi = bmi_raw * 0.1
        height = height_raw * (0.1 * 0.0254 if imperial else 0.001)
    return WeightMeasurement(kg, user, bmi, height)


def encode(kg: float | None, *, user_id: int | None = None) -> bytes:
    """An SI Weight Measurement (``kg`` None: measurement unsuccessful)."""
    raw = 0xFFFF if kg is None else int(np.clip(round(kg / 0.005), 0, 0xFFFE))
    flags = 4 if user_id is not None else 0
    tail = bytes([user_id]) if user_id is not None else b""
    return struct.pack("<BH", flags, raw) + tail


class WeightScaleSource(BleSource):
    """A SIG weight scale: one ``force`` channel in newtons, at the scale's pace."""

    profile = PROFILE

    async def _setup(self, client: BleakClient) -> StreamInfo:
        await client.start_notify(MEASUREMENT_UUID, self._on_notify)
        return StreamInfo(
            "scale",
            self.link.device or "weight scale",
            PROFILE.rate_hz,
            (Channel("force", "N", "force"),),
            {"address": self.link.address, "unit_on_device": "kg or lb"},
        )

    def _unpack(self, payload: bytes) -> Packet | None:
        reading = decode(payload)
        if reading.kg is None:
            return None
        return Packet(np.array([[reading.kg * G_STANDARD]], np.float32))

    @classmethod
    def _make_peer(cls, air: Air, options: dict[str, Any]) -> VirtualPeripheral:
        from firmware_bridge.virtual.peers import VirtualScale

        return VirtualScale.from_options(air, options)
