"""Stroke types per analysis window: ``rest``, ``hold``, ``circular``, ``kneading``.

Every window (default 2 s, one every 0.25 s) is described by a few features a
physiotherapist would recognise, and a multinomial logistic regression names the stroke
from them; the probability of the named stroke is its confidence. The classifier uses
what the stream has: there is one set of weights each for pressure alone, pressure with a
centre of pressure (CoP, 4-channel pads), acceleration alone, and pressure (with or
without CoP) plus acceleration. The weights are shipped in :mod:`analysis.stroke_model`,
written by ``benchmarks/train_strokes.py``; ``benchmarks/strokes.py`` scores them on
held-out simulated sessions.

How a window is described
-------------------------
Samples are first reduced to block means of ``q = ceil(rate_hz / 64)`` samples
(:func:`decimation_factor`), so a 2 s window is 64-128 points at any input rate from
50 to 1000 Hz, and all features are computed on that grid from the window alone. The
"halves" are the window's first and second second: a window is labelled by the stroke
that covers most of it, and comparing its halves tells a stroke that fills the window
from one that only starts or ends in it. Features (:data:`FEATURES`):

pressure (kPa)
    ``p_level`` ln(1 + 90th percentile); ``p_level_lo`` the same for the lower half;
    ``p_contact``, ``p_touch`` shares above :data:`CONTACT_KPA` and :data:`TOUCH_KPA`;
    ``p_floor`` ln(1 + 10th percentile); ``p_noise`` log10 RMS above 8 Hz (sensor noise,
    tremor); ``p_depth`` modulation depth (p90 - p10) / (1 + p90), log10, and
    ``p_depth_lo`` that of the calmer half; ``p_mod``, ``p_mod_lo``, ``p_mod_hi`` log10
    RMS around the window's straight line / (1 + p90), overall and for the calmer and
    busier half; ``p_ramp`` log10 change of that line over the window / (1 + p90);
    ``p_share`` share of the detrended power next to the dominant rhythm (0.3-3 Hz);
    ``p_harm`` share of its second harmonic (kneading is asymmetric, circles are not);
    ``p_asym`` |skewness| of the slope and ``p_rise`` how far the time spent rising is
    from half (fast compress, slow release).
centre of pressure (pad half-widths)
    ``c_valid`` share of the window with a CoP; ``c_spread`` log10 RMS distance from its
    mean; ``c_consist`` net over total turning
    about the mean (1 for circles walked one way, near 0 for a wobble).
acceleration (m/s², gravity included or not; "up" is the mean's direction)
    ``a_motion`` log10 RMS in the stroke band (0.3-3 Hz), and ``a_motion_lo``,
    ``a_motion_hi`` for the calmer and busier half (0.5-3 Hz); ``a_tremor``,
    ``a_tremor_lo``, ``a_tremor_hi`` the same at 6-14 Hz (a pressing hand trembles, a
    hand at rest is still); ``a_vshare`` vertical share of the stroke-band motion
    (kneading pulses); ``a_quad`` share of the stroke-band motion that rotates in the
    horizontal plane, 0-1 (circles: the two horizontal axes in quadrature);
    ``a_share`` share of the motion power next to the dominant rhythm.

Without a pressure channel rest and hold differ only by the tremor of a pressing hand,
so accelerometer-only labels confuse them more often (see ``benchmarks/strokes.py``).

Examples
--------
>>> import numpy as np
>>> rate_hz = 100.0
>>> t = np.arange(400) / rate_hz
>>> knead = 60 * (0.6 + 0.4 * np.cos(2 * np.pi * 1.0 * t))
>>> classify(window_features(knead, rate_hz)).stroke
'kneading'
>>> classify(window_features(np.full(400, 40.0), rate_hz)).stroke
'hold'
>>> tracker = StrokeTracker(rate_hz)
>>> labels = tracker.update(t, knead)
>>> len(labels), labels[0].start, labels[0].end, labels[-1].stroke
(9, 0.0, 2.0, 'kneading')
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Final

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from analysis.stroke_model import MODEL

__all__ = [
    "CONTACT_KPA",
    "FEATURES",
    "STROKES",
    "TOUCH_KPA",
    "StrokeLabel",
    "StrokeModel",
    "StrokeTracker",
    "classify",
    "decimation_factor",
    "model_for",
    "window_features",
]

FloatArray = NDArray[np.float64]

STROKES: Final = ("rest", "hold", "circular", "kneading")
"""Stroke names; their position is the integer code used in arrays."""

CONTACT_KPA: Final = 2.0
"""Pressure above which a sample counts as firm contact, kPa (``p_contact``)."""

TOUCH_KPA: Final = 0.3
"""Pressure above which a sample counts as touched, kPa (``p_touch``)."""

FEATURE_RATE_HZ: Final = 64.0
"""Highest rate of the block means the features are computed on, Hz."""

RHYTHM_BAND_HZ: Final = (0.3, 3.0)
"""Where stroke rhythms live, Hz (kneading 0.4-2 Hz, circles 0.5-1.5 Hz)."""

TREMOR_BAND_HZ: Final = (6.0, 14.0)
"""Physiological tremor of a pressing hand, Hz (at most 0.45 times the feature rate)."""

FEATURES: Final[Mapping[str, tuple[str, ...]]] = {
    "pressure": (
        "p_level",
        "p_level_lo",
        "p_contact",
        "p_touch",
        "p_floor",
        "p_noise",
        "p_depth_lo",
        "p_depth",
        "p_mod",
        "p_mod_lo",
        "p_mod_hi",
        "p_ramp",
        "p_share",
        "p_harm",
        "p_asym",
        "p_rise",
    ),
    "cop": ("c_valid", "c_spread", "c_consist"),
    "accel": (
        "a_motion",
        "a_motion_lo",
        "a_motion_hi",
        "a_tremor",
        "a_tremor_lo",
        "a_tremor_hi",
        "a_vshare",
        "a_quad",
        "a_share",
    ),
}
"""Feature names by the signal they come from."""

_TINY: Final = 1e-12
_COLUMNS: Final = 6  # block columns: pressure, CoP x, CoP y, accel x, y, z
_GROUP_ROWS: Final = {"pressure": (0,), "cop": (1, 2), "accel": (3, 4, 5)}


@dataclass(frozen=True, slots=True)
class StrokeLabel:
    """A named window: ``start`` and ``end`` in seconds, ``confidence`` 0-1."""

    start: float
    end: float
    stroke: str
    confidence: float


def decimation_factor(rate_hz: float) -> int:
    """Samples per block mean: ``ceil(rate_hz / 64)``, so features see 32-64 Hz.

    >>> [decimation_factor(r) for r in (50, 80, 100, 250, 1000)]
    [1, 2, 2, 4, 16]
    """
    if not (rate_hz > 0 and math.isfinite(rate_hz)):
        raise ValueError(f"rate_hz must be a positive number, got {rate_hz!r}")
    return max(1, math.ceil(rate_hz / FEATURE_RATE_HZ - 1e-9))


# -- features ----------------------------------------------------------------------------------
#
# Features are computed in two stages so that a window costs few numpy calls: a handful of
# array operations over all windows at once reduce each window to a short row of sums,
# order statistics and spectral powers (``_*_stats``; the groups' columns go to Python in
# one ``tolist``), then plain Python turns each row into the features (``_*_row``). Both
# stages treat every window on its own, so the features of a window never depend on how
# many windows were computed together (chunk invariance). At 1 kHz the cost is per numpy
# call and per Python float, not per sample: keep both counts low.


@dataclass(frozen=True)
class _Layout:
    """Everything about the feature grid that does not depend on the data."""

    rate_hz: float  # feature rate (block means per second)
    window: int  # blocks per window
    half: int  # blocks per half window (the halves are the last 2 * half blocks)
    ranks: NDArray[np.intp]  # (_RANKS,) indices of 0, 5, ..., 100 % in a sorted half
    line: FloatArray  # (2, window): least-squares mean and slope as weighted sums
    u: FloatArray  # (window,) centred time, s
    hann: FloatArray  # (window,)
    nfft: int
    bins: int  # bins of the spectrum
    power_to_ms: float  # band power of the Hann spectrum -> mean square
    rhythm: tuple[int, int]  # bins [a, b) of the stroke band
    lobe: int  # half the Hann main lobe, bins: "next to" a frequency
    total: tuple[int, int]  # bins of the detrended power a share is taken of
    high: tuple[int, int]  # bins above the strokes (noise, tremor), pressure
    tremor: tuple[int, int]  # bins of the tremor band
    hann_half: FloatArray  # (half,)
    nfft_half: int
    half_to_ms: float
    half_motion: tuple[int, int]  # bins of the half-window spectrum
    half_tremor: tuple[int, int]


def _bins(freqs: FloatArray, lo: float, hi: float) -> tuple[int, int]:
    """Bins ``[a, b)`` with ``lo <= f <= hi``, never the first or last bin (empty: a == b)."""
    a = max(1, int(np.searchsorted(freqs, lo, side="left")))
    b = min(freqs.size - 1, int(np.searchsorted(freqs, hi, side="right")))
    return a, max(a, b)


@lru_cache(maxsize=32)
def _layout(rate_hz: float, window: int) -> _Layout:
    half = window // 2
    u = ((np.arange(window) - (window - 1) / 2.0) / rate_hz).astype(np.float64)
    line = np.stack((np.full(window, 1.0 / window), u / float(u @ u)))
    nfft = 1 << max(8, math.ceil(math.log2(window)))
    freqs = np.fft.rfftfreq(nfft, 1.0 / rate_hz).astype(np.float64)
    hann = np.hanning(window + 2)[1:-1]
    hann_half = np.hanning(half + 2)[1:-1]
    nfft_half = nfft // 2
    freqs_half = np.fft.rfftfreq(nfft_half, 1.0 / rate_hz).astype(np.float64)
    top = min(TREMOR_BAND_HZ[1], 0.45 * rate_hz)
    a, b = _bins(freqs, *RHYTHM_BAND_HZ)
    rhythm = (a, max(b, a + 1))
    lobe = max(1, round(nfft / window))
    stroke_top = _bins(freqs, 0.0, min(8.0, 0.45 * rate_hz))[1]
    return _Layout(
        rate_hz=rate_hz,
        window=window,
        half=half,
        ranks=np.round(np.linspace(0, half - 1, _RANKS)).astype(np.intp),
        line=line,
        u=u,
        hann=hann,
        nfft=nfft,
        bins=freqs.size,
        power_to_ms=2.0 / (nfft * float((hann**2).sum())),
        rhythm=rhythm,
        lobe=lobe,
        total=(max(rhythm[0] - lobe, 0), max(rhythm[1], stroke_top)),
        high=_bins(freqs, 8.0, 0.45 * rate_hz),
        tremor=_bins(freqs, TREMOR_BAND_HZ[0], top),
        hann_half=hann_half,
        nfft_half=nfft_half,
        half_to_ms=2.0 / (nfft_half * float((hann_half**2).sum())),
        half_motion=_bins(freqs_half, 0.5, 3.0),
        half_tremor=_bins(freqs_half, TREMOR_BAND_HZ[0], top),
    )


def _peaks(power: list[float], lay: _Layout) -> tuple[float, float]:
    """Power within half a main lobe of the dominant rhythm f0 (0.3-3 Hz) and of 2 f0, from
    a power spectrum."""
    a, b = lay.rhythm
    rhythm = power[a:b]
    peak = a + rhythm.index(max(rhythm))  # the first of equal maxima
    r, top = lay.lobe, lay.bins
    return (
        sum(power[max(peak - r, 0) : peak + r + 1]),
        sum(power[min(2 * peak - r, top - 1) : min(2 * peak + r + 1, top)]),
    )


def _pressure_stats(p: FloatArray, lay: _Layout) -> list[FloatArray]:
    """Order statistics, sums and spectral powers of ``k`` windows of pressure, shape
    (k, window) kPa, as columns (k, 49 + bins in all): the 0, 5, ..., 100 % points of both
    halves, the line's mean and slope (kPa/s), the energy around it in both halves, the
    sums of the slope's squares, cubes and rises, and the power spectrum of the rest."""
    k, w, h = p.shape[0], lay.window, lay.half
    halves = np.sort(p[:, w - 2 * h :].reshape(k, 2, h), axis=2)
    line = np.add.reduce(p[:, None, :] * lay.line, axis=2)  # mean, slope (kPa/s)
    resid = p - line[:, :1]
    resid -= line[:, 1:] * lay.u
    energy = np.add.reduce(np.square(resid[:, w - 2 * h :]).reshape(k, 2, h), axis=2)
    spec = np.fft.rfft(resid * lay.hann, n=lay.nfft)
    d = p[:, 1:] - p[:, :-1]
    d -= np.add.reduce(d, axis=1, keepdims=True) / (w - 1)  # the slope around its mean
    moments = np.empty((k, 3, w - 1))
    np.square(d, out=moments[:, 0])
    np.multiply(moments[:, 0], d, out=moments[:, 1])
    np.greater(d, 0.0, out=moments[:, 2])
    return [
        halves.take(lay.ranks, axis=2).reshape(k, 2 * _RANKS),
        line,
        energy,
        np.add.reduce(moments, axis=2),
        np.square(spec.real) + np.square(spec.imag),
    ]


