"""micro:bit accelerometer: decoder, fuzzing, and the driver against a virtual micro:bit."""

from __future__ import annotations

import asyncio
import itertools
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.stream import G_STANDARD, Frame
from firmware_bridge.devices import microbit
from firmware_bridge.devices.microbit import MicrobitSource, decode, encode
from firmware_bridge.errors import DecodeError
from firmware_bridge.virtual.peer import ArraySignal


def test_decode_gives_milli_g_per_axis() -> None:
    assert decode(struct.pack("<hhh", -1024, 0, 1000)).tolist() == [-1024, 0, 1000]
    assert encode(40000, -40000, 0) == struct.pack("<hhh", 32767, -32768, 0)


@pytest.mark.parametrize("size", [0, 1, 5, 7, 12])
def test_only_six_bytes_decode(size: int) -> None:
    with pytest.raises(DecodeError, match="6 bytes"):
        decode(bytes(size))


def test_period_never_zero_and_snaps_to_accepted_values() -> None:
    assert microbit.nearest_period_ms(0) == 1
    assert microbit.nearest_period_ms(15) == 10
    assert microbit.nearest_period_ms(100) == 80
    with pytest.raises(ValueError, match="period_ms must be one of"):
        MicrobitSource(period_ms=0)
    with pytest.raises(DecodeError):
        microbit.decode_period(b"\x01")


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=40))
def test_fuzz_only_decode_error_and_always_three_axes(payload: bytes) -> None:
    try:
        out = decode(payload)
    except DecodeError:
        return
    assert out.shape == (3,) and out.dtype == np.int16


def _ramp(n: int = 5000) -> np.ndarray:
    """Acceleration rows whose x names the sample number: x = k milli-g (m/s²)."""
    k = np.arange(n, dtype=np.float64) % 30000
    return np.column_stack([k, -k / 2, np.full(n, 1000.0)]) * G_STANDARD / 1000.0


@pytest.mark.parametrize("period_ms", [10, 20])
def test_streams_through_bleak_at_the_asked_period(period_ms: int, collect: Any) -> None:
    source = MicrobitSource(virtual={"signal": ArraySignal(_ramp(), 50.0)}, period_ms=period_ms)
    frames = collect(source, 1.2)[0]
    peer = source.peer
    assert peer is not None and peer.commands[0] == struct.pack("<H", period_ms)
    assert source.info.rate_hz == 1000 / period_ms
    assert [c.name for c in source.info.channels] == ["acc x", "acc y", "acc z"]
    x = np.concatenate([f.x for f in frames])
    k = np.round(x[:, 0] / G_STANDARD * 1000).astype(int)
    np.testing.assert_array_equal(np.diff(k), 1)  # every sample once, in order
    np.testing.assert_allclose(x[:, 2], G_STANDARD, rtol=1e-6)  # milli-g -> m/s²
    t = np.concatenate([f.t for f in frames])
    assert (t[-1] - t[0]) / (t.size - 1) == pytest.approx(period_ms / 1000, rel=0.1)


def test_a_dropped_micro_bit_reconnects() -> None:
    peer: dict[str, Any] = {"signal": ArraySignal(_ramp(), 50.0), "faults": {"drop_at_s": 0.8}}
    source = MicrobitSource(virtual=peer)

    async def run() -> tuple[list[Frame], list[Any]]:
        frames, events = [], []
        async with source:
            async for frame in source.frames():
                frames.append(frame)
                events += source.drain_events()
                if frame.t[-1] >= 2.5:
                    break
        return frames, events

    frames, events = asyncio.run(run())
    assert [e.kind.value for e in events] == ["reconnect"]
    gaps = [b.index - a.next_index for a, b in itertools.pairwise(frames)]
    assert max(gaps) >= 0.3 * 50 * 0.5 and sum(g > 0 for g in gaps) == 1
