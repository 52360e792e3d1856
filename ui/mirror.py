"""The window's own copy of a session ring buffer: preallocated, appended, sliced by time.

Each frame the window pulls only the rows that are new since the last frame
(a ring buffer's ``since``), appends them to a preallocated array and hands
pyqtgraph *views* of the rows that are on screen, so a frame never copies the
session's history. The array doubles when full up to ``max_rows``; past that the
oldest half is dropped (the ring buffer itself drops old rows too).

No Qt here; :class:`Mirror` works with anything that has ``total`` and
``since(t0)`` like :class:`sessions.ringbuffer.RingBuffer`.

Examples
--------
>>> import numpy as np
>>> class Ring:  # the two members a Mirror reads
...     def __init__(self): self.rows = np.empty((0, 2)); self.total = 0
...     def since(self, t0): return self.rows[self.rows[:, 0] >= t0].copy()
...     def latest(self, n): return self.rows[len(self.rows) - n :].copy()
>>> ring = Ring()
>>> ring.rows = np.column_stack([np.arange(5.0), np.arange(5.0) * 10]); ring.total = 5
>>> m = Mirror(2)
>>> m.pull(ring), m.n, m.last(1)
(5, 5, 40.0)
>>> lo, hi = m.span(1.5, 3.0)
>>> m.t[lo:hi].tolist()
[2.0, 3.0]
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = ["Mirror", "RingLike"]

FloatArray = NDArray[np.float64]


class RingLike(Protocol):
    """What a :class:`Mirror` reads from a ring buffer."""

    @property
    def total(self) -> int: ...

    def since(self, t0: float) -> FloatArray: ...

    def latest(self, n: int) -> FloatArray: ...


class Mirror:
    """Preallocated rows ``(t, ...)`` pulled incrementally from a ring buffer.

    Parameters
    ----------
    columns : int
        Columns of the ring buffer, time first.
    capacity : int
        Rows allocated at first.
    max_rows : int
        Most rows kept; beyond it the oldest half is dropped.
    """

    def __init__(self, columns: int, capacity: int = 1 << 14, max_rows: int = 1 << 23) -> None:
        if columns < 1 or capacity < 1 or max_rows < capacity:
            raise ValueError(
                f"Mirror needs columns >= 1 and 1 <= capacity <= max_rows, got {columns}, "
                f"{capacity}, {max_rows}"
            )
        self._data = np.empty((capacity, columns), dtype=np.float64)
        self._n = 0
        self._max_rows = max_rows
        self._seen_total = 0
        self._last_t = -np.inf
        self.generation = 0
        """Counts drops of old rows and resets: views taken before a change are stale."""
        self.offset = 0
        """Rows dropped from the front since the last reset: row ``i`` is the stream's
        row ``offset + i`` (keeps decimation bins in place)."""

    @property
    def n(self) -> int:
        """Rows held."""
        return self._n

    @property
    def t(self) -> FloatArray:
        """Times of the rows held (a view), seconds."""
        return self._data[: self._n, 0]

    def column(self, i: int) -> FloatArray:
        """Column ``i`` of the rows held (a view)."""
        return self._data[: self._n, i]

    def rows(self, lo: int = 0, hi: int | None = None) -> FloatArray:
        """Rows ``lo:hi`` of those held (a view)."""
        return self._data[lo : self._n if hi is None else min(hi, self._n)]

    def last(self, i: int, default: float = np.nan) -> float:
        """The newest value of column ``i``, or ``default`` when empty."""
        return float(self._data[self._n - 1, i]) if self._n else default

    def span(self, t0: float, t1: float) -> tuple[int, int]:
        """Index range ``lo:hi`` of the rows with ``t0 <= t <= t1``."""
        t = self.t
        return int(np.searchsorted(t, t0, "left")), int(np.searchsorted(t, t1, "right"))

    def clear(self) -> None:
        """Forget every row (e.g. when the window switches to another session)."""
        self._n = 0
        self._seen_total = 0
        self._last_t = -np.inf
        self.offset = 0
        self.generation += 1

    def pull(self, ring: RingLike) -> int:
        """Append the rows of ``ring`` that are newer than the newest held; return how many."""
        total = ring.total
        if total == self._seen_total:
            return 0
        if total < self._seen_total:  # the ring was reset: start again
            self.clear()
        rows = ring.since(self._last_t)
        self._seen_total = total
        if rows.size == 0:
            newest = ring.latest(1)
            if newest.size == 0 or newest[0, 0] >= self._last_t:
                return 0
            # time went back (a replay jumped, the ring was cleared): start again
            self.clear()
            self._seen_total = total
            rows = ring.since(-np.inf)
        rows = rows[rows[:, 0] > self._last_t]
        self.append(rows)
        return int(rows.shape[0])

    def append(self, rows: FloatArray) -> None:
        """Append rows ``(k, columns)`` whose times follow the newest held."""
        k = int(rows.shape[0])
        if k == 0:
            return
        if rows.shape[1] != self._data.shape[1]:
            raise ValueError(f"rows have {rows.shape[1]} columns, mirror has {self._data.shape[1]}")
        if k > self._max_rows:
            rows, k = rows[-self._max_rows :], self._max_rows
        need = self._n + k
        if need > self._data.shape[0]:
            if need <= self._max_rows:
                size = min(self._max_rows, max(need, 2 * self._data.shape[0]))
                grown = np.empty((size, self._data.shape[1]), dtype=np.float64)
                grown[: self._n] = self._data[: self._n]
                self._data = grown
            else:  # keep the newest half of what is allowed, then append
                keep = max(0, min(self._n, self._max_rows // 2 - k))
                if self._data.shape[0] < self._max_rows:
                    grown = np.empty((self._max_rows, self._data.shape[1]), dtype=np.float64)
                    grown[:keep] = self._data[self._n - keep : self._n]
                    self._data = grown
                else:
                    self._data[:keep] = self._data[self._n - keep : self._n]
                self.offset += self._n - keep
                self._n = keep
                self.generation += 1
        self._data[self._n : self._n + k] = rows
        self._n += k
        self._last_t = float(rows[-1, 0])