_RANKS: Final = 21  # order statistics kept per half window (every 5 %)


def _pressure_row(s: list[float], lay: _Layout) -> list[float]:
    """The pressure features (``FEATURES["pressure"]``) of one window from its stats."""
    n_r = _RANKS
    lo1, hi1, lo2, hi2 = s[2], s[n_r - 3], s[n_r + 2], s[2 * n_r - 3]  # 10th, 90th percentiles
    _, slope, e1, e2, m2, m3, rises = s[2 * n_r : 2 * n_r + 7]
    power = s[2 * n_r + 7 : 2 * n_r + 7 + lay.bins]
    (t0, t1), (h0, h1) = lay.total, lay.high
    band, high = sum(power[t0:t1]), sum(power[h0:h1])
    near, second = _peaks(power, lay)
    # order statistics at or below a threshold in each half: 1 - c / n_r is the share of
    # the half above it (to 5 %)
    c1, c2 = bisect_right(s, CONTACT_KPA, 0, n_r), bisect_right(s, CONTACT_KPA, n_r, 2 * n_r) - n_r
    t1, t2 = bisect_right(s, TOUCH_KPA, 0, n_r), bisect_right(s, TOUCH_KPA, n_r, 2 * n_r) - n_r
    w, h, n = lay.window, lay.half, lay.window - 1
    hi, lo = max(hi1, hi2), min(lo1, lo2)
    scale = max(hi, 0.0) + 1.0
    mod1, mod2 = math.sqrt(e1 / h) / scale, math.sqrt(e2 / h) / scale
    log10 = math.log10
    return [
        math.log1p(max(hi, 0.0)),
        math.log1p(max(min(hi1, hi2), 0.0)),
        ((1.0 - c1 / n_r) + (1.0 - c2 / n_r)) / 2,
        ((1.0 - t1 / n_r) + (1.0 - t2 / n_r)) / 2,
        math.log1p(max(lo, 0.0)),
        log10(math.sqrt(high * lay.power_to_ms) + 1e-3),
        log10(min(hi1 - lo1, hi2 - lo2) / scale + 1e-3),
        log10((hi - lo) / scale + 1e-3),
        log10(math.sqrt((e1 + e2) / (2 * h)) / scale + 1e-4),
        log10(min(mod1, mod2) + 1e-4),
        log10(max(mod1, mod2) + 1e-4),
        log10(abs(slope) * (w / lay.rate_hz) / scale + 1e-3),
        near / (band + _TINY),
        second / (near + second + _TINY),
        abs(m3 / n) / ((m2 / n) ** 1.5 + _TINY),
        abs(rises / n - 0.5) * 2.0,
    ]


