"""RingBuffer: wrap-around, bounded memory, copies, and one writer with readers on threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from sessions.ringbuffer import RingBuffer


def rows(t0: int, n: int) -> np.ndarray:
    t = np.arange(t0, t0 + n, dtype=np.float64)
    return np.column_stack((t, 10 * t))


def test_keeps_the_newest_rows_in_order_across_wraps() -> None:
    ring = RingBuffer(7, 2)
    everything = []
    start = 0
    for n in (3, 5, 1, 6, 2, 9, 4):
        block = rows(start, n)
        ring.append(block)
        everything.append(block)
        start += n
        expected = np.concatenate(everything)[-7:]
        np.testing.assert_array_equal(ring.latest(100), expected)
        assert len(ring) == len(expected)
        assert ring.total == start
    np.testing.assert_array_equal(ring.latest(3), np.concatenate(everything)[-3:])
    assert ring.latest(0).shape == (0, 2)


def test_since_finds_rows_by_time_after_wrapping() -> None:
    ring = RingBuffer(10, 2)
    ring.append(rows(0, 25))  # keeps 15..24
    assert ring.since(20.0)[:, 0].tolist() == [20.0, 21.0, 22.0, 23.0, 24.0]
    assert ring.since(0.0)[:, 0].tolist() == list(np.arange(15.0, 25.0))
    assert ring.since(99.0).shape == (0, 2)
    ring.append(rows(25, 3))
    assert ring.since(26.5)[:, 0].tolist() == [27.0]


def test_reads_are_copies() -> None:
    ring = RingBuffer(4, 2)
    ring.append(rows(0, 4))
    got = ring.latest(4)
    got[:] = -1
    assert ring.latest(4)[0, 0] == 0.0


def test_clear_and_reallocate() -> None:
    ring = RingBuffer(4, 2, ("t", "kPa"))
    ring.append(rows(0, 3))
    ring.clear()
    assert len(ring) == 0 and ring.total == 3
    ring.reallocate(100)
    ring.append(rows(0, 50))
    assert ring.capacity == 100 and len(ring) == 50


def test_rejects_bad_shapes_and_sizes() -> None:
    ring = RingBuffer(4, 2)
    with pytest.raises(ValueError, match="rows of 2 values"):
        ring.append(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="capacity"):
        RingBuffer(0, 2)
    with pytest.raises(ValueError, match="column names"):
        RingBuffer(4, 2, ("t",))


def test_readers_never_see_a_torn_block() -> None:
    """Each block is written as rows (t, t): a reader must only see rows with equal
    columns and times that increase by one."""
    ring = RingBuffer(1000, 2)
    stop = threading.Event()
    problems: list[str] = []

    def read() -> None:
        while not stop.is_set():
            got = ring.latest(1000)
            if got.size and (
                not np.array_equal(got[:, 0], got[:, 1]) or np.any(np.diff(got[:, 0]) != 1)
            ):
                problems.append("torn read")
                return

    readers = [threading.Thread(target=read) for _ in range(3)]
    for r in readers:
        r.start()
    t = 0
    for n in np.random.default_rng(1).integers(1, 300, 3000):
        block = np.arange(t, t + n, dtype=np.float64)
        ring.append(np.column_stack((block, block)))
        t += int(n)
    stop.set()
    for r in readers:
        r.join()
    assert problems == []
    assert ring.total == t
