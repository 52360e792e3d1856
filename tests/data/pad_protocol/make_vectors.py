"""Write ``vectors.json``: the shared test vectors of ``hardware/PROTOCOL.md``.

Each vector gives the fields and the bytes. The bytes come from the pad firmware's
encoder (``hardware/firmware/padfw/protocol.py``) run on CPython; the tests then check
that the firmware still makes exactly these bytes (on CPython and on MicroPython), that
palpate's decoder (``firmware_bridge/devices/pad.py``) reads the fields back, and that
palpate's encoder makes the same bytes. Run from the repository root after a deliberate
protocol change::

    python tests/data/pad_protocol/make_vectors.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "hardware" / "firmware"))

from padfw import protocol  # noqa: E402


def _rows(n: int, width: int, start: int, step: int = 7) -> list[list[int]]:
    return [[(start + 13 * i + step * j) % 2000 - 100 for j in range(width)] for i in range(n)]


def data_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = [
        dict(
            case="one channel, one sample",
            n_force=1,
            accel=False,
            flags=0,
            seq=0,
            first_sample=0,
            t_us=0,
            period_us=1000,
            rows=[[1234]],
        ),
        dict(
            case="4 channels at 1 kHz, full 247-MTU packet (25 samples, 216 bytes)",
            n_force=4,
            accel=False,
            flags=0,
            seq=1,
            first_sample=25,
            t_us=25000,
            period_us=1000,
            rows=_rows(25, 4, 10),
        ),
        dict(
            case="4 channels + accelerometer, full packet (16 samples, 240 bytes)",
            n_force=4,
            accel=True,
            flags=0,
            seq=2,
            first_sample=32,
            t_us=32000,
            period_us=1000,
            rows=[[*r[:4], 12, -40, 1003] for r in _rows(16, 4, 3)],
        ),
        dict(
            case="max channels: 8 forces + accelerometer (10 samples, 236 bytes)",
            n_force=8,
            accel=True,
            flags=0,
            seq=3,
            first_sample=70,
            t_us=70000,
            period_us=1000,
            rows=_rows(10, 11, 99),
        ),
        dict(
            case="max channels: 8 forces, no accelerometer (14 samples, 240 bytes)",
            n_force=8,
            accel=False,
            flags=0,
            seq=4,
            first_sample=84,
            t_us=84000,
            period_us=1000,
            rows=_rows(14, 8, 5),
        ),
        dict(
            case="sequence at its last value",
            n_force=4,
            accel=False,
            flags=0,
            seq=65535,
            first_sample=1638375,
            t_us=1638375000 % 2**32,
            period_us=1000,
            rows=_rows(25, 4, 1),
        ),
        dict(
            case="sequence wrapped to 0",
            n_force=4,
            accel=False,
            flags=0,
            seq=0,
            first_sample=1638400,
            t_us=1638400000 % 2**32,
            period_us=1000,
            rows=_rows(25, 4, 2),
        ),
        dict(
            case="sample counter and clock wrapping past 2^32",
            n_force=2,
            accel=False,
            flags=0,
            seq=17,
            first_sample=2**32 - 2,
            t_us=2**32 - 1500,
            period_us=1000,
            rows=[[1, 2], [3, 4], [5, 6], [7, 8]],
        ),
        dict(
            case="overflow and raw counts at 100 Hz",
            n_force=4,
            accel=False,
            flags=protocol.FLAG_OVERFLOW | protocol.FLAG_RAW,
            seq=9,
            first_sample=140,
            t_us=1400000,
            period_us=10000,
            rows=[[0, 4095, 2048, 17]] * 4,
        ),
        dict(
            case="i16 extremes",
            n_force=3,
            accel=True,
            flags=0,
            seq=5,
            first_sample=7,
            t_us=7000,
            period_us=1000,
            rows=[[32767, -32768, 0, -1, 1, -32768], [-32768, 32767, -2, 32767, -32767, 0]],
        ),
    ]
    for case in cases:
        case["hex"] = protocol.encode_data(
            case["flags"],
            case["n_force"],
            case["accel"],
            case["seq"],
            case["first_sample"],
            case["t_us"],
            case["period_us"],
            case["rows"],
        ).hex()
    return cases


def bad_data_cases() -> list[dict[str, str]]:
    good = bytes.fromhex(data_cases()[1]["hex"])
    return [
        dict(case="empty", hex=""),
        dict(case="shorter than the header", hex=good[:10].hex()),
        dict(case="header without samples", hex=good[:16].hex()),
        dict(case="one byte short", hex=good[:-1].hex()),
        dict(case="one byte too many", hex=(good + b"\x00").hex()),
        dict(case="unknown format 2", hex=(b"\x02" + good[1:]).hex()),
        dict(case="0 force channels", hex=(good[:2] + b"\x00" + good[3:]).hex()),
        dict(case="9 force channels", hex=(good[:2] + b"\x09" + good[3:]).hex()),
        dict(case="0 samples", hex=(good[:3] + b"\x00" + good[4:16]).hex()),
        dict(case="period 0", hex=(good[:14] + b"\x00\x00" + good[16:]).hex()),
        dict(
            case="ACC flag without the accelerometer bytes",
            hex=(good[:1] + b"\x01" + good[2:]).hex(),
        ),
    ]


def info_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = [
        dict(
            case="4 channels, calibrated, accelerometer on, after START",
            firmware=[1, 0, 0],
            n_force=4,
            flags=protocol.INFO_HAS_ACC | protocol.INFO_CALIBRATED | protocol.INFO_ACC_ON,
            rate_hz=1000,
            max_rate_hz=1000,
            force_lsb_n=0.01,
            acc_lsb_mg=1,
            calibrated_unix=1764000000,
            side_mm=60,
            positions_mm=[[-20, -20], [20, -20], [-20, 20], [20, 20]],
            name="3F2A",
            last_opcode=protocol.OP_START,
            last_result=0,
        ),
        dict(
            case="1 channel, raw counts, a refused SET_RATE",
            firmware=[1, 2, 3],
            n_force=1,
            flags=protocol.INFO_RAW,
            rate_hz=100,
            max_rate_hz=500,
            force_lsb_n=1.0,
            acc_lsb_mg=1,
            calibrated_unix=0,
            side_mm=0,
            positions_mm=[[0, 0]],
            name="pad of Ana",
            last_opcode=protocol.OP_SET_RATE,
            last_result=protocol.ERR_ARGUMENT,
        ),
        dict(
            case="max channels (8), longest name",
            firmware=[2, 10, 255],
            n_force=8,
            flags=protocol.INFO_HAS_ACC,
            rate_hz=200,
            max_rate_hz=1000,
            force_lsb_n=0.01,
            acc_lsb_mg=1,
            calibrated_unix=4294967295,
            side_mm=65535,
            positions_mm=[
                [-32768, 32767],
                [1, -1],
                [0, 0],
                [30, 30],
                [-30, 30],
                [30, -30],
                [-30, -30],
                [32767, -32768],
            ],
            name="n" * protocol.MAX_NAME_BYTES,
            last_opcode=0,
            last_result=0,
        ),
    ]
    for case in cases:
        case["hex"] = protocol.encode_info(
            case["firmware"],
            case["n_force"],
            case["flags"],
            case["rate_hz"],
            case["max_rate_hz"],
            case["force_lsb_n"],
            case["acc_lsb_mg"],
            case["calibrated_unix"],
            case["side_mm"],
            case["positions_mm"],
            case["name"],
            case["last_opcode"],
            case["last_result"],
        ).hex()
    return cases


def command_cases() -> list[dict[str, Any]]:
    """Central -> pad writes, with the opcode and argument the pad reads (or its refusal)."""
    ok = [
        ("START", "01", 1, None),
        ("STOP", "02", 2, None),
        ("SET_RATE 1000 Hz", "03e803", 3, 1000),
        ("SET_RATE 200 Hz", "03c800", 3, 200),
        ("SET_RATE 65535 Hz (the pad picks its nearest)", "03ffff", 3, 65535),
        ("TARE", "04", 4, None),
        ("SET_ACCEL on", "0501", 5, 1),
        ("SET_ACCEL off", "0500", 5, 0),
    ]
    bad = [
        ("empty write", "", protocol.ERR_LENGTH),
        ("unknown opcode", "ff", protocol.ERR_OPCODE),
        ("opcode 0", "00", protocol.ERR_OPCODE),
        ("START with an argument", "0100", protocol.ERR_ARGUMENT),
        ("SET_RATE 0 Hz", "030000", protocol.ERR_ARGUMENT),
        ("SET_RATE one byte short", "03e8", protocol.ERR_ARGUMENT),
        ("SET_ACCEL 2", "0502", protocol.ERR_ARGUMENT),
        ("SET_ACCEL without argument", "05", protocol.ERR_ARGUMENT),
    ]
    return [dict(case=n, hex=h, opcode=o, argument=a, result=0) for n, h, o, a in ok] + [
        dict(case=n, hex=h, result=r) for n, h, r in bad
    ]


def packet_size_cases() -> list[dict[str, Any]]:
    out = []
    for mtu in (23, 64, 185, 247, 517):
        for n_force in (1, 4, 8):
            for accel in (False, True):
                for rate in (10, 100, 1000):
                    per = protocol.samples_per_packet(mtu, n_force, accel, rate)
                    out.append(
                        dict(mtu=mtu, n_force=n_force, accel=accel, rate_hz=rate, per_packet=per)
                    )
    return out


def main() -> None:
    vectors = {
        "protocol": [protocol.PROTOCOL_MAJOR, protocol.PROTOCOL_MINOR],
        "data": data_cases(),
        "bad_data": bad_data_cases(),
        "info": info_cases(),
        "commands": command_cases(),
        "samples_per_packet": packet_size_cases(),
    }
    (HERE / "vectors.json").write_text(json.dumps(vectors, indent=1) + "\n")


if __name__ == "__main__":
    main()
