"""palpate pad: the protocol of hardware/PROTOCOL.md (packets, info, arithmetic), fuzzing,
and the driver against a virtual pad over a real GATT link."""

from __future__ import annotations

import dataclasses
import itertools
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.stream import G_STANDARD, EventKind, Frame
from firmware_bridge.devices import pad
from firmware_bridge.devices.pad import PadSource, decode_data, decode_info, encode_data
from firmware_bridge.errors import BridgeError, DecodeError
from firmware_bridge.virtual.peer import ArraySignal

PROTOCOL = Path(__file__).resolve().parents[2] / "hardware" / "PROTOCOL.md"


def test_header_layout_matches_the_spec() -> None:
    counts = np.array([[1, -2], [3, -4]], np.int16)
    acc = np.array([[10, 20, 1000], [11, 21, 1001]], np.int16)
    packet = encode_data(
        counts, seq=65537, first_sample=2**32 + 5, t_us=123, period_us=1000, acc=acc
    )
    assert packet[:16] == struct.pack("<BBBBHIIH", 1, pad.FLAG_ACC, 2, 2, 1, 5, 123, 1000)
    assert packet[16:] == struct.pack("<5h5h", 1, -2, 10, 20, 1000, 3, -4, 11, 21, 1001)
    decoded = decode_data(packet)
    assert decoded.force.tolist() == counts.tolist() and decoded.acc is not None
    assert decoded.acc.tolist() == acc.tolist() and (decoded.seq, decoded.first_sample) == (1, 5)


def test_four_channels_at_1_khz_fit_a_247_byte_mtu_as_specified() -> None:
    per = pad.samples_per_packet(247, 4, False, 1000)
    packet = encode_data(
        np.zeros((per, 4), np.int16), seq=0, first_sample=0, t_us=0, period_us=1000
    )
    assert per == 25 and len(packet) == 216 <= 247 - 3
    assert 1000 / per * len(packet) == 8640  # bytes/s, as PROTOCOL.md works out
    assert pad.samples_per_packet(247, 4, True, 1000) == 16
    assert pad.samples_per_packet(247, 8, True, 1000) == 10
    assert pad.samples_per_packet(23, 4, False, 1000) == 0  # the pad refuses START
    assert pad.samples_per_packet(247, 4, False, 100) == 4
    text = PROTOCOL.read_text()
    for figure in ("= 28", "= 216 bytes", "= 8,640 bytes/s", pad.SERVICE_UUID, pad.DATA_UUID):
        assert figure in text


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: p[:10], "shorter than the 16-byte header"),
        (lambda p: b"\x02" + p[1:], "data format 2"),
        (lambda p: p[:2] + b"\x00" + p[3:], "0 force channels"),
        (lambda p: p[:2] + b"\x09" + p[3:], "9 force channels"),
        (lambda p: p[:3] + b"\x00" + p[4:], "without samples"),
        (lambda p: p[:14] + b"\x00\x00" + p[16:], "period 0"),
        (lambda p: p[:-1], "need 32 bytes, got 31"),
        (lambda p: p + b"\x00\x00", "need 32 bytes, got 34"),
    ],
)
def test_bad_packets_are_refused(mutate: Any, reason: str) -> None:
    good = encode_data(np.ones((2, 4), np.int16), seq=0, first_sample=0, t_us=0, period_us=1000)
    with pytest.raises(DecodeError, match=reason):
        decode_data(mutate(good))


def _info(**changes: Any) -> pad.PadInfo:
    base = pad.PadInfo((1, 0), (1, 2, 3), 4, pad.INFO_HAS_ACC, 1000, 1000, 0.01, 1, 0, 60,
                       ((-30, -30), (30, -30), (30, 30), (-30, 30)), "3F2A")  # fmt: skip
    return dataclasses.replace(base, **changes)


def test_info_round_trips_and_tolerates_later_minor_fields() -> None:
    info = _info()
    raw = pad.encode_info(info)
    assert len(raw) == 25 + 4 * 4 + 4
    assert decode_info(raw) == info
    assert decode_info(raw + b"future minor fields") == info
    with pytest.raises(DecodeError, match="name cut short"):
        decode_info(raw[:-1])


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=260))
def test_fuzz_random_bytes(payload: bytes) -> None:
    for decoder in (decode_data, decode_info):
        try:
            out = decoder(payload)
        except DecodeError:
            continue
        if isinstance(out, pad.DataPacket):
            n, k = out.force.shape
            assert n >= 1 and 1 <= k <= 8 and (out.acc is None or out.acc.shape == (n, 3))


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 8), st.integers(1, 20), st.booleans(), st.data())
def test_fuzz_mutated_packets(n_force: int, n: int, acc: bool, data: Any) -> None:
    rows = np.arange(n * n_force, dtype=np.int16).reshape(n, n_force)
    accel = np.zeros((n, 3), np.int16) if acc else None
    packet = bytearray(encode_data(rows, seq=1, first_sample=9, t_us=9, period_us=500, acc=accel))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(packet) - 1))
        packet[i] = data.draw(st.integers(0, 255))
    packet = packet[: data.draw(st.integers(0, len(packet)))]
    try:
        out = decode_data(bytes(packet))
    except DecodeError:
        return
    m, k = out.force.shape
    assert len(packet) == 16 + m * (2 * k + (6 if out.acc is not None else 0))


