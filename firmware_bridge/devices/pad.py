"""The palpate pad: our open force pad, 1-8 force channels and an optional accelerometer.

The GATT protocol is specified byte for byte in ``hardware/PROTOCOL.md``; this module
is its reference central: :func:`decode_data` and :func:`decode_info` read what the
pad sends, :func:`encode_data` and :func:`encode_info` write it (for the virtual pad
and the firmware's tests), and :class:`PadSource` streams it.

Examples
--------
>>> import numpy as np
>>> counts = np.array([[100, 200, 300, 400], [101, 201, 301, 401]], np.int16)
>>> packet = encode_data(counts, seq=7, first_sample=50, t_us=50_000, period_us=1000)
>>> len(packet), decode_data(packet).first_sample
(32, 50)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from bleak import BleakClient
from numpy.typing import NDArray

from analysis.stream import G_STANDARD, Channel, StreamInfo
from firmware_bridge.ble import BleProfile, BleSource, Packet, Unwrap32
from firmware_bridge.errors import BridgeError, DecodeError

if TYPE_CHECKING:
    from firmware_bridge.virtual.air import Air
    from firmware_bridge.virtual.peer import VirtualPeripheral

__all__ = [
    "CONTROL_UUID",
    "DATA_UUID",
    "HEADER",
    "INFO_UUID",
    "PROFILE",
    "PROTOCOL_MAJOR",
    "SERVICE_UUID",
    "DataPacket",
    "PadInfo",
    "PadSource",
    "decode_data",
    "decode_info",
    "encode_data",
    "encode_info",
    "samples_per_packet",
]

SERVICE_UUID: Final = "70610001-6c70-6174-652d-706164000000"
DATA_UUID: Final = "70610002-6c70-6174-652d-706164000000"
CONTROL_UUID: Final = "70610003-6c70-6174-652d-706164000000"
INFO_UUID: Final = "70610004-6c70-6174-652d-706164000000"

PROTOCOL_MAJOR: Final = 1
PROTOCOL_MINOR: Final = 0
DATA_FORMAT: Final = 1

OP_START: Final = 0x01
OP_STOP: Final = 0x02
OP_SET_RATE: Final = 0x03
OP_TARE: Final = 0x04
OP_SET_ACCEL: Final = 0x05

FLAG_ACC: Final = 0x01
FLAG_OVERFLOW: Final = 0x02
FLAG_RAW: Final = 0x04

INFO_HAS_ACC: Final = 0x01
INFO_RAW: Final = 0x02
INFO_CALIBRATED: Final = 0x04
INFO_ACC_ON: Final = 0x08

HEADER: Final = struct.Struct("<BBBBHIIH")
"""format, flags, n_force, n_samples, seq, first_sample, t_us, period_us (16 bytes)."""

_INFO_FIXED: Final = struct.Struct("<BBBBBBBBHHfHIH")  # 24 bytes

PROFILE: Final = BleProfile(
    kind="pad",
    label="palpate pad",
    service_uuid=SERVICE_UUID,
    name_prefixes=("palpate-pad",),
    rate_hz=1000.0,
)


def samples_per_packet(mtu: int, n_force: int, accel: bool, rate_hz: float) -> int:
    """Samples the pad puts in one packet (``hardware/PROTOCOL.md``, "Throughput")."""
    row = 2 * n_force + (6 if accel else 0)
    fit = (mtu - 3 - HEADER.size) // row
    return max(0, min(25, fit, max(1, int(rate_hz * 0.04))))


@dataclass(frozen=True, slots=True)
class DataPacket:
    """One decoded data notification (counts, not yet scaled).

    ``force`` has shape (n_samples, n_force) int16; ``acc`` shape (n_samples, 3) int16
    or None.
    """

    flags: int
    seq: int
    first_sample: int
    t_us: int
    period_us: int
    force: NDArray[np.int16]
    acc: NDArray[np.int16] | None

    @property
    def overflow(self) -> bool:
        return bool(self.flags & FLAG_OVERFLOW)

    @property
    def raw(self) -> bool:
        return bool(self.flags & FLAG_RAW)


@dataclass(frozen=True, slots=True)
class PadInfo:
    """The info characteristic."""

    protocol: tuple[int, int]
    firmware: tuple[int, int, int]
    n_force: int
    flags: int
    rate_hz: int
    max_rate_hz: int
    force_lsb_n: float
    acc_lsb_mg: int
    calibrated_unix: int
    side_mm: int
    positions_mm: tuple[tuple[int, int], ...]
    name: str
    last_command: tuple[int, int] | None = None
    """(opcode, result) of the last command written, from protocol 1.1 on (result 0:
    done, else the ATT error code the pad would have answered with)."""

    @property
    def has_accel(self) -> bool:
        return bool(self.flags & INFO_HAS_ACC)

    @property
    def accel_on(self) -> bool:
        return bool(self.flags & INFO_ACC_ON)

    @property
    def raw(self) -> bool:
        return bool(self.flags & INFO_RAW)

    @property
    def calibrated(self) -> bool:
        return bool(self.flags & INFO_CALIBRATED)


def decode_data(payload: bytes | bytearray) -> DataPacket:
    """Decode one data notification.

    Raises
    ------
    DecodeError
        Shorter than the header, an unknown format, channel or sample counts out of
        range, a zero period, or a length that is not ``16 + n_samples × row``.
    """
    data = bytes(payload)
    if len(data) < HEADER.size:
        raise DecodeError(data, f"shorter than the {HEADER.size}-byte header")
    fmt, flags, n_force, n, seq, first, t_us, period_us = HEADER.unpack_from(data)
    if fmt != DATA_FORMAT:
        raise DecodeError(data, f"data format {fmt}, this palpate reads format {DATA_FORMAT}")
    if not 1 <= n_force <= 8:
        raise DecodeError(data, f"{n_force} force channels (1-8 allowed)")
    if n < 1:
        raise DecodeError(data, "a packet without samples")
    if period_us == 0:
        raise DecodeError(data, "sample period 0")
    accel = bool(flags & FLAG_ACC)
    row = 2 * n_force + (6 if accel else 0)
    if len(data) != HEADER.size + n * row:
        raise DecodeError(
            data, f"{n} samples of {row} bytes need {HEADER.size + n * row} bytes, got {len(data)}"
        )
    table = np.frombuffer(data, "<i2", offset=HEADER.size).reshape(n, row // 2)
    force = table[:, :n_force].astype(np.int16)
    acc = table[:, n_force:].astype(np.int16) if accel else None
    return DataPacket(flags, seq, first, t_us, period_us, force, acc)


def encode_data(
    force: NDArray[np.int16],
    *,
    seq: int,
    first_sample: int,
    t_us: int,
    period_us: int,
    acc: NDArray[np.int16] | None = None,
    flags: int = 0,
) -> bytes:
    """One data notification from counts (``force`` (n, n_force), ``acc`` (n, 3) or None)."""
    force = np.asarray(force)
    if force.ndim != 2 or not 1 <= force.shape[1] <= 8 or force.shape[0] < 1:
        raise ValueError("force counts must have shape (n >= 1, 1-8)")
    columns = [force]
    flags &= ~FLAG_ACC
    if acc is not None:
        acc = np.asarray(acc)
        if acc.shape != (force.shape[0], 3):
            raise ValueError("acc counts must have shape (n, 3)")
        columns.append(acc)
        flags |= FLAG_ACC
    head = HEADER.pack(
        DATA_FORMAT,
        flags,
        force.shape[1],
        force.shape[0],
        seq % 2**16,
        first_sample % 2**32,
        t_us % 2**32,
        period_us,
    )
    rows = np.clip(np.hstack(columns), -32768, 32767).astype("<i2")
    return head + rows.tobytes()


def decode_info(payload: bytes | bytearray) -> PadInfo:
    """Decode the info characteristic (fields of later minors after the name are ignored)."""
    data = bytes(payload)
    if len(data) < _INFO_FIXED.size + 1:
        raise DecodeError(data, f"info shorter than {_INFO_FIXED.size + 1} bytes")
    fixed = _INFO_FIXED.unpack_from(data)
    version, major, minor, fw1, fw2, fw3, n_force, flags = fixed[:8]
    rate, max_rate, lsb, acc_lsb, cal_unix, side = fixed[8:]
    if version < 1:
        raise DecodeError(data, f"info version {version}")
    if not 1 <= n_force <= 8:
        raise DecodeError(data, f"{n_force} force channels (1-8 allowed)")
    pos_end = _INFO_FIXED.size + 4 * n_force
    if len(data) < pos_end + 1:
        raise DecodeError(data, "info too short for its channel positions")
    positions = np.frombuffer(data, "<i2", 2 * n_force, _INFO_FIXED.size).reshape(n_force, 2)
    name_len = data[pos_end]
    name_bytes = data[pos_end + 1 : pos_end + 1 + name_len]
    if len(name_bytes) != name_len:
        raise DecodeError(data, "info name cut short")
    if not (np.isfinite(lsb) and lsb > 0) or rate == 0 or max_rate == 0:
        raise DecodeError(data, "info has a zero rate or a bad force scale")
    return PadInfo(
        (major, minor),
        (fw1, fw2, fw3),
        n_force,
        flags,
        rate,
        max_rate,
        float(f"{lsb:.7g}"),  # the f32's decimal value (0.01, not 0.009999999776)
        acc_lsb,
        cal_unix,
        side,
        tuple((int(x), int(y)) for x, y in positions),
        name_bytes.decode("utf-8", "replace"),
        _last_command(data, pos_end + 1 + name_len, minor),
    )


def _last_command(data: bytes, offset: int, minor: int) -> tuple[int, int] | None:
    """Protocol 1.1 appends the last command's opcode and result after the name."""
    if minor < 1 or len(data) < offset + 2:
        return None
    return data[offset], data[offset + 1]


