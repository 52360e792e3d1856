"""The pad's side of ``hardware/PROTOCOL.md``: data packets, the info record, commands.

Pure functions over bytes and ints, no hardware, no allocation on the hot path
(:func:`pack_header` and :func:`pack_row` write into buffers the caller owns), and
nothing MicroPython lacks (no dataclasses, no typing at run time, no f-strings), so
the same file runs on the pad, on CPython and in the MicroPython test under Node.

Everything is little-endian. A data packet is a 16-byte header
``format, flags, n_force, n_samples, seq u16, first_sample u32, t_us u32, period_us u16``
followed by ``n_samples`` rows of ``n_force`` i16 forces (and 3 i16 accelerations
with the ``ACC`` flag).
"""

import struct

SERVICE_UUID = "70610001-6c70-6174-652d-706164000000"
DATA_UUID = "70610002-6c70-6174-652d-706164000000"
CONTROL_UUID = "70610003-6c70-6174-652d-706164000000"
INFO_UUID = "70610004-6c70-6174-652d-706164000000"
BATTERY_SERVICE_UUID = 0x180F
BATTERY_LEVEL_UUID = 0x2A19

PROTOCOL_MAJOR = 1
PROTOCOL_MINOR = 1
DATA_FORMAT = 1
INFO_VERSION = 1

OP_START = 0x01
OP_STOP = 0x02
OP_SET_RATE = 0x03
OP_TARE = 0x04
OP_SET_ACCEL = 0x05

# data packet flags
FLAG_ACC = 0x01
FLAG_OVERFLOW = 0x02
FLAG_RAW = 0x04

# info flags
INFO_HAS_ACC = 0x01
INFO_RAW = 0x02
INFO_CALIBRATED = 0x04
INFO_ACC_ON = 0x08

# command results (the ATT error a stack that can refuse writes answers with)
OK = 0x00
ERR_LENGTH = 0x0D
ERR_OPCODE = 0x80
ERR_ARGUMENT = 0x81
ERR_MTU = 0x82

HEADER_FORMAT = "<BBBBHIIH"
HEADER_SIZE = 16
MAX_FORCE_CHANNELS = 8
MAX_PER_PACKET = 25
LATENCY_S = 0.04
FORCE_LSB_N = 0.01
ACC_LSB_MG = 1

RATES_HZ = (10, 20, 25, 40, 50, 80, 100, 125, 200, 250, 400, 500, 1000)
"""Sample rates the pad supports: each divides 1 s into whole microseconds."""

_INFO_FIXED = "<BBBBBBBBHHfHIH"  # 24 bytes
INFO_FIXED_SIZE = 24
MAX_NAME_BYTES = 185


