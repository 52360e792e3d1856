"""Polar PMD accelerometer: the decoder on the frames from Polar's own SDK tests, fuzzing,
the control point, and the driver against a virtual Verity Sense."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.stream import G_STANDARD
from firmware_bridge.devices import polar
from firmware_bridge.devices.polar import PolarSource, decode, encode_delta, encode_raw
from firmware_bridge.errors import DecodeError
from firmware_bridge.virtual.peer import ArraySignal

# what Polar's SDK test asserts for each frame: (first sample, second sample, count)
SDK_EXPECTED = {
    "process acc raw data frame type 1": ([-9, -1, 999], [-8, -2, 997], 36),
    "process acc compressed data type 0": ([464, 6679, -7144], [511, 6654, -7165], 57),
    "process acc compressed data type 1": ([-15, 20, 1008], [-20, 17, 1008], 2),
}


@pytest.mark.parametrize("name", sorted(SDK_EXPECTED))
def test_decodes_the_frames_of_polars_sdk_tests(name: str, shared_file: Any) -> None:
    cases = json.loads(shared_file("polar_pmd_acc_frames.json").read_text())
    case = cases[name]
    frame = decode(bytes.fromhex(case["frame_hex"]), case["factor"])
    first, second, count = SDK_EXPECTED[name]
    assert frame.mg.shape == (count, 3)
    assert frame.mg[0].tolist() == first and frame.mg[1].tolist() == second


def test_the_raw_frame_lies_still_at_one_g(shared_file: Any) -> None:
    cases = json.loads(shared_file("polar_pmd_acc_frames.json").read_text())
    frame = decode(bytes.fromhex(cases["process acc raw data frame type 1"]["frame_hex"]))
    assert np.linalg.norm(frame.mg, axis=1).mean() == pytest.approx(1000, rel=0.01)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(*[st.integers(-32768, 32767)] * 3), min_size=1, max_size=40))
def test_delta_and_raw_frames_round_trip(rows: list[tuple[int, int, int]]) -> None:
    mg = np.array(rows, dtype=np.float64)
    for encoder in (encode_raw, encode_delta):
        frame = decode(encoder(mg, 123))
        assert frame.timestamp_ns == 123
        np.testing.assert_array_equal(frame.mg, mg)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=120), st.floats(1e-6, 1.0))
def test_fuzz_random_bytes(payload: bytes, factor: float) -> None:
    for data in (payload, bytes([2]) + payload, bytes([2]) + payload[:8] + b"\x81" + payload[8:]):
        try:
            frame = decode(data, factor)
        except DecodeError:
            continue
        assert frame.mg.ndim == 2 and frame.mg.shape[1] == 3 and frame.mg.shape[0] >= 1


def test_control_point_answers_carry_settings() -> None:
    params = polar.encode_settings({polar.SAMPLE_RATE: [52, 104], polar.FACTOR: [0.5]})
    op, kind, status, found = polar.decode_response(bytes([0xF0, 2, 2, 0, 0]) + params)
    assert (op, kind, status) == (2, 2, 0)
    assert found == {polar.SAMPLE_RATE: [52, 104], polar.FACTOR: [0.5]}
    with pytest.raises(DecodeError, match="does not fit"):
        polar.decode_response(bytes([0xF0, 1, 2, 0, 0, 0, 3, 52]))


@pytest.mark.parametrize("compressed", [True, False])
def test_streams_through_bleak_from_a_virtual_verity_sense(compressed: bool, collect: Any) -> None:
    k = np.arange(4000, dtype=np.float64)
    rows = np.column_stack([k, -k, np.full(k.size, 1000.0)]) * G_STANDARD / 1000
    peer = {"signal": ArraySignal(rows, 52.0), "compressed": compressed}
    source = PolarSource(virtual=peer, rate_hz=100)
    frames = collect(source, 1.0)[0]
    assert source.info.rate_hz == 104.0  # the nearest rate on offer
    assert source.peer is not None and source.peer.commands[0] == bytes([1, 2])
    x = np.concatenate([f.x for f in frames]) / G_STANDARD * 1000
    np.testing.assert_allclose(np.diff(x[:, 0]), 1.0, atol=1e-3)
    np.testing.assert_allclose(x[:, 2], 1000.0, rtol=1e-6)
    t = np.concatenate([f.t for f in frames])
    assert np.median(np.diff(t)) == pytest.approx(1 / 104, rel=0.02)
