"""Plot helpers without Qt: peak decimation, ring-buffer mirrors, stroke runs."""

from __future__ import annotations

import numpy as np
import pytest

from sessions.ringbuffer import RingBuffer
from ui.decimate import bin_size, peak_decimate
from ui.mirror import Mirror


def test_peaks_survive_decimation_and_bins_do_not_move_when_scrolling() -> None:
    rng = np.random.default_rng(0)
    n = 30_000
    t = np.arange(n) / 1000.0
    y = rng.normal(0, 1, n)
    y[12_345] = 50.0  # a one-sample spike
    y[20_000] = np.nan
    k = bin_size(n, 800)
    assert k == 32
    td, yd = peak_decimate(t, y, first_index=0, k=k)
    assert td.size < n / 10
    assert np.nanmax(yd) == 50.0 and np.nanmin(yd) == np.nanmin(y)
    # scrolled by 1000 samples: the shared bins hold the same min/max
    td2, yd2 = peak_decimate(t[1000:], y[1000:], first_index=1000, k=k)
    shared = np.intersect1d(td[::2], td2[::2])
    a = yd[np.isin(td, shared)]
    b = yd2[np.isin(td2, shared)]
    assert shared.size > 500 and np.array_equal(a[2:-2], b[2:-2], equal_nan=True)


def test_all_nan_bins_give_nan_without_warnings() -> None:
    t = np.arange(64.0)
    y = np.full(64, np.nan)
    y[40] = 3.0
    _, yd = peak_decimate(t, y, 0, 16)  # filterwarnings=error turns a RuntimeWarning red
    assert np.isnan(yd[:4]).all() and 3.0 in yd


@pytest.mark.parametrize(("n", "px", "k"), [(100, 800, 1), (30_000, 800, 32), (600_000, 800, 512)])
def test_bin_size_is_a_power_of_two(n: int, px: int, k: int) -> None:
    assert bin_size(n, px) == k


def test_mirror_pulls_only_new_rows_from_a_ring_and_keeps_up_when_it_wraps() -> None:
    ring = RingBuffer(1000, 2, ("t", "kPa"))
    m = Mirror(2, capacity=64, max_rows=4096)
    for i in range(30):
        rows = np.column_stack([np.arange(i * 100, (i + 1) * 100) / 100.0, np.full(100, i)])
        ring.append(rows)
        assert m.pull(ring) == 100
        assert m.pull(ring) == 0
    assert m.t[0] == 0.0 and m.n == 3000  # the mirror keeps what the ring dropped
    assert np.all(np.diff(m.t) > 0)
    lo, hi = m.span(10.0, 10.5)
    assert m.t[lo] == 10.0 and m.t[hi - 1] == 10.5


def test_mirror_drops_the_oldest_half_past_its_limit_and_counts_the_offset() -> None:
    ring = RingBuffer(10_000, 2)
    m = Mirror(2, capacity=16, max_rows=1000)
    for i in range(25):
        ring.append(np.column_stack([np.arange(i * 100, (i + 1) * 100) / 100.0, np.zeros(100)]))
        m.pull(ring)
    assert m.n <= 1000 and m.t[-1] == pytest.approx(24.99)
    assert m.offset + m.n == 2500 and m.t[0] == pytest.approx(m.offset / 100.0)


def test_mirror_starts_again_when_time_goes_back() -> None:
    ring = RingBuffer(100, 2)
    m = Mirror(2)
    ring.append(np.column_stack([np.arange(10.0), np.zeros(10)]))
    m.pull(ring)
    ring.clear()  # a replay jumped back: the ring restarts at earlier times
    ring.append(np.column_stack([np.arange(3.0), np.ones(3)]))
    assert m.pull(ring) == 3 and m.n == 3 and m.last(1) == 1.0


def test_stroke_runs_merge_windows_of_the_same_stroke() -> None:
    pytest.importorskip("pyqtgraph")
    from ui.widgets.traces import StrokeRuns

    runs = StrokeRuns(hop_s=0.25)
    t_end = 2.0 + 0.25 * np.arange(12)
    labels = [0, 0, 0, 1, 1, 1, 1, 3, 3, 3, 3, 3]
    runs.add(np.column_stack([t_end, t_end - 2, labels, np.ones(12)]))
    assert runs.label == [0, 1, 3]
    assert runs.x0[0] == 1.75 and runs.x1[-1] == t_end[-1]
    assert all(a == b for a, b in zip(runs.x1[:-1], runs.x0[1:], strict=True))
