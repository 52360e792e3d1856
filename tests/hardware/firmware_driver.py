"""Run the firmware's pure modules over the shared vectors and a scripted stream.

This file runs unchanged under CPython and under MicroPython (the test writes it into
the MicroPython file system next to ``padfw``), so it sticks to what both have: no
f-strings, no dataclasses, no typing, integers only in its output. :func:`run`
returns plain data; the test compares the two interpreters' results byte for byte.
"""

import binascii
import json

from padfw import calib, protocol
from padfw.sampler import Sampler
from padfw.schedule import Schedule


def _hex(data):
    return binascii.hexlify(bytes(data)).decode()


def _commands(cases):
    out = []
    for case in cases:
        data = binascii.unhexlify(case["hex"])
        try:
            op, arg = protocol.parse_command(data)
            out.append([op, arg])
        except protocol.CommandError as err:
            out.append(["refused", err.code])
    return out


def stream(seconds=2, rate_hz=1000, per_packet=16, capacity=60):
    """A scripted streaming run: a jittery, sometimes stalled timer; a radio that is
    sometimes busy; a ring small enough to overflow. Returns the packets sent."""
    schedule = Schedule(rate_hz, 5000, max_burst=50)
    sampler = Sampler(4, True, False, capacity)
    buf = bytearray(244)
    row = [0] * 7
    now = 5000
    seed = 12345
    attempts = 0
    packets = []
    end = 5000 + seconds * 1000000
    while now < end:
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        step = 600 + seed % 900
        if seed % 97 == 0:
            step += 30000
        if seed % 389 == 0:
            step += 80000
        now += step
        first, count, skipped = schedule.due(now)
        sampler.lost(skipped)
        for k in range(first, first + count):
            for i in range(7):
                row[i] = (k * (i + 3) + i * 1000) % 65536 - 32768
            sampler.push(k, row)
        while True:
            length, rows = sampler.peek(buf, per_packet, schedule.period_us)
            if not length:
                break
            attempts += 1
            if attempts % 7 == 0:
                break  # the radio's queue is full this time
            packets.append(_hex(buf[:length]))
            sampler.consume(rows)
    return {
        "packets": packets,
        "taken": schedule.next,
        "skipped": schedule.skipped,
        "dropped": sampler.dropped,
    }


def tables(calibration_text, n_force):
    """Every 16th entry and the sum of each channel's lookup table."""
    cal = calib.Calibration(calibration_text, n_force, 4095, protocol.FORCE_LSB_N)
    out = []
    for table in cal.tables:
        out.append({"every_16th": [table[i] for i in range(0, 4096, 16)], "sum": sum(table)})
    return out


def run(vectors_text, calibration_text, n_force):
    """Everything the test compares, as plain data."""
    v = json.loads(vectors_text)
    data = []
    for c in v["data"]:
        packet = protocol.encode_data(
            c["flags"],
            c["n_force"],
            c["accel"],
            c["seq"],
            c["first_sample"],
            c["t_us"],
            c["period_us"],
            c["rows"],
        )
        data.append(_hex(packet))
    info = []
    for c in v["info"]:
        packet = protocol.encode_info(
            c["firmware"],
            c["n_force"],
            c["flags"],
            c["rate_hz"],
            c["max_rate_hz"],
            c["force_lsb_n"],
            c["acc_lsb_mg"],
            c["calibrated_unix"],
            c["side_mm"],
            c["positions_mm"],
            c["name"],
            c["last_opcode"],
            c["last_result"],
        )
        info.append(_hex(packet))
    sizes = [
        protocol.samples_per_packet(c["mtu"], c["n_force"], c["accel"], c["rate_hz"])
        for c in v["samples_per_packet"]
    ]
    rates = [protocol.nearest_rate(asked, 1000) for asked in (1, 10, 33, 90, 120, 300, 999, 5000)]
    return {
        "data": data,
        "info": info,
        "commands": _commands(v["commands"]),
        "samples_per_packet": sizes,
        "rates": rates,
        "stream": stream(),
        "tables": tables(calibration_text, n_force),
    }