def _cop_stats(cx: FloatArray, cy: FloatArray) -> list[FloatArray]:
    """Centre-of-pressure statistics of ``k`` windows, ``cx`` and ``cy`` shape (k, window),
    as columns (k, 4 in all): samples with a CoP, the sum of squared distances from their
    mean, and the net and total turning about the mean (rad)."""
    valid = cx == cx  # not NaN: the pad measured a CoP
    n = np.add.reduce(valid, axis=1, keepdims=True)
    z = np.where(valid, cx + 1j * cy, 0.0)
    z -= np.add.reduce(z, axis=1, keepdims=True) / np.maximum(n, 1)  # about the mean
    z *= valid
    r2 = np.add.reduce(np.square(z.real) + np.square(z.imag), axis=1, keepdims=True)
    # turning angles (0 where a sample is missing) and their sizes, summed in one reduction
    turn = np.empty((z.shape[0], 2, z.shape[1] - 1))
    step = z[:, 1:] * z[:, :-1].conj()
    np.arctan2(step.imag, step.real, out=turn[:, 0])  # np.angle
    np.abs(turn[:, 0], out=turn[:, 1])
    return [n, r2, np.add.reduce(turn, axis=2)]


def _cop_row(s: list[float], lay: _Layout, cop_scale: float) -> list[float]:
    """The CoP features (``FEATURES["cop"]``) of one window from its stats."""
    n, r2, net, total = s[:4]
    return [
        n / lay.window,
        math.log10(math.sqrt(r2 / max(n, 1.0)) / cop_scale + 0.003),
        abs(net) / (total + 1e-9),
    ]