def encode_info(info: PadInfo) -> bytes:
    """The info characteristic's bytes."""
    name = info.name.encode()[:187]
    return (
        _INFO_FIXED.pack(
            1,
            *info.protocol,
            *info.firmware,
            info.n_force,
            info.flags,
            info.rate_hz,
            info.max_rate_hz,
            info.force_lsb_n,
            info.acc_lsb_mg,
            info.calibrated_unix,
            info.side_mm,
        )
        + np.asarray(info.positions_mm, "<i2").tobytes()
        + bytes([len(name)])
        + name
        + (bytes(info.last_command) if info.last_command is not None else b"")
    )


class PadSource(BleSource):
    """A palpate pad: ``force1`` .. ``forceN`` (N, or adc when uncalibrated) and optionally
    ``acc x/y/z`` (m/s²).

    Parameters
    ----------
    target : str, optional
        Address or name (``palpate-pad 3F2A``).
    rate_hz : int, optional
        Sample rate to ask for (the pad picks the nearest it supports).
    accel : bool, optional
        Ask for the accelerometer columns on or off (None: as the pad is set).
    tare : bool
        Tare on the pad after connecting.
    **options
        As for :class:`~firmware_bridge.ble.BleSource`.
    """

    profile = PROFILE

    def __init__(
        self,
        target: str | None = None,
        *,
        rate_hz: int | None = None,
        accel: bool | None = None,
        tare: bool = False,
        **options: Any,
    ) -> None:
        if rate_hz is not None and not 1 <= int(rate_hz) <= 65535:
            raise ValueError(f"rate_hz must be 1-65535, got {rate_hz!r}")
        super().__init__(target, **options)
        self._rate_hz = rate_hz
        self._accel = accel
        self._tare = tare
        self.pad: PadInfo | None = None
        self.overflows = 0
        self._counter = Unwrap32()  # 32-bit sample counter and µs clock, run on past 2³²
        self._clock_us = Unwrap32()

    async def _setup(self, client: BleakClient) -> StreamInfo:
        control = CONTROL_UUID
        if self._rate_hz is not None:
            await client.write_gatt_char(
                control, struct.pack("<BH", OP_SET_RATE, self._rate_hz), True
            )
        if self._accel is not None:
            await client.write_gatt_char(control, bytes([OP_SET_ACCEL, int(self._accel)]), True)
        pad = decode_info(await client.read_gatt_char(INFO_UUID))
        if pad.protocol[0] != PROTOCOL_MAJOR:
            raise BridgeError(
                f"this pad speaks protocol {pad.protocol[0]}.x, palpate knows "
                f"{PROTOCOL_MAJOR}.x: update palpate (or the pad's firmware)"
            )
        self.pad = pad
        if self._tare:
            await client.write_gatt_char(control, bytes([OP_TARE]), True)
        await client.start_notify(DATA_UUID, self._on_notify)
        await client.write_gatt_char(control, bytes([OP_START]), True)
        self._counter.restart()  # START restarts the pad's counters
        self._clock_us.restart()
        return self._stream_info_for(pad)

    def _stream_info_for(self, pad: PadInfo) -> StreamInfo:
        names = ["force"] if pad.n_force == 1 else [f"force{i}" for i in range(1, pad.n_force + 1)]
        unit, kind = ("adc", "raw") if pad.raw else ("N", "force")
        channels = [Channel(n, unit, kind) for n in names]
        if pad.accel_on:
            channels += [Channel(f"acc {a}", "m/s^2", "accel") for a in "xyz"]
        meta: dict[str, Any] = {
            "address": self.link.address,
            "protocol": f"{pad.protocol[0]}.{pad.protocol[1]}",
            "firmware": ".".join(map(str, pad.firmware)),
            "serial": pad.name,
            "calibrated_on_device": pad.calibrated,
            "calibrated_unix": pad.calibrated_unix or None,
            "side_mm": pad.side_mm or None,
        }
        if pad.n_force >= 3:
            meta["positions_mm"] = [list(p) for p in pad.positions_mm]
        device = self.link.device or f"palpate pad {pad.name}"
        return StreamInfo("pad", device, float(pad.rate_hz), tuple(channels), meta)

    async def _teardown(self, client: BleakClient) -> None:
        await client.write_gatt_char(CONTROL_UUID, bytes([OP_STOP]), True)

    def _unpack(self, payload: bytes) -> Packet | None:
        packet = decode_data(payload)
        pad = self.pad
        if pad is None:
            return None
        if packet.force.shape[1] != pad.n_force or (packet.acc is not None) != pad.accel_on:
            raise DecodeError(payload, "packet layout differs from what the pad's info says")
        if packet.overflow:
            self.overflows += 1
        counter = self._counter(packet.first_sample)
        t0 = self._clock_us(packet.t_us)
        n = packet.force.shape[0]
        device_t = (t0 + np.arange(n, dtype=np.float64) * packet.period_us) * 1e-6
        force = packet.force.astype(np.float32) * np.float32(pad.force_lsb_n)
        columns = [force]
        if packet.acc is not None:
            scale = np.float32(pad.acc_lsb_mg * G_STANDARD / 1000.0)
            columns.append(packet.acc.astype(np.float32) * scale)
        values = np.hstack(columns) if len(columns) > 1 else force
        return Packet(values.astype(np.float32), device_t=device_t, counter=counter)

    @classmethod
    def _make_peer(cls, air: Air, options: dict[str, Any]) -> VirtualPeripheral:
        """The pad's own firmware on a fake ADC (``virtual.pad_firmware``) when the
        options allow it (``firmware=True``, or only options it knows) and the firmware
        source is at hand; else :class:`~firmware_bridge.virtual.peers.VirtualPad`
        (scripted signals, faults)."""
        from firmware_bridge.virtual import pad_firmware
        from firmware_bridge.virtual.peers import VirtualPad

        options = dict(options)
        wanted = options.pop("firmware", None)
        if wanted is None:
            wanted = set(options) <= pad_firmware.FirmwarePad.OPTIONS
            if wanted:
                try:
                    pad_firmware.firmware_dir()
                except BridgeError:
                    wanted = False
        if wanted:
            return pad_firmware.FirmwarePad(air, options)  # type: ignore[return-value]
        return VirtualPad.from_options(air, options)
