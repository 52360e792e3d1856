"""Peak decimation for plotting: a min/max pair per bin, bins fixed to the sample index.

A 30 s view of a 1 kHz stream is 30 000 points for about 800 pixels. Drawing the
minimum and the maximum of each bin of ``k`` samples keeps every peak (a spike or a
fast ramp is never smoothed away) at two points per bin. Bins start at multiples of
``k`` of the sample index, not at the first sample on screen, so a scrolling view
does not shimmer: the same samples always share a bin.

Examples
--------
>>> import numpy as np
>>> t = np.arange(10.0)
>>> y = np.array([0, 5, 1, 1, 9, 2, 3, 3, 3, 7.0])
>>> tx, yx = peak_decimate(t, y, first_index=0, k=4)
>>> tx.tolist(), yx.tolist()
([0.0, 0.0, 4.0, 4.0, 8.0, 9.0], [0.0, 5.0, 2.0, 9.0, 3.0, 7.0])
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["bin_size", "peak_decimate"]

FloatArray = NDArray[np.float64]


def bin_size(n_samples: int, width_px: int, pairs_per_px: float = 1.0) -> int:
    """Samples per bin for ``n_samples`` on ``width_px`` pixels (a power of two, >= 1).

    Powers of two change rarely as a view is zoomed, so bins stay put.
    """
    if n_samples <= 0 or width_px <= 0:
        return 1
    k = n_samples / (max(width_px, 1) * pairs_per_px)
    return 1 if k < 2 else int(2 ** np.floor(np.log2(k)))


def peak_decimate(
    t: FloatArray, y: FloatArray, first_index: int, k: int
) -> tuple[FloatArray, FloatArray]:
    """Min/max of ``y`` per bin of ``k`` samples, bins aligned to the sample index.

    Parameters
    ----------
    t, y : ndarray, shape (n,)
        Times (s) and values of consecutive samples.
    first_index : int
        Sample index of ``t[0]`` in the whole stream (sets the bin boundaries).
    k : int
        Samples per bin; 1 returns the input.

    Returns
    -------
    t_out, y_out : ndarray
        Per full bin two points at the bin's first time (its min then its max; NaN
        where a bin holds no finite value); the partial bins at either end are kept
        sample by sample.
    """
    n = t.size
    if k <= 1 or n < 2 * k:
        return t, y
    head = (-first_index) % k  # samples before the first bin boundary
    full = (n - head) // k
    a, b = head, head + full * k
    ys = y[a:b].reshape(full, k)
    lo = np.fmin.reduce(ys, axis=1)  # fmin/fmax skip NaN without warnings
    hi = np.fmax.reduce(ys, axis=1)
    tb = t[a:b:k]
    t_mid = np.repeat(tb, 2)
    y_mid = np.empty(2 * full, dtype=np.float64)
    y_mid[0::2] = lo
    y_mid[1::2] = hi
    return (
        np.concatenate((t[:a], t_mid, t[b:])),
        np.concatenate((y[:a], y_mid, y[b:])),
    )