def _accel_stats(a: FloatArray, lay: _Layout) -> FloatArray:
    """Acceleration statistics of ``k`` windows, ``a`` shape (k, 3, window) m/s² ->
    (k, 21 + bins + 2 × half-window bins)."""
    k, w, h = a.shape[0], lay.window, lay.half
    g = a.sum(axis=2, keepdims=True) / w
    ac = a - g
    spec = np.fft.rfft(ac * lay.hann, n=lay.nfft)
    r0, r1 = lay.rhythm
    band = spec[:, :, r0:r1]
    # band cross-spectral matrix of the three axes: the vertical share and the rotation
    # about the vertical follow from it and the direction of gravity, whatever the pose
    cross = (band[:, :, None, :] * band.conj()[:, None, :, :]).sum(axis=3).reshape(k, 9)
    power = (spec.real**2 + spec.imag**2).sum(axis=1)
    halves = ac[:, :, w - 2 * h :].reshape(k, 3, 2, h)
    halves = (halves - halves.sum(axis=3, keepdims=True) / h) * lay.hann_half
    hspec = np.fft.rfft(halves, n=lay.nfft_half)
    hpower = (hspec.real**2 + hspec.imag**2).sum(axis=1).reshape(k, -1)  # both halves
    return np.concatenate((g[:, :, 0], cross.real, cross.imag, power, hpower), axis=1)


def _accel_row(s: list[float], lay: _Layout) -> list[float]:
    """The acceleration features (``FEATURES["accel"]``) of one window from its stats."""
    gx, gy, gz = s[0:3]
    re, im = s[3:12], s[12:21]
    nb = lay.nfft // 2 + 1
    power, hpower = s[21 : 21 + nb], s[21 + nb :]
    m0, m1 = lay.tremor
    t0, t1 = lay.total
    band, (near, _) = sum(power[t0:t1]), _peaks(power, lay)
    norm = math.sqrt(gx * gx + gy * gy + gz * gz)
    # "up" is along the mean acceleration when it holds gravity (phones), else the z axis
    ux, uy, uz = (gx / norm, gy / norm, gz / norm) if norm > 1.0 else (0.0, 0.0, 1.0)
    up = (ux, uy, uz)
    total = re[0] + re[4] + re[8]
    vertical = sum(up[i] * up[j] * re[3 * i + j] for i in range(3) for j in range(3))
    # the imaginary part of the cross-spectra is the motion's spectral angular momentum;
    # its component along "up" is rotation in the horizontal plane (all motion a
    # horizontal circle: 1; a line or vertical pulses: 0)
    spin = ux * (im[5] - im[7]) + uy * (im[6] - im[2]) + uz * (im[1] - im[3])
    to_ms, half = lay.power_to_ms, lay.half_to_ms
    nh = len(hpower) // 2
    b0, b1 = lay.half_motion
    t0, t1 = lay.half_tremor
    h_motion = [
        math.log10(math.sqrt(sum(x[b0:b1]) * half) + 1e-3) for x in (hpower[:nh], hpower[nh:])
    ]
    h_tremor = [
        math.log10(math.sqrt(sum(x[t0:t1]) * half) + 1e-3) for x in (hpower[:nh], hpower[nh:])
    ]
    return [
        math.log10(math.sqrt(total * to_ms) + 1e-3),
        min(h_motion),
        max(h_motion),
        math.log10(math.sqrt(sum(power[m0:m1]) * to_ms) + 1e-3),
        min(h_tremor),
        max(h_tremor),
        vertical / (total + _TINY),
        abs(spin) / (total + _TINY),
        near / (band + _TINY),
    ]