class CommandError(Exception):
    """A command the pad refuses; ``code`` is the result (``ERR_*``)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def row_size(n_force, accel):
    """Bytes per sample row."""
    return 2 * n_force + (6 if accel else 0)


def samples_per_packet(mtu, n_force, accel, rate_hz):
    """Samples in one notification: what fits in ``mtu - 3``, at most 25, and no more
    than 40 ms worth (so a slow rate still updates the screen 25 times a second).
    0 when not even one sample fits."""
    fit = (mtu - 3 - HEADER_SIZE) // row_size(n_force, accel)
    by_latency = int(rate_hz * LATENCY_S)
    if by_latency < 1:
        by_latency = 1
    n = min(MAX_PER_PACKET, fit, by_latency)
    return n if n > 0 else 0


def nearest_rate(asked_hz, max_rate_hz):
    """The supported rate nearest ``asked_hz`` that is at most ``max_rate_hz``."""
    best = RATES_HZ[0]
    for rate in RATES_HZ:
        if rate > max_rate_hz:
            break
        if abs(rate - asked_hz) < abs(best - asked_hz):
            best = rate
    return best


def pack_header(buf, flags, n_force, n_samples, seq, first_sample, t_us, period_us):
    """Write the 16-byte data header into ``buf`` at offset 0 (counters wrap)."""
    struct.pack_into(
        HEADER_FORMAT,
        buf,
        0,
        DATA_FORMAT,
        flags & 0xFF,
        n_force,
        n_samples,
        seq & 0xFFFF,
        first_sample & 0xFFFFFFFF,
        t_us & 0xFFFFFFFF,
        period_us,
    )


def clamp16(value):
    """``value`` held to the i16 range."""
    if value > 32767:
        return 32767
    if value < -32768:
        return -32768
    return value


def pack_row(buf, offset, values, count):
    """Write ``values[:count]`` as i16 (clamped) into ``buf`` at ``offset``."""
    for i in range(count):
        v = clamp16(values[i])
        buf[offset] = v & 0xFF
        buf[offset + 1] = (v >> 8) & 0xFF
        offset += 2
    return offset


def encode_data(flags, n_force, accel, seq, first_sample, t_us, period_us, rows):
    """One data notification from a list of rows (each ``n_force`` [+ 3] ints).

    The pad builds packets from its ring (:mod:`padfw.sampler`) with the same
    :func:`pack_header` and row layout; this form is for tests and vectors.
    """
    width = n_force + (3 if accel else 0)
    if not 1 <= n_force <= MAX_FORCE_CHANNELS:
        raise ValueError("n_force must be 1-8")
    if not rows:
        raise ValueError("a packet needs one sample at least")
    size = HEADER_SIZE + len(rows) * 2 * width
    buf = bytearray(size)
    flags = (flags | FLAG_ACC) if accel else (flags & ~FLAG_ACC)
    pack_header(buf, flags, n_force, len(rows), seq, first_sample, t_us, period_us)
    offset = HEADER_SIZE
    for row in rows:
        if len(row) != width:
            raise ValueError("every row needs %d values" % width)
        offset = pack_row(buf, offset, row, width)
    return bytes(buf)


def encode_info(
    firmware,
    n_force,
    flags,
    rate_hz,
    max_rate_hz,
    force_lsb_n,
    acc_lsb_mg,
    calibrated_unix,
    side_mm,
    positions_mm,
    name,
    last_opcode=0,
    last_result=0,
):
    """The info characteristic: fixed fields, channel positions, name, then (minor 1)
    the opcode and result of the last command written."""
    name_bytes = name.encode()[:MAX_NAME_BYTES]
    size = INFO_FIXED_SIZE + 4 * n_force + 1 + len(name_bytes) + 2
    buf = bytearray(size)
    struct.pack_into(
        _INFO_FIXED,
        buf,
        0,
        INFO_VERSION,
        PROTOCOL_MAJOR,
        PROTOCOL_MINOR,
        firmware[0],
        firmware[1],
        firmware[2],
        n_force,
        flags,
        rate_hz,
        max_rate_hz,
        force_lsb_n,
        acc_lsb_mg,
        int(calibrated_unix) & 0xFFFFFFFF,
        side_mm,
    )
    offset = INFO_FIXED_SIZE
    for i in range(n_force):
        x, y = positions_mm[i] if i < len(positions_mm) else (0, 0)
        struct.pack_into("<hh", buf, offset, clamp16(x), clamp16(y))
        offset += 4
    buf[offset] = len(name_bytes)
    buf[offset + 1 : offset + 1 + len(name_bytes)] = name_bytes
    offset += 1 + len(name_bytes)
    buf[offset] = last_opcode & 0xFF
    buf[offset + 1] = last_result & 0xFF
    return bytes(buf)


def parse_command(data):
    """``(opcode, argument)`` of one control write; ``argument`` is None, the rate in Hz
    (SET_RATE) or 0/1 (SET_ACCEL).

    Raises
    ------
    CommandError
        ``ERR_LENGTH`` for an empty write, ``ERR_OPCODE`` for an unknown opcode,
        ``ERR_ARGUMENT`` for a wrong length or value.
    """
    if not data:
        raise CommandError(ERR_LENGTH, "empty command")
    op = data[0]
    if op in (OP_START, OP_STOP, OP_TARE):
        if len(data) != 1:
            raise CommandError(ERR_ARGUMENT, "opcode 0x%02x takes no argument" % op)
        return op, None
    if op == OP_SET_RATE:
        if len(data) != 3:
            raise CommandError(ERR_ARGUMENT, "SET_RATE takes a u16 rate in Hz")
        rate = data[1] | (data[2] << 8)
        if rate == 0:
            raise CommandError(ERR_ARGUMENT, "SET_RATE 0 Hz")
        return op, rate
    if op == OP_SET_ACCEL:
        if len(data) != 2 or data[1] > 1:
            raise CommandError(ERR_ARGUMENT, "SET_ACCEL takes one byte, 0 or 1")
        return op, data[1]
    raise CommandError(ERR_OPCODE, "unknown opcode 0x%02x" % op)
