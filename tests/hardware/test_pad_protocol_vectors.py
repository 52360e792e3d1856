"""The firmware's encoder and palpate's decoder agree on the shared vectors, both ways.

``tests/data/pad_protocol/vectors.json`` holds, for every packet type and edge case
(sequence wrap, counter and clock wrap, full 247-MTU packets, 8 channels with the
accelerometer, i16 extremes, overflow/raw flags, malformed packets, every command and
every refusal), the fields and the bytes. Here:

- firmware -> bytes: ``padfw.protocol`` still encodes every vector's fields to its bytes;
- bytes -> palpate: ``firmware_bridge.devices.pad`` decodes the bytes to the fields and
  refuses the malformed ones with its ``DecodeError``;
- palpate -> bytes: palpate's own encoder makes the same bytes from the fields;
- central -> pad: the firmware parses every command (and refuses the bad ones with the
  code the protocol names).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

from firmware_bridge.devices import pad
from firmware_bridge.errors import DecodeError


def _cases(vectors: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return list(vectors[key])


def test_vectors_speak_the_protocol_the_firmware_speaks(
    padfw: ModuleType, vectors: dict[str, Any]
) -> None:
    assert vectors["protocol"] == [padfw.protocol.PROTOCOL_MAJOR, padfw.protocol.PROTOCOL_MINOR]
    assert padfw.protocol.PROTOCOL_MAJOR == pad.PROTOCOL_MAJOR
    for name in (
        "SERVICE_UUID",
        "DATA_UUID",
        "CONTROL_UUID",
        "INFO_UUID",
        "OP_START",
        "OP_STOP",
        "OP_SET_RATE",
        "OP_TARE",
        "OP_SET_ACCEL",
        "FLAG_ACC",
        "FLAG_OVERFLOW",
        "FLAG_RAW",
        "INFO_HAS_ACC",
        "INFO_RAW",
        "INFO_CALIBRATED",
        "INFO_ACC_ON",
    ):
        assert getattr(padfw.protocol, name) == getattr(pad, name), name


def test_firmware_encodes_every_data_vector(padfw: ModuleType, vectors: dict[str, Any]) -> None:
    for case in _cases(vectors, "data"):
        packet = padfw.protocol.encode_data(
            case["flags"],
            case["n_force"],
            case["accel"],
            case["seq"],
            case["first_sample"],
            case["t_us"],
            case["period_us"],
            case["rows"],
        )
        assert packet.hex() == case["hex"], case["case"]


def test_palpate_decodes_every_data_vector(vectors: dict[str, Any]) -> None:
    for case in _cases(vectors, "data"):
        got = pad.decode_data(bytes.fromhex(case["hex"]))
        rows = np.asarray(case["rows"])
        n = case["n_force"]
        assert (got.seq, got.first_sample, got.t_us, got.period_us) == (
            case["seq"],
            case["first_sample"],
            case["t_us"],
            case["period_us"],
        ), case["case"]
        assert got.flags & ~pad.FLAG_ACC == case["flags"] & ~pad.FLAG_ACC
        assert got.overflow == bool(case["flags"] & pad.FLAG_OVERFLOW)
        assert got.raw == bool(case["flags"] & pad.FLAG_RAW)
        np.testing.assert_array_equal(got.force, rows[:, :n])
        if case["accel"]:
            assert got.acc is not None
            np.testing.assert_array_equal(got.acc, rows[:, n:])
        else:
            assert got.acc is None


def test_palpate_encodes_the_same_data_bytes(vectors: dict[str, Any]) -> None:
    for case in _cases(vectors, "data"):
        rows = np.asarray(case["rows"], np.int64)
        n = case["n_force"]
        packet = pad.encode_data(
            rows[:, :n].astype(np.int16),
            seq=case["seq"],
            first_sample=case["first_sample"],
            t_us=case["t_us"],
            period_us=case["period_us"],
            acc=rows[:, n:].astype(np.int16) if case["accel"] else None,
            flags=case["flags"],
        )
        assert packet.hex() == case["hex"], case["case"]


def test_palpate_refuses_every_malformed_packet(vectors: dict[str, Any]) -> None:
    for case in _cases(vectors, "bad_data"):
        with pytest.raises(DecodeError):
            pad.decode_data(bytes.fromhex(case["hex"]))


def _fields(info: pad.PadInfo) -> dict[str, Any]:
    return {
        "firmware": list(info.firmware),
        "n_force": info.n_force,
        "flags": info.flags,
        "rate_hz": info.rate_hz,
        "max_rate_hz": info.max_rate_hz,
        "force_lsb_n": info.force_lsb_n,
        "acc_lsb_mg": info.acc_lsb_mg,
        "calibrated_unix": info.calibrated_unix,
        "side_mm": info.side_mm,
        "positions_mm": [list(p) for p in info.positions_mm],
        "name": info.name,
        "last_opcode": info.last_command[0] if info.last_command else None,
        "last_result": info.last_command[1] if info.last_command else None,
    }


def test_info_vectors_both_ways(padfw: ModuleType, vectors: dict[str, Any]) -> None:
    for case in _cases(vectors, "info"):
        fields = {k: v for k, v in case.items() if k not in ("case", "hex")}
        mine = padfw.protocol.encode_info(
            fields["firmware"],
            fields["n_force"],
            fields["flags"],
            fields["rate_hz"],
            fields["max_rate_hz"],
            fields["force_lsb_n"],
            fields["acc_lsb_mg"],
            fields["calibrated_unix"],
            fields["side_mm"],
            fields["positions_mm"],
            fields["name"],
            fields["last_opcode"],
            fields["last_result"],
        )
        assert mine.hex() == case["hex"], case["case"]
        assert len(mine) <= 244
        decoded = pad.decode_info(bytes.fromhex(case["hex"]))
        assert decoded.protocol == (1, 1)
        assert _fields(decoded) == fields, case["case"]
        assert pad.encode_info(decoded).hex() == case["hex"]


def test_info_of_protocol_1_0_still_decodes_without_the_new_fields(vectors: dict[str, Any]) -> None:
    case = _cases(vectors, "info")[0]
    raw = bytearray.fromhex(case["hex"])[:-2]
    raw[2] = 0  # minor 0: no last-command fields
    info = pad.decode_info(bytes(raw))
    assert info.protocol == (1, 0) and info.last_command is None and info.name == case["name"]


def test_firmware_parses_every_command_and_refuses_the_bad_ones(
    padfw: ModuleType, vectors: dict[str, Any]
) -> None:
    protocol = padfw.protocol
    for case in _cases(vectors, "commands"):
        data = bytes.fromhex(case["hex"])
        if case["result"] == 0:
            assert protocol.parse_command(data) == (case["opcode"], case["argument"]), case["case"]
        else:
            with pytest.raises(protocol.CommandError) as err:
                protocol.parse_command(data)
            assert err.value.code == case["result"], case["case"]


def test_samples_per_packet_agree(padfw: ModuleType, vectors: dict[str, Any]) -> None:
    for case in _cases(vectors, "samples_per_packet"):
        args = (case["mtu"], case["n_force"], case["accel"], case["rate_hz"])
        assert padfw.protocol.samples_per_packet(*args) == case["per_packet"]
        assert pad.samples_per_packet(*args) == case["per_packet"]
        per = case["per_packet"]
        if per:  # a full packet fits the MTU
            assert 16 + per * (2 * case["n_force"] + 6 * case["accel"]) <= case["mtu"] - 3


def test_protocol_md_budget_arithmetic_matches_the_firmware(padfw: ModuleType) -> None:
    """The notification budget in PROTOCOL.md is the firmware's own arithmetic."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "hardware" / "PROTOCOL.md").read_text()
    protocol = padfw.protocol
    per = protocol.samples_per_packet(247, 4, True, 1000)
    size = protocol.HEADER_SIZE + per * protocol.row_size(4, True)
    rate = 1000 / per
    one_pdu_ms = ((size + 7 + 10) * 8 + 150 + 80 + 150) / 1000  # + ATT and L2CAP headers
    fragments = -(-(size + 7) // 27)
    fragmented_ms = fragments * ((27 + 10) * 8 + 150 + 80 + 150) / 1000
    assert (per, size, rate) == (16, 240, 62.5)
    for figure in (
        "= 16",
        "= 240 bytes",
        "= 62.5",
        f"= {rate * size:,.0f} bytes/s",
        f"≈ {one_pdu_ms:.2f} ms",
        f"≈ {rate * one_pdu_ms:.0f} ms",
        f"{fragments} fragments",
        f"≈ {fragmented_ms:.2f} ms",
        f"≈ {rate * fragmented_ms:.0f} ms",
    ):
        assert figure in text, figure
    rates = ", ".join(str(r) for r in protocol.RATES_HZ[:-1]) + f" and {protocol.RATES_HZ[-1]} Hz"
    assert rates in text
    assert all(1_000_000 % r == 0 for r in protocol.RATES_HZ)