def _features(y: FloatArray, lay: _Layout, groups: tuple[str, ...], cop_scale: float) -> FloatArray:
    """Features of ``k`` windows from their block means ``y``, shape (columns, k, window),
    the columns from the first one ``groups`` read on (pressure, CoP x, y, accel x, y, z):
    shape (k, f), the groups' features in order."""
    lo = _GROUP_ROWS[groups[0]][0]
    stats: list[FloatArray] = []  # the groups' statistics, side by side
    if "pressure" in groups:
        stats += _pressure_stats(y[0 - lo], lay)
    if "cop" in groups:
        stats += _cop_stats(y[1 - lo], y[2 - lo])
    if "accel" in groups:
        stats.append(_accel_stats(np.ascontiguousarray(y[3 - lo : 6 - lo].transpose(1, 0, 2)), lay))
    pressure, cop, accel = ("pressure" in groups), ("cop" in groups), ("accel" in groups)
    cop_at = 2 * _RANKS + 7 + lay.bins if pressure else 0  # where the CoP statistics start
    accel_at = cop_at + 4 if cop else cop_at
    rows = []
    for s in np.concatenate(stats, axis=1).tolist():
        row = _pressure_row(s, lay) if pressure else []
        if cop:
            row += _cop_row(s[cop_at:], lay, cop_scale)
        if accel:
            row += _accel_row(s[accel_at:], lay)
        rows.append(row)
    return np.array(rows, dtype=np.float64)