# -- end to end ------------------------------------------------------------------------------------


def _ramp_signal(rate_hz: float, accel: bool = False) -> ArraySignal:
    """Rows whose channel j reads (k + j) × 0.01 N at sample k (a sample's number is legible)."""
    k = np.arange(30_000, dtype=np.float64) % 3000
    columns = [(k + j) * 0.01 for j in range(4)]
    if accel:
        columns += [k * 0.0 + 0.5, k * 0.0, k * 0.0 + G_STANDARD]
    return ArraySignal(np.column_stack(columns), rate_hz)


def _numbers(frames: list[Frame]) -> tuple[np.ndarray, np.ndarray]:
    x = np.concatenate([f.x for f in frames])
    index = np.concatenate([f.index + np.arange(f.n) for f in frames])
    return np.round(x[:, 0] / 0.01).astype(np.int64), index


def test_streams_four_channels_at_1_khz_through_bleak(collect: Any) -> None:
    source = PadSource(virtual={"signal": _ramp_signal(1000.0)})
    frames, events = collect(source, 1.2)
    info = source.info
    assert [c.name for c in info.channels] == ["force1", "force2", "force3", "force4"]
    assert info.rate_hz == 1000.0 and info.meta["protocol"] == "1.0"
    assert info.meta["positions_mm"] == [[-30, -30], [30, -30], [30, 30], [-30, 30]]
    x = np.concatenate([f.x for f in frames])
    np.testing.assert_allclose(x[:, 1] - x[:, 0], 0.01, atol=1e-4)  # channels in order
    k, index = _numbers(frames)
    np.testing.assert_array_equal(np.diff(k) % 3000, 1)
    np.testing.assert_array_equal(index, np.arange(index.size))
    t = np.concatenate([f.t for f in frames])
    assert np.median(np.diff(t)) == pytest.approx(0.001, rel=0.01)
    assert {f.n for f in frames} == {25}  # one frame per 25-sample packet
    peer = source.peer
    assert peer is not None and peer.commands[-1] == bytes([pad.OP_STOP])
    assert events == []


def test_rate_and_accelerometer_are_asked_for(collect: Any) -> None:
    source = PadSource(virtual={"signal": _ramp_signal(1000.0, accel=True), "has_accel": True},
                       rate_hz=200, accel=True)  # fmt: skip
    frames, _ = collect(source, 1.0)
    assert source.info.rate_hz == 200.0
    assert [c.name for c in source.info.channels][-3:] == ["acc x", "acc y", "acc z"]
    acc = np.concatenate([f.x[:, 4:] for f in frames])
    np.testing.assert_allclose(acc[:, 2], G_STANDARD, rtol=2e-3)  # milli-g counts
    np.testing.assert_allclose(acc[:, 0], 0.5, atol=0.01)
    peer = source.peer
    assert peer is not None
    assert peer.commands[:2] == [struct.pack("<BH", pad.OP_SET_RATE, 200), bytes([5, 1])]


def test_lost_packets_show_as_gaps_of_their_size(collect: Any) -> None:
    source = PadSource(
        virtual={"signal": _ramp_signal(1000.0), "faults": {"truncate_every": 6, "seed": 1}}
    )
    frames, _ = collect(source, 1.0)
    k, index = _numbers(frames)
    steps = np.diff(k) % 3000
    assert (steps == 26).sum() >= 3  # a whole 25-sample packet dropped, more than once
    np.testing.assert_array_equal(np.diff(index), steps)  # the index jumps exactly as much
    assert source.link.lost_samples == (steps - 1).sum()


def test_a_dropped_pad_reconnects_with_a_gap(collect: Any) -> None:
    faults = {"drop_at_s": 0.8, "down_s": 0.3}
    source = PadSource(virtual={"signal": _ramp_signal(500.0), "faults": faults, "rate_hz": 500})
    frames, events = collect(source, 2.5)
    assert [e.kind for e in events] == [EventKind.RECONNECT]
    jumps = [b.index - a.next_index for a, b in itertools.pairwise(frames)]
    assert sum(j > 0 for j in jumps) == 1
    assert max(jumps) == pytest.approx(events[0].data["down_s"] * 500, abs=3)


def test_an_unknown_protocol_major_is_refused_clearly(collect: Any) -> None:
    source = PadSource(virtual={"signal": _ramp_signal(1000.0), "protocol_major": 2})
    with pytest.raises(BridgeError, match=r"protocol 2\.x, palpate knows 1\.x: update"):
        collect(source, 1.0)
    assert source.peer is not None and not source.peer.device.connections


def test_tare_zeroes_the_pad_on_the_device(collect: Any) -> None:
    rows = np.tile([5.0, 6.0, 7.0, 8.0], (20_000, 1))  # a steady load on every corner
    source = PadSource(virtual={"signal": ArraySignal(rows, 1000.0)}, tare=True)
    frames, _ = collect(source, 1.0)
    x = np.concatenate([f.x for f in frames])
    assert source.peer is not None and bytes([pad.OP_TARE]) in source.peer.commands
    np.testing.assert_allclose(x[:100], rows[:100], atol=0.01)  # before the 0.25 s average
    np.testing.assert_allclose(x[-100:], 0.0, atol=0.01)  # zero afterwards
