"""Polar PMD accelerometer (Polar H10 chest strap, Verity Sense, OH1): a wearable on the hand.

GATT: the Polar Measurement Data service ``FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8``, with a
control point ``...5C81`` (write, indicate) and data ``...5C82`` (notify).

Control point: palpate asks for the accelerometer's settings (``[0x01, 0x02]``), picks a
sample rate, 16-bit resolution and the largest range, and starts it (``[0x02, 0x02,
settings...]``). Each answer is an indication ``[0xF0, op, type, status, more,
parameters...]``; the parameters are settings ``[setting, count, values...]``
(0 sample rate u16, 1 resolution u16, 2 range u16 g, 3 range u32 milli-unit,
4 channels u8, 5 factor f32); the start answer carries the factor that scales
compressed type-0 frames.

Data: ``[0x02 (ACC)][u64 ns since 2000-01-01 of the LAST sample][frame type][samples]``;
frame type bit 7 means delta-compressed. Raw frames hold x, y, z as int8 / int16 / int24
(types 0/1/2) in milli-g. Compressed frames hold a reference sample (3 × int16) and then
blocks ``[delta bits][count]`` of bit-packed signed deltas (LSB first); type 0 values
are scaled by ``factor × 1000`` (to milli-g, truncated as Polar's SDK does), type 1 are
milli-g. The driver converts milli-g to m/s².

The decoder is checked against the frames in Polar's own SDK tests
(``../shared/data/polar_pmd_acc_frames.json``).

Examples
--------
>>> import numpy as np
>>> frame = decode(encode_raw(np.array([[-9, -1, 999], [-8, -2, 997]]), 10**9))
>>> frame.mg.tolist(), frame.timestamp_ns
([[-9.0, -1.0, 999.0], [-8.0, -2.0, 997.0]], 1000000000)
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from numpy.typing import NDArray

from analysis.stream import G_STANDARD, Channel, StreamInfo
from firmware_bridge.ble import BleProfile, BleSource, Packet
from firmware_bridge.errors import BridgeError, DecodeError

if TYPE_CHECKING:
    from firmware_bridge.virtual.air import Air
    from firmware_bridge.virtual.peer import VirtualPeripheral

__all__ = [
    "CONTROL_UUID",
    "DATA_UUID",
    "PROFILE",
    "SERVICE_UUID",
    "PmdFrame",
    "PolarSource",
    "decode",
    "decode_response",
    "encode_delta",
    "encode_raw",
    "encode_settings",
]

SERVICE_UUID: Final = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
CONTROL_UUID: Final = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
DATA_UUID: Final = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

ACC: Final = 0x02
OP_GET_SETTINGS: Final = 0x01
OP_START: Final = 0x02
OP_STOP: Final = 0x03
RESPONSE: Final = 0xF0

SAMPLE_RATE, RESOLUTION, RANGE, RANGE_MILLIUNIT, CHANNELS, FACTOR = range(6)
_SETTING_SIZE: Final = {SAMPLE_RATE: 2, RESOLUTION: 2, RANGE: 2, RANGE_MILLIUNIT: 4, CHANNELS: 1,
                        FACTOR: 4}  # fmt: skip

MAX_SAMPLES: Final = 4096
"""Samples one frame may hold; more means a corrupt frame."""

EPOCH_2000_NS: Final = 946_684_800 * 10**9
"""2000-01-01 in Unix nanoseconds (Polar's epoch)."""

PROFILE: Final = BleProfile(
    kind="polar",
    label="Polar PMD accelerometer",
    service_uuid=SERVICE_UUID,
    name_prefixes=("Polar H10", "Polar Sense", "Polar OH1", "Polar Verity"),
    rate_hz=52.0,
)


@dataclass(frozen=True, slots=True)
class PmdFrame:
    """One accelerometer frame: ``mg`` shape (n, 3) float64 milli-g, oldest first."""

    timestamp_ns: int
    frame_type: int
    compressed: bool
    mg: NDArray[np.float64]


def _deltas(body: bytes, offset: int, payload: bytes) -> tuple[list[NDArray[np.int64]], int]:
    blocks = []
    total = 0
    while offset < len(body):
        if offset + 2 > len(body):
            raise DecodeError(payload, "delta block header cut short")
        size, count = body[offset], body[offset + 1]
        offset += 2
        if not 1 <= size <= 32 or count == 0:
            raise DecodeError(payload, f"delta block of {count} samples x {size} bits")
        nbits = size * count * 3
        nbytes = (nbits + 7) // 8
        if offset + nbytes > len(body):
            raise DecodeError(payload, "delta block runs past the end of the frame")
        total += count
        if total > MAX_SAMPLES:
            raise DecodeError(payload, f"more than {MAX_SAMPLES} samples")
        chunk = np.frombuffer(body, np.uint8, nbytes, offset)
        bits = np.unpackbits(chunk, bitorder="little")[:nbits].reshape(count, 3, size)
        values = (bits.astype(np.int64) << np.arange(size, dtype=np.int64)).sum(axis=2)
        values = np.where(values >= 1 << (size - 1), values - (1 << size), values)
        blocks.append(values)
        offset += nbytes
    return blocks, offset


def decode(payload: bytes | bytearray, factor: float = 1.0) -> PmdFrame:
    """Decode one PMD accelerometer notification to milli-g.

    Raises :class:`~firmware_bridge.errors.DecodeError` for other measurement types,
    unknown frame types, lengths that do not fit, or corrupt delta blocks.
    """
    data = bytes(payload)
    if len(data) < 10:
        raise DecodeError(data, "shorter than the 10-byte PMD header")
    if data[0] != ACC:
        raise DecodeError(data, f"measurement type {data[0]}, not the accelerometer (2)")
    timestamp = int.from_bytes(data[1:9], "little")
    frame_type = data[9] & 0x7F
    compressed = bool(data[9] & 0x80)
    body = data[10:]
    if not compressed:
        size = {0: 1, 1: 2, 2: 3}.get(frame_type)
        if size is None:
            raise DecodeError(data, f"raw frame type {frame_type} is not an accelerometer layout")
        if not body or len(body) % (3 * size):
            raise DecodeError(data, f"{len(body)} bytes are not whole {3 * size}-byte samples")
        if len(body) // (3 * size) > MAX_SAMPLES:
            raise DecodeError(data, f"more than {MAX_SAMPLES} samples")
        if size == 3:
            b = np.frombuffer(body, np.uint8).reshape(-1, 3).astype(np.int64)
            v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            mg = np.where(v >= 1 << 23, v - (1 << 24), v).reshape(-1, 3).astype(np.float64)
        else:
            mg = (
                np.frombuffer(body, "<i1" if size == 1 else "<i2").reshape(-1, 3).astype(np.float64)
            )
        return PmdFrame(timestamp, frame_type, False, mg)
    if frame_type not in (0, 1):
        raise DecodeError(
            data, f"compressed frame type {frame_type} is not an accelerometer layout"
        )
    if len(body) < 6:
        raise DecodeError(data, "compressed frame without its reference sample")
    reference = np.frombuffer(body, "<i2", 3).astype(np.int64)
    blocks, _ = _deltas(body, 6, data)
    steps = np.concatenate([reference[None, :], *blocks]) if blocks else reference[None, :]
    raw = np.cumsum(steps, axis=0)
    if frame_type == 0:
        if not (np.isfinite(factor) and factor > 0):
            raise DecodeError(
                data, f"a compressed type-0 frame needs a positive factor, not {factor}"
            )
        mg = np.trunc(raw * (factor * 1000.0))
    else:
        mg = raw.astype(np.float64)
    return PmdFrame(timestamp, frame_type, True, mg)


def encode_raw(mg: NDArray[Any], timestamp_ns: int) -> bytes:
    """A raw type-1 (16-bit) frame: ``mg`` shape (n, 3) milli-g, last sample at ``timestamp_ns``."""
    values = np.clip(np.round(np.asarray(mg, np.float64)), -32768, 32767).astype("<i2")
    return bytes([ACC]) + timestamp_ns.to_bytes(8, "little") + b"\x01" + values.tobytes()


def encode_delta(mg: NDArray[Any], timestamp_ns: int) -> bytes:
    """A compressed type-1 frame (milli-g): reference sample plus one block of deltas."""
    values = np.clip(np.round(np.asarray(mg, np.float64)), -32768, 32767).astype(np.int64)
    head = bytes([ACC]) + timestamp_ns.to_bytes(8, "little") + b"\x81"
    out = head + values[0].astype("<i2").tobytes()
    if values.shape[0] > 1:
        deltas = np.diff(values, axis=0)
        size = max(2, int(np.abs(deltas).max()).bit_length() + 1)
        count = deltas.shape[0]
        unsigned = np.where(deltas < 0, deltas + (1 << size), deltas)
        bits = ((unsigned[..., None] >> np.arange(size)) & 1).astype(np.uint8).ravel()
        out += bytes([size, count]) + np.packbits(bits, bitorder="little").tobytes()
    return out


def encode_settings(settings: dict[int, list[float]]) -> bytes:
    """Settings as control-point parameters ``[setting, count, values...]``."""
    out = b""
    for setting, values in settings.items():
        size = _SETTING_SIZE[setting]
        out += bytes([setting, len(values)])
        for v in values:
            out += struct.pack("<f", v) if setting == FACTOR else int(v).to_bytes(size, "little")
    return out


def decode_response(payload: bytes | bytearray) -> tuple[int, int, int, dict[int, list[float]]]:
    """A control-point answer -> (op, measurement type, status, settings)."""
    data = bytes(payload)
    if len(data) < 4 or data[0] != RESPONSE:
        raise DecodeError(data, "not a PMD control point answer")
    op, kind, status = data[1], data[2], data[3]
    settings: dict[int, list[float]] = {}
    i = 5
    while i + 2 <= len(data):
        setting, count = data[i], data[i + 1]
        size = _SETTING_SIZE.get(setting)
        if size is None or i + 2 + size * count > len(data):
            raise DecodeError(data, f"setting {setting} x {count} does not fit")
        values = []
        for k in range(count):
            chunk = data[i + 2 + k * size : i + 2 + (k + 1) * size]
            values.append(
                struct.unpack("<f", chunk)[0]
                if setting == FACTOR
                else int.from_bytes(chunk, "little")
            )
        settings[setting] = values
        i += 2 + size * count
    return op, kind, status, settings


class PolarSource(BleSource):
    """A Polar device's accelerometer: ``acc x``, ``acc y``, ``acc z`` in m/s².

    Parameters
    ----------
    target : str, optional
        Address or name (``"Polar Sense B5A1"``).
    rate_hz : int, optional
        Sample rate to ask for; the nearest the device offers is taken (default: the
        lowest of at least 50 Hz).
    **options
        As for :class:`~firmware_bridge.ble.BleSource`.
    """

    profile = PROFILE

    def __init__(self, target: str | None = None, *, rate_hz: int | None = None, **options: Any):
        super().__init__(target, **options)
        self._asked_rate = rate_hz
        self.factor = 1.0
        self.settings: dict[int, list[float]] = {}
        self._answers: asyncio.Queue[bytes] = asyncio.Queue()

    def _on_answer(self, sender: BleakGATTCharacteristic, data: bytearray) -> None:
        self._answers.put_nowait(bytes(data))

    async def _ask(self, client: BleakClient, request: bytes) -> dict[int, list[float]]:
        await client.write_gatt_char(CONTROL_UUID, request, response=True)
        answer = await asyncio.wait_for(self._answers.get(), 5.0)
        op, _, status, settings = decode_response(answer)
        if op != request[0] or status != 0:
            raise BridgeError(
                f"the Polar device refused command {request[0]:#04x} (status {status}); "
                "is another app streaming from it?"
            )
        return settings

    async def _setup(self, client: BleakClient) -> StreamInfo:
        self._answers = asyncio.Queue()
        await client.start_notify(CONTROL_UUID, self._on_answer)
        offered = await self._ask(client, bytes([OP_GET_SETTINGS, ACC]))
        rates = [int(r) for r in offered.get(SAMPLE_RATE, [52])]
        if self._asked_rate is None:
            rate = min((r for r in rates if r >= 50), default=max(rates))
        else:
            rate = min(rates, key=lambda r: abs(r - self._asked_rate))  # type: ignore[operator]
        chosen = {
            SAMPLE_RATE: [rate],
            RESOLUTION: [16],
            RANGE: [max(int(r) for r in offered.get(RANGE, [8]))],
        }
        await client.start_notify(DATA_UUID, self._on_notify)
        started = await self._ask(client, bytes([OP_START, ACC]) + encode_settings(chosen))
        self.factor = float(started.get(FACTOR, [1.0])[0])
        self.settings = chosen
        return StreamInfo(
            "polar",
            self.link.device or "Polar",
            float(rate),
            tuple(Channel(f"acc {a}", "m/s^2", "accel") for a in "xyz"),
            {"address": self.link.address, "range_g": chosen[RANGE][0], "factor": self.factor},
        )

    async def _teardown(self, client: BleakClient) -> None:
        await client.write_gatt_char(CONTROL_UUID, bytes([OP_STOP, ACC]), response=True)

    def _unpack(self, payload: bytes) -> Packet:
        frame = decode(payload, self.factor)
        rate = self._stream_info.rate_hz if self._stream_info else PROFILE.rate_hz
        n = frame.mg.shape[0]
        # the timestamp is the LAST sample's: earlier ones are a sample period apart
        last_s = frame.timestamp_ns * 1e-9
        device_t = last_s - (n - 1 - np.arange(n, dtype=np.float64)) / rate
        return Packet((frame.mg * (G_STANDARD / 1000.0)).astype(np.float32), device_t=device_t)

    @classmethod
    def _make_peer(cls, air: Air, options: dict[str, Any]) -> VirtualPeripheral:
        from firmware_bridge.virtual.peers import VirtualPolar

        return VirtualPolar.from_options(air, options)