def _held(values: FloatArray, last: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``values`` (shape (n,) or (n, k)) with every NaN or infinite entry replaced by the
    last finite one of its column before it (``last`` before the first row), and the last
    finite values after them."""
    if math.isfinite(np.add.reduce(values, axis=None)):  # the usual case: one call
        return values, values[-1].copy()
    ok = np.isfinite(values)
    rows = np.arange(values.shape[0]).reshape((-1,) + (1,) * (values.ndim - 1))
    at = np.maximum.accumulate(np.where(ok, rows, -1), axis=0)
    filled = np.take_along_axis(values, np.maximum(at, 0), axis=0)
    filled = np.where(at >= 0, filled, last)
    return filled, filled[-1].copy()


def _groups(has_pressure: bool, has_cop: bool, has_accel: bool) -> tuple[str, ...]:
    present = (("pressure", has_pressure), ("cop", has_cop and has_pressure), ("accel", has_accel))
    return tuple(name for name, yes in present if yes)


def _sizes(rate_hz: float, window_s: float) -> tuple[float, int, int]:
    """Feature rate, block size ``q`` and blocks per window."""
    q = decimation_factor(rate_hz)
    feature_hz = rate_hz / q
    return feature_hz, q, max(8, round(window_s * feature_hz))


def window_features(
    pressure_kpa: FloatArray | None,
    rate_hz: float,
    cop: FloatArray | None = None,
    accel: FloatArray | None = None,
    *,
    cop_scale: float = 1.0,
) -> dict[str, float]:
    """Features of one window, the samples given (the same as :class:`StrokeTracker`
    computes for a window of that length).

    Parameters
    ----------
    pressure_kpa : ndarray, shape (n,), kPa, or None
    rate_hz : float
        Sample rate, Hz.
    cop : ndarray, shape (n, 2), or None
        Centre of pressure, NaN without contact; ``cop_scale`` units per pad half-width.
        Used only with pressure.
    accel : ndarray, shape (n, 3), m/s², or None
        Acceleration, with or without gravity.
    cop_scale : float
        Half-width of the pad in the unit of ``cop`` (1 for the default square).

    Returns
    -------
    dict
        Feature name (see :data:`FEATURES`) -> value, for the signals given.
    """
    signals = [s for s in (pressure_kpa, cop, accel) if s is not None]
    if not signals:
        raise ValueError("a window needs pressure or acceleration")
    n = len(signals[0])
    raw = np.full((_COLUMNS, n), np.nan)
    if pressure_kpa is not None:
        raw[0] = pressure_kpa
    if cop is not None:
        raw[1:3] = np.asarray(cop).T
    if accel is not None:
        raw[3:6] = np.asarray(accel).T
    feature_hz, q, _ = _sizes(rate_hz, n / rate_hz)
    nb = n // q
    if nb < 8:
        raise ValueError(f"a window needs at least {8 * q} samples at {rate_hz:g} Hz, got {n}")
    end = nb * q
    blocks = raw[:, :end].reshape(_COLUMNS, nb, q).sum(axis=2) / q if q > 1 else raw[:, :end]
    groups = _groups(pressure_kpa is not None, cop is not None, accel is not None)
    y = np.ascontiguousarray(blocks[_GROUP_ROWS[groups[0]][0] :, None])
    values = _features(y, _layout(feature_hz, nb), groups, cop_scale)[0]
    names = [name for g in groups for name in FEATURES[g]]
    return dict(zip(names, values.tolist(), strict=True))


# -- the classifier ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StrokeModel:
    """Multinomial logistic regression on clipped, standardised features.

    ``p(stroke | x) = softmax(weights @ ((clip(x, lo, hi) - mean) / scale) + bias)``;
    the clip keeps each feature within the range seen in training, so a signal cleaner
    or wilder than any training stream is not extrapolated.

    Attributes
    ----------
    key : str
        Which signals it needs: a ``+``-joined subset of ``pressure``, ``cop``, ``accel``.
    features : tuple of str
        Feature names, in column order.
    lo, hi : ndarray, shape (f,)
        Range of each feature in training (0.1 and 99.9 percentiles).
    mean, scale : ndarray, shape (f,)
        Standardisation of each feature.
    weights : ndarray, shape (4, f)
        One row per stroke of :data:`STROKES`.
    bias : ndarray, shape (4,)
    """

    key: str
    features: tuple[str, ...]
    lo: FloatArray
    hi: FloatArray
    mean: FloatArray
    scale: FloatArray
    weights: FloatArray
    bias: FloatArray

    @cached_property
    def _folded(self) -> tuple[FloatArray, FloatArray]:
        """Weights and bias acting on the clipped, unstandardised features."""
        w = np.ascontiguousarray(self.weights / self.scale)
        return w, self.bias - (w * self.mean).sum(axis=1)

    def scores(self, x: FloatArray) -> FloatArray:
        """Scores (log-probabilities up to a constant per window), shape (k, 4), of ``k``
        windows' features ``x``, shape (k, f)."""
        w, b = self._folded
        clipped = np.maximum(x, self.lo)
        np.minimum(clipped, self.hi, out=clipped)
        # an explicit row-wise sum (not BLAS) gives the same bits for any batch size
        scores: FloatArray = np.add.reduce(clipped[:, None, :] * w, axis=2)
        scores += b
        return scores

    def probabilities(self, x: FloatArray) -> FloatArray:
        """Class probabilities, shape (k, 4), of ``k`` windows' features ``x``, shape (k, f)."""
        s = self.scores(x)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        prob: FloatArray = e / e.sum(axis=1, keepdims=True)
        return prob

    def label(self, x: FloatArray) -> list[tuple[str, float]]:
        """The stroke and its probability for each of ``k`` windows, ``x`` shape (k, f)."""
        exp = math.exp
        out = []
        for row in self.scores(x).tolist():
            top = max(row)
            out.append((STROKES[row.index(top)], 1.0 / sum([exp(v - top) for v in row])))
        return out


@lru_cache(maxsize=1)
def _models() -> dict[str, StrokeModel]:
    """The shipped models, read from :data:`analysis.stroke_model.MODEL` on first use."""
    models: dict[str, StrokeModel] = {}
    for key, m in MODEL["models"].items():
        expected = tuple(name for g in key.split("+") for name in FEATURES[g])
        if tuple(m["scaling"]) != expected:
            raise RuntimeError(
                f"analysis/stroke_model.py does not match the features of {key}; "
                "regenerate it with python benchmarks/train_strokes.py"
            )
        if tuple(m["weights"]) != expected:
            raise RuntimeError(f"analysis/stroke_model.py: weights of {key} do not match")
        scaling = np.array(list(m["scaling"].values()), dtype=np.float64).reshape(-1, 4)
        weights = np.array(list(m["weights"].values()), dtype=np.float64).reshape(-1, 4)
        models[key] = StrokeModel(
            key=key,
            features=expected,
            lo=scaling[:, 0].copy(),
            hi=scaling[:, 1].copy(),
            mean=scaling[:, 2].copy(),
            scale=scaling[:, 3].copy(),
            weights=np.ascontiguousarray(weights.T),
            bias=np.asarray(m["bias"], dtype=np.float64),
        )
    return models


def model_for(groups: tuple[str, ...]) -> StrokeModel:
    """The shipped model for a set of signal groups (``("pressure", "cop")``, ...)."""
    key = "+".join(groups)
    models = _models()
    try:
        return models[key]
    except KeyError:
        raise ValueError(
            f"no stroke model for {key or 'no signals'}; shipped: {', '.join(models)}"
        ) from None


def classify(features: Mapping[str, float]) -> StrokeLabel:
    """Name the stroke of one window from :func:`window_features` (times left at 0)."""
    groups = tuple(g for g, names in FEATURES.items() if names[0] in features)
    if "pressure" not in groups and "accel" not in groups:
        raise ValueError("a window needs pressure or acceleration to be classified")
    model = model_for(groups)
    stroke, confidence = model.label(np.array([[features[name] for name in model.features]]))[0]
    return StrokeLabel(0.0, 0.0, stroke, confidence)


# -- streaming ---------------------------------------------------------------------------------


class StrokeTracker:
    """Streaming stroke windows: ``window_s`` long, one every ``hop_s``, aligned on samples.

    Window ``k`` covers samples ``[k * hop, k * hop + window)`` of the stream, so any
    chunking of the stream gives the same windows. Samples are reduced to block means of
    :func:`decimation_factor` samples as they arrive (a partial block is carried to the
    next chunk) and kept in a short preallocated buffer; a window's features are computed
    from the blocks that end before its last sample, so a chunk that completes no window
    costs a few µs and one that completes several classifies them together.

    Parameters
    ----------
    rate_hz : float
        Nominal sample rate, Hz.
    window_s, hop_s : float
        Window length and hop, seconds.
    cop_scale : float
        Half-width of the pad in the unit of the CoP passed to :meth:`update`
        (1 for the default square pad with corners at ±1).
    """

    def __init__(
        self,
        rate_hz: float,
        window_s: float = 2.0,
        hop_s: float = 0.25,
        *,
        cop_scale: float = 1.0,
    ) -> None:
        if not 0 < hop_s <= window_s:
            raise ValueError(f"need 0 < hop_s <= window_s, got {hop_s} and {window_s}")
        if not cop_scale > 0:
            raise ValueError(f"cop_scale must be positive, got {cop_scale!r}")
        self.rate_hz = float(rate_hz)
        self.window_s = float(window_s)
        self.cop_scale = float(cop_scale)
        feature_hz, self._q, self._window = _sizes(self.rate_hz, self.window_s)
        self._layout = _layout(feature_hz, self._window)
        self._win_n = max(4, round(window_s * rate_hz))
        self._hop_n = max(1, round(hop_s * rate_hz))
        self._seen = 0  # samples taken in
        self._k = 0  # number of the next window
        # the partial block mean, and room to gather short blocks of samples with it
        self._raw = np.full((_COLUMNS, self._q + max(64, 4 * self._q)), np.nan)
        self._pending = 0  # samples in the partial block
        self._cap = self._window + max(self._window, 256)
        self._blocks = np.full((_COLUMNS, self._cap), np.nan)  # one row per signal
        self._rows = 0  # columns used in self._blocks
        self._first = 0  # block number of row 0
        self._nblocks = 0  # blocks made so far
        self._windows = sliding_window_view(self._blocks, self._window, axis=1)
        self._starts: deque[float] = deque()
        self._groups: tuple[str, ...] | None = None
        self._lo, self._hi = 0, _COLUMNS  # block columns in use (set by the first block)
        self._model: StrokeModel | None = None
        # the last finite pressure and acceleration: a missing sample (NaN, inf) holds it
        self._last_p: FloatArray = np.zeros(())
        self._last_a: FloatArray = np.zeros(3)

    # -- public API ---------------------------------------------------------------------------

    def samples_due(self) -> int:
        """Samples still to come before the next window completes (0: now).

        Until then :meth:`update` only gathers samples, so a caller may gather them
        itself and hand them over in one piece: the windows are the same.
        """
        return max(0, self._k * self._hop_n + self._win_n - self._seen)

    def update(
        self,
        t: FloatArray,
        pressure_kpa: FloatArray | None,
        cop: FloatArray | None = None,
        accel: FloatArray | None = None,
    ) -> list[StrokeLabel]:
        """Take one block of samples and return the windows it completed.

        Parameters
        ----------
        t : ndarray, shape (n,), seconds
        pressure_kpa : ndarray, shape (n,), kPa, or None
        cop : ndarray, shape (n, 2), or None
            Centre of pressure, NaN without contact.
        accel : ndarray, shape (n, 3), m/s², or None

        A pressure or acceleration sample that is NaN or infinite (a value a device or
        file did not give) holds the last finite one, as the working level does; 0 (and
        no acceleration) before the first.

        Returns
        -------
        list of StrokeLabel
            ``start`` is the time of the window's first sample, ``end = start + window_s``.
        """
        done = self._take(t, pressure_kpa, cop, accel)
        if done is None:
            return []
        starts, x = done
        if self._model is None:
            assert self._groups is not None
            self._model = model_for(self._groups)
        window_s = self.window_s
        return [
            StrokeLabel(s, s + window_s, stroke, confidence)
            for s, (stroke, confidence) in zip(starts, self._model.label(x), strict=True)
        ]

    def features(
        self,
        t: FloatArray,
        pressure_kpa: FloatArray | None,
        cop: FloatArray | None = None,
        accel: FloatArray | None = None,
    ) -> tuple[FloatArray, dict[str, FloatArray]]:
        """Like :meth:`update`, but return what the classifier sees.

        Returns
        -------
        start : ndarray, shape (k,), seconds
            Start of each window completed by this block.
        features : dict
            Feature name -> shape (k,), for the signal groups the stream has.
        """
        done = self._take(t, pressure_kpa, cop, accel)
        if done is None:
            return np.empty(0), {}
        starts, x = done
        assert self._groups is not None
        names = [name for g in self._groups for name in FEATURES[g]]
        return np.asarray(starts), {name: x[:, i].copy() for i, name in enumerate(names)}

    # -- internals ----------------------------------------------------------------------------

    def _take(
        self,
        t: FloatArray,
        pressure_kpa: FloatArray | None,
        cop: FloatArray | None,
        accel: FloatArray | None,
    ) -> tuple[list[float], FloatArray] | None:
        """Take in a block; the start times and features of the windows it completed."""
        n = t.shape[0]
        if n == 0:
            return None
        if pressure_kpa is not None:
            pressure_kpa, self._last_p = _held(pressure_kpa, self._last_p)
        if accel is not None:
            accel, self._last_a = _held(accel, self._last_a)
        if self._groups is None:
            self._groups = _groups(pressure_kpa is not None, cop is not None, accel is not None)
            if not ("pressure" in self._groups or "accel" in self._groups):
                raise ValueError("stroke windows need pressure or acceleration")
            # the block columns the features read (pressure 0, CoP 1-2, accel 3-5)
            used = [i for g, rows in _GROUP_ROWS.items() if g in self._groups for i in rows]
            self._lo, self._hi = min(used), max(used) + 1
            self._windows = self._windows[self._lo : self._hi]
        seen, hop = self._seen, self._hop_n
        first = -(-seen // hop) * hop  # the first window start in this block
        if first < seen + n:
            self._starts.extend(t[first - seen : n : hop].tolist())
        q, pend = self._q, self._pending
        lo, hi = self._lo, self._hi
        self._seen = seen + n
        total = pend + n
        if total <= self._raw.shape[1]:  # a short block: gather it with the partial one
            x = self._raw
            if pressure_kpa is not None:
                x[0, pend:total] = pressure_kpa
            if cop is not None:
                x[1:3, pend:total] = cop.T
            if accel is not None:
                x[3:6, pend:total] = accel.T
            if total < q:  # no block mean completes yet
                self._pending = total
                if self._k * hop + self._win_n > self._seen:
                    return None
                return self._emit()
        else:  # only the columns in use are read
            x = np.empty((_COLUMNS, total))
            x[lo:hi, :pend] = self._raw[lo:hi, :pend]
            if lo == 0:
                x[0, pend:] = np.nan if pressure_kpa is None else pressure_kpa
            if lo <= 1 < hi:
                x[1:3, pend:] = np.nan if cop is None else cop.T
            if hi == _COLUMNS:
                x[3:6, pend:] = np.nan if accel is None else accel.T
        nb = total // q
        end = nb * q
        # block means of the columns in use: sums along the contiguous axis, the same bits
        # for any chunking
        x = x[lo:hi]
        blocks = x[:, :end].reshape(hi - lo, nb, q).sum(axis=2) / q if q > 1 else x[:, :end]
        self._raw[lo:hi, : total - end] = x[:, end:total]
        self._pending = total - end
        room = self._cap - self._window
        if nb <= room:
            self._append(blocks)
            if self._k * hop + self._win_n > self._seen:
                return None
            return self._emit()
        starts: list[float] = []
        parts: list[FloatArray] = []
        for i in range(0, nb, room):  # a long block: never overrun the buffer
            self._append(blocks[:, i : i + room])
            done = self._emit()
            if done is not None:
                starts += done[0]
                parts.append(done[1])
        return (starts, np.concatenate(parts)) if parts else None

    def _append(self, blocks: FloatArray) -> None:
        """Keep block means of the columns in use, shape (hi - lo, nb), in the buffer."""
        nb = blocks.shape[1]
        buf = self._blocks[self._lo : self._hi]
        if self._nblocks == 0:  # before the stream began: its first block mean
            buf[:, : self._window] = blocks[:, :1]
            self._rows = self._window
            self._first = -self._window
        rows = self._rows
        if rows + nb > self._cap:  # keep the last window's worth at the front
            keep = self._window
            buf[:, :keep] = buf[:, rows - keep : rows]
            self._first += rows - keep
            rows = keep
        buf[:, rows : rows + nb] = blocks
        self._rows = rows + nb
        self._nblocks += nb

    def _emit(self) -> tuple[list[float], FloatArray] | None:
        """Features of the windows whose samples are all in and whose blocks are made."""
        firsts: list[int] = []  # the windows' first blocks, as columns of the buffer
        k, hop, win, q = self._k, self._hop_n, self._win_n, self._q
        while True:
            e = k * hop + win  # one past the window's last sample
            if e > self._seen or e // q > self._nblocks:
                break
            firsts.append(e // q - self._first - self._window)
            k += 1
        if not firsts:
            return None
        self._k = k
        starts = [self._starts.popleft() for _ in firsts]
        y = self._windows[:, firsts]  # (columns in use, windows, blocks)
        assert self._groups is not None
        return starts, _features(y, self._layout, self._groups, self.cop_scale)
