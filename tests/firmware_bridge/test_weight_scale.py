"""Bluetooth SIG weight scale: the measurement decoder, fuzzing, and a virtual scale."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.stream import G_STANDARD
from firmware_bridge.devices.weight_scale import WeightScaleSource, decode, encode
from firmware_bridge.errors import DecodeError
from firmware_bridge.virtual.peer import ArraySignal


def test_si_imperial_and_optional_fields() -> None:
    assert decode(struct.pack("<BH", 0, 2000)).kg == pytest.approx(10.0)
    assert decode(struct.pack("<BH", 1, 2205)).kg == pytest.approx(22.05 * 0.45359237)
    full = struct.pack("<BH", 0x0E, 14000) + bytes(7) + bytes([3]) + struct.pack("<HH", 231, 1750)
    reading = decode(full)
    assert (reading.kg, reading.user_id) == (70.0, 3)
    assert reading.bmi == pytest.approx(23.1) and reading.height_m == pytest.approx(1.75)
    assert decode(encode(None)).kg is None  # "measurement unsuccessful"


@pytest.mark.parametrize("payload", [b"", b"\x00\x01", struct.pack("<BH", 2, 100), b"\x00" * 4])
def test_lengths_that_do_not_fit_the_flags_are_refused(payload: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(payload)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=24))
def test_fuzz(payload: bytes) -> None:
    try:
        reading = decode(payload)
    except DecodeError:
        return
    assert reading.kg is None or 0 <= reading.kg < 700


def test_a_virtual_scale_streams_force_slowly(collect: Any) -> None:
    kg = np.array([0.0, 1.0, 2.5, 4.0, 4.0, 3.0, 0.5, 0.0] * 10)
    source = WeightScaleSource(virtual={"signal": ArraySignal(kg, 2.0)})
    frames, _ = collect(source, 1.6)
    got = np.concatenate([f.x[:, 0] for f in frames]) / G_STANDARD
    np.testing.assert_allclose(got, kg[: got.size], atol=0.005)
    assert source.info.rate_hz == 2.0 and source.info.channels[0].unit == "N"
