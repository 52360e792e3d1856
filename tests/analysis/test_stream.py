"""The data model rejects malformed frames, channels, streams and events with clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.stream import (
    G_STANDARD,
    UNIT_TO_SI,
    Channel,
    Event,
    EventKind,
    Frame,
    StreamInfo,
    concat_frames,
)


def _frame(n: int = 5, channels: int = 1, index: int = 0) -> Frame:
    return Frame(np.arange(n) / 100.0, np.zeros((n, channels), np.float32), index)


def test_valid_frame_is_read_only() -> None:
    f = _frame()
    assert (f.n, f.next_index) == (5, 5)
    with pytest.raises(ValueError, match="read-only"):
        f.x[0, 0] = 1.0


@pytest.mark.parametrize(
    ("t", "x", "message"),
    [
        (np.arange(3.0).astype(np.float32), np.zeros((3, 1), np.float32), "float64"),
        (np.arange(3.0), np.zeros((3, 1)), "float32"),
        (np.arange(3.0), np.zeros(3, np.float32), "2-D"),
        (np.arange(3.0), np.zeros((4, 1), np.float32), "3 times but 4 rows"),
        (np.array([0.0, 0.2, 0.1]), np.zeros((3, 1), np.float32), "row 2"),
        (np.array([0.0, 0.1, 0.1]), np.zeros((3, 1), np.float32), "strictly increase"),
        (np.array([0.0, np.nan]), np.zeros((2, 1), np.float32), "non-finite"),
        (np.empty(0), np.zeros((0, 1), np.float32), "at least one sample"),
        (np.arange(2.0), np.zeros((2, 0), np.float32), "at least one channel"),
    ],
)
def test_bad_frames_say_what_is_wrong(t: np.ndarray, x: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Frame(t, x, 0)


def test_frame_index_must_be_a_natural_number() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        _frame(index=-1)
    with pytest.raises(ValueError, match="int"):
        Frame(np.arange(2.0), np.zeros((2, 1), np.float32), 1.5)  # type: ignore[arg-type]


def test_from_arrays_converts_and_slices() -> None:
    f = Frame.from_arrays([0, 1, 2], [1, 2, 3], index=10)
    assert f.t.dtype == np.float64 and f.x.shape == (3, 1) and f.x.dtype == np.float32
    part = f.slice(1, 3)
    assert part.index == 11 and part.n == 2 and part.next_index == 13
    np.testing.assert_array_equal(part.x, f.x[1:3])
    assert not (part.t.flags.writeable or part.x.flags.writeable)  # views stay read-only
    with pytest.raises(ValueError, match="outside"):
        f.slice(2, 5)


def test_concat_checks_order_and_width() -> None:
    a, b = _frame(3), Frame(np.array([0.05, 0.06]), np.ones((2, 1), np.float32), 3)
    joined = concat_frames([a, b])
    assert joined.n == 5 and joined.index == 0
    with pytest.raises(ValueError, match="strictly increase"):
        concat_frames([b, a])
    with pytest.raises(ValueError, match="channel counts"):
        concat_frames([a, _frame(2, channels=4)])


def test_channel_units_are_internal_units() -> None:
    Channel("force", "N", "force")
    with pytest.raises(ValueError, match="convert at the edge"):
        Channel("force", "kg", "force")
    with pytest.raises(ValueError, match="kind"):
        Channel("x", "N", "torque")
    assert UNIT_TO_SI["kg"] == ("force", "N", G_STANDARD)


def test_stream_info_checks_channels_and_frames() -> None:
    info = StreamInfo("sim", "pad", 100.0, (Channel("force", "N", "force"),))
    info.check(_frame())
    with pytest.raises(ValueError, match="4 channels"):
        info.check(_frame(channels=4))
    with pytest.raises(ValueError, match="unique"):
        StreamInfo("s", "d", 10.0, (Channel("a", "N", "force"), Channel("a", "N", "force")))
    with pytest.raises(ValueError, match="rate_hz"):
        StreamInfo("s", "d", 0.0, (Channel("a", "N", "force"),))
    assert info.indices("force") == (0,) and info.indices("accel") == ()


def test_events_validate_kind_and_time() -> None:
    e = Event(1, "pain", {"pressure_kpa": 80.0})  # type: ignore[arg-type]
    assert e.kind is EventKind.PAIN and isinstance(e.t, float)
    with pytest.raises(ValueError, match="unknown event kind"):
        Event(0.0, "explosion")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        Event(np.inf, EventKind.MARKER)
