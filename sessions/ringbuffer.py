"""A bounded, preallocated buffer of float64 rows: the newest data for any view.

The acquisition thread appends blocks of rows; views read copies of the newest rows
on a timer. Capacity is fixed, so a view that falls behind never makes acquisition
wait or grow memory: the oldest rows are simply overwritten. Column 0 is time
(seconds on the session clock) by convention, which :meth:`RingBuffer.since` relies on.

Examples
--------
>>> import numpy as np
>>> ring = RingBuffer(4, 2, ("t", "kPa"))
>>> ring.append(np.array([[0.0, 1.0], [0.1, 2.0], [0.2, 3.0]]))
>>> ring.append(np.array([[0.3, 4.0], [0.4, 5.0]]))
>>> len(ring), ring.total
(4, 5)
>>> ring.latest(2)[:, 1].tolist()
[4.0, 5.0]
>>> ring.since(0.25)[:, 0].tolist()
[0.3, 0.4]
"""

from __future__ import annotations

import threading

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["RingBuffer"]

FloatArray = NDArray[np.float64]


class RingBuffer:
    """Preallocated, thread-safe (one writer, many readers) rows x columns of float64.

    Parameters
    ----------
    capacity : int
        Rows kept; older rows are dropped when it is full.
    columns : int
        Values per row.
    names : tuple of str, optional
        Column names (``("t", "kPa")``), for views and debugging.

    Notes
    -----
    Memory is reserved with :func:`numpy.empty`, so pages are only touched as rows
    arrive: a one-hour buffer costs little until it fills. Every read returns a copy
    taken under a lock, so a reader never sees a half-written block.
    """

    def __init__(self, capacity: int, columns: int, names: tuple[str, ...] = ()) -> None:
        if isinstance(capacity, bool) or int(capacity) != capacity or capacity < 1:
            raise ValueError(f"capacity must be a positive whole number of rows, got {capacity!r}")
        if isinstance(columns, bool) or int(columns) != columns or columns < 1:
            raise ValueError(f"columns must be a positive whole number, got {columns!r}")
        if names and len(names) != columns:
            raise ValueError(f"{len(names)} column names given for {columns} columns")
        self.names = tuple(names)
        self._lock = threading.Lock()
        self._data: FloatArray = np.empty((int(capacity), int(columns)), dtype=np.float64)
        self._start = 0  # physical row of the oldest row held
        self._len = 0
        self._total = 0

    @property
    def capacity(self) -> int:
        """Rows the buffer can hold."""
        return int(self._data.shape[0])

    @property
    def columns(self) -> int:
        """Values per row."""
        return int(self._data.shape[1])

    @property
    def total(self) -> int:
        """Rows ever appended (a view compares it with its last read to see what is new)."""
        return self._total

    def __len__(self) -> int:
        return self._len

    def __repr__(self) -> str:
        names = f" {self.names}" if self.names else ""
        return f"RingBuffer({self._len}/{self.capacity} rows x {self.columns}{names})"

    def append(self, rows: ArrayLike) -> None:
        """Add rows, shape (n, columns) (or (columns,) for one row); oldest dropped when full."""
        block = np.asarray(rows, dtype=np.float64)
        if block.ndim == 1:
            block = block[None, :]
        if block.ndim != 2 or block.shape[1] != self.columns:
            raise ValueError(
                f"RingBuffer holds rows of {self.columns} values, got shape {block.shape}"
            )
        n = block.shape[0]
        if n == 0:
            return
        cap = self.capacity
        with self._lock:
            self._total += n
            if n >= cap:  # only the newest `cap` rows survive
                self._data[:] = block[n - cap :]
                self._start, self._len = 0, cap
                return
            end = (self._start + self._len) % cap  # physical row after the newest
            first = min(n, cap - end)
            self._data[end : end + first] = block[:first]
            if first < n:
                self._data[: n - first] = block[first:]
            overflow = max(0, self._len + n - cap)
            self._len = min(cap, self._len + n)
            self._start = (self._start + overflow) % cap

    def latest(self, n: int) -> FloatArray:
        """Copy of the newest ``<= n`` rows, oldest first, shape (m, columns)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        with self._lock:
            m = min(int(n), self._len)
            return self._copy(self._len - m, m)

    def since(self, t0: float) -> FloatArray:
        """Copy of the rows whose column 0 (time) is ``>= t0``, oldest first.

        Column 0 must not decrease from row to row (it is the session clock).
        """
        with self._lock:
            lo, hi = 0, self._len
            cap = self.capacity
            while lo < hi:  # first logical row with t >= t0
                mid = (lo + hi) // 2
                if self._data[(self._start + mid) % cap, 0] < t0:
                    lo = mid + 1
                else:
                    hi = mid
            return self._copy(lo, self._len - lo)

    def clear(self) -> None:
        """Drop every row (``total`` keeps counting, so views notice the change)."""
        with self._lock:
            self._start = 0
            self._len = 0

    def reallocate(self, capacity: int) -> None:
        """Drop every row and change the capacity (the live session sizes its buffers
        once a source's sample rate is known)."""
        if isinstance(capacity, bool) or int(capacity) != capacity or capacity < 1:
            raise ValueError(f"capacity must be a positive whole number of rows, got {capacity!r}")
        data = np.empty((int(capacity), self.columns), dtype=np.float64)
        with self._lock:
            self._data = data
            self._start = 0
            self._len = 0

    def _copy(self, first: int, m: int) -> FloatArray:
        """Rows ``first .. first + m`` in logical order (call with the lock held)."""
        cap = self.capacity
        a = (self._start + first) % cap
        if a + m <= cap:
            return self._data[a : a + m].copy()
        return np.concatenate((self._data[a:], self._data[: a + m - cap]))
