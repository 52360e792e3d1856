"""Tindeq Progressor: the decoder on synthetic, real-shaped and fuzzed bytes; the driver
end to end through bleak against a virtual Progressor over a real GATT link."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.pipeline import Pipeline
from analysis.stream import G_STANDARD, EventKind, Frame
from firmware_bridge.devices import tindeq
from firmware_bridge.devices.tindeq import TindeqSource, decode, encode_weights
from firmware_bridge.errors import DecodeError
from firmware_bridge.linklog import link_log
from firmware_bridge.virtual.peer import ArraySignal
from sessions.csv_io import read_csv

# -- decoder --------------------------------------------------------------------------------------


def test_weight_packet_round_trips() -> None:
    packet = encode_weights([10.5, -0.25, 3.0], [1_000, 13_500, 26_000])
    assert packet[:2] == bytes([1, 24])
    decoded = decode(packet)
    assert decoded.kg.tolist() == [10.5, -0.25, 3.0]
    assert decoded.t_us.tolist() == [1_000, 13_500, 26_000]


def test_battery_answer_and_low_battery() -> None:
    assert decode(bytes([0, 4]) + struct.pack("<I", 3712)).battery_mv == 3712
    low = decode(bytes([4, 0]))
    assert low.tag == 4 and low.kg.shape == (0,) and low.battery_mv is None


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "shorter than"),
        (b"\x01", "shorter than"),
        (bytes([1, 16]) + bytes(8), "length field says 16"),
        (bytes([1, 4]) + bytes(4), "not whole 8-byte pairs"),
        (bytes([1, 0]), "not whole 8-byte pairs"),
        (bytes([1, 8]) + struct.pack("<fI", float("nan"), 0), "not finite"),
        (bytes([1, 8]) + struct.pack("<fI", 5000.0, 0), "beyond"),
        (bytes([1, 16]) + struct.pack("<fIfI", 1.0, 500, 1.0, 400), "do not increase"),
    ],
)
def test_bad_packets_raise_decode_error_with_the_bytes(payload: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason) as info:
        decode(payload)
    assert info.value.payload == payload


def test_the_microsecond_counter_may_wrap_inside_a_packet() -> None:
    decoded = decode(encode_weights([1.0, 2.0], [2**32 - 100, 2**32 + 12_400]))
    assert decoded.t_us.tolist() == [2**32 - 100, 12_400]


def _check_shape(packet: tindeq.TindeqPacket) -> None:
    assert packet.kg.shape == packet.t_us.shape and packet.kg.ndim == 1
    if packet.tag == 1:
        assert packet.kg.size >= 1 and np.isfinite(packet.kg).all()
    else:
        assert packet.kg.size == 0


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes_only_raise_decode_error(payload: bytes) -> None:
    with contextlib.suppress(DecodeError):
        _check_shape(decode(payload))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.floats(-200, 200, width=32), min_size=1, max_size=15),
    st.data(),
)
def test_fuzz_mutated_packets_only_raise_decode_error(kg: list[float], data: Any) -> None:
    packet = bytearray(encode_weights(kg, np.arange(len(kg)) * 12_500))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "grow"]))
        if op == "flip" and packet:
            i = data.draw(st.integers(0, len(packet) - 1))
            packet[i] = data.draw(st.integers(0, 255))
        elif op == "cut":
            packet = packet[: data.draw(st.integers(0, len(packet)))]
        else:
            packet += data.draw(st.binary(min_size=1, max_size=9))
    with contextlib.suppress(DecodeError):
        _check_shape(decode(bytes(packet)))


# -- end to end over a virtual GATT link ----------------------------------------------------------

RAMP_KG = np.arange(20_000) * 0.001
"""A signal whose value names its sample number: kg = 0.001 * sample."""


def _sample_numbers(frames: list[Frame]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    kg = np.concatenate([f.x[:, 0] for f in frames]) / G_STANDARD
    index = np.concatenate([f.index + np.arange(f.n) for f in frames])
    t = np.concatenate([f.t for f in frames])
    return np.round(kg / 0.001).astype(np.int64), index, t


def test_streams_through_bleak_with_device_timestamps(collect: Any) -> None:
    source = TindeqSource(virtual={"signal": ArraySignal(RAMP_KG, 80.0)})
    frames, events = collect(source, 1.2)
    peer = source.peer
    assert peer is not None
    assert source.info.channels[0].unit == "N" and source.info.rate_hz == 80.0
    number, index, t = _sample_numbers(frames)
    assert number.size >= 90
    np.testing.assert_array_equal(np.diff(number), 1)  # every sample, in order, once
    np.testing.assert_array_equal(index - number, index[0] - number[0])
    # the session clock follows the device clock: 80 Hz, no sample more than one period off
    period = np.diff(t)
    assert np.median(period) == pytest.approx(1 / 80, rel=0.02)
    residual = t - (t[0] + (number - number[0]) / 80.0)
    # the map follows the earliest arrivals, so it moves only while a lower-latency packet
    # turns up (peer ticks, a busy host); the exact bound is in test_clock.py
    assert np.abs(residual - np.median(residual)).max() < 3 / 80
    assert source.battery_mv == 3900
    assert peer.commands[:2] == [bytes([tindeq.CMD_BATTERY]), bytes([tindeq.CMD_START])]
    assert peer.commands[-1] == bytes([tindeq.CMD_STOP])  # stopped on close
    assert source.link.mtu == 247 and source.link.state == "closed"
    assert events == []


def test_replays_a_real_progressor_recording(shared_file: Any, collect: Any) -> None:
    recording = read_csv(shared_file("tindeq_app_rfd_test.csv"))
    kg = recording.frame.x[:, 0].astype(np.float64) / G_STANDARD
    source = TindeqSource(virtual={"signal": ArraySignal(kg, 80.0)})
    frames, _ = collect(source, 1.2)
    got = np.concatenate([f.x[:, 0] for f in frames])
    np.testing.assert_allclose(got, recording.frame.x[: got.size, 0], rtol=1e-5, atol=1e-4)


def test_a_dropped_link_reconnects_and_leaves_a_gap(collect: Any) -> None:
    faults = {"drop_at_s": 1.0, "down_s": 0.4}
    source = TindeqSource(virtual={"signal": ArraySignal(RAMP_KG, 80.0), "faults": faults})
    frames, events = collect(source, 3.5)
    reconnects = [e for e in events if e.kind == EventKind.RECONNECT]
    assert len(reconnects) == 1
    down_s = reconnects[0].data["down_s"]
    assert 0.4 <= down_s < 2.0  # streaming resumed within 2 s
    # the gap is a jump in index and in time, never spliced over
    jumps = [(a, b) for a, b in itertools.pairwise(frames) if b.index > a.next_index]
    assert len(jumps) == 1
    before, after = jumps[0]
    gap_s = after.t[0] - before.t[-1]
    assert gap_s == pytest.approx(down_s, abs=0.02)
    missing = after.index - before.next_index
    assert missing == pytest.approx(gap_s * 80, abs=2)
    assert reconnects[0].data["missing"] == missing
    assert source.link.reconnects == 1 and source.link.lost_samples == missing
    assert frames[-1].t[-1] - after.t[0] > 1.0  # and it kept streaming
    # the analysis records the hole as a gap event of that many samples
    pipeline = Pipeline(source.info)
    gaps = [e for f in frames for e in pipeline.process(f).events if e.kind == EventKind.GAP]
    assert [e.data["missing"] for e in gaps] == [missing]
    assert gaps[0].t == after.t[0]


@pytest.mark.parametrize(
    "faults",
    [
        {"malformed_every": 5, "seed": 3},
        {"truncate_every": 4, "seed": 4},
        {"duplicate_every": 3},
        {"reorder_every": 4},
        {"stall_at_s": 0.5, "stall_s": 0.6},
    ],
    ids=["malformed", "truncated", "duplicated", "reordered", "stalled"],
)
def test_faults_never_pass_on_a_wrong_sample(faults: dict[str, Any], collect: Any) -> None:
    source = TindeqSource(
        virtual={"signal": ArraySignal(RAMP_KG, 80.0), "faults": faults}, stall_s=0.3
    )
    frames, events = collect(source, 1.2)
    number, index, t = _sample_numbers(frames)
    assert np.all(np.diff(number) > 0)  # never a duplicate or out-of-order sample
    # every sample sits at its true place: lost samples show as index jumps of their size
    np.testing.assert_array_equal(index - number, index[0] - number[0])
    residual = t - (t[0] + (number - number[0]) / 80.0)
    # the map follows the earliest arrivals, so it moves only while a lower-latency packet
    # turns up (peer ticks, a busy host); the exact bound is in test_clock.py
    assert np.abs(residual - np.median(residual)).max() < 3 / 80
    link = source.link
    if "malformed_every" in faults or "truncate_every" in faults:
        assert link.bad_packets >= 3
    if "duplicate_every" in faults or "reorder_every" in faults:
        assert link.late_packets >= 3
    if "stall_at_s" in faults:  # the link stayed up: stalled, then resumed, no reconnect
        logged = [e["event"] for e in link_log().events()]
        assert logged.index("stalled") < logged.index("resumed") and "link_lost" not in logged
    assert events == []


def test_drift_of_the_device_clock_is_followed(collect: Any) -> None:
    faults = {"drift_ppm": 20_000.0}  # 2 %: the device samples 81.6 Hz but stamps 80 Hz
    source = TindeqSource(virtual={"signal": ArraySignal(RAMP_KG, 80.0), "faults": faults})
    frames, _ = collect(source, 3.2)
    number, _, t = _sample_numbers(frames)
    late = t > t[0] + 2.0
    rate = (number[late][-1] - number[late][0]) / (t[late][-1] - t[late][0])
    assert rate == pytest.approx(80 * 1.02, rel=0.005)


def test_cancelling_a_reader_always_stops_it() -> None:
    """A session stops its readers by cancelling them: the cancel must never be lost.

    On Python 3.11 ``asyncio.wait_for`` loses a cancel that lands just as the awaited
    item arrives (about 1 in 40 cancels hung here before the frame loop moved to
    ``asyncio.timeout``); cancelling at random moments a dozen times is a cheap guard.
    """
    rng = np.random.default_rng(5)

    async def run_once(delay_s: float) -> None:
        source = TindeqSource(virtual={"signal": ArraySignal(RAMP_KG, 80.0)})
        async with source:
            got = asyncio.Event()

            async def read() -> None:
                async for _ in source.frames():
                    got.set()

            task = asyncio.create_task(read())
            await asyncio.wait_for(got.wait(), 10.0)
            await asyncio.sleep(delay_s)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=2.0)
            assert done, "the reader ignored its cancel"

    for delay_s in rng.uniform(0.0, 0.05, 12):
        asyncio.run(run_once(float(delay_s)))
