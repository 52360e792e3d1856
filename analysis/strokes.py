"""Stroke types per analysis window: ``rest``, ``hold``, ``circular``, ``kneading``.

Each window (default 2 s, every 0.25 s) is described by a few features that a
physiotherapist would recognise, and a small set of transparent rules names the
stroke from them, using what the stream has:

* pressure (any force or pressure stream): contact level, modulation depth
  (how far the pressure falls between compressions), dominant rhythm and how
  periodic the window is;
* centre of pressure (4-channel pads): how many turns the CoP winds around its
  mean, which tells circular strokes from kneading in place;
* acceleration (phones, wearables): motion energy, quadrature of the horizontal
  axes (circles) and vertical pulses (kneading).

Without a pressure channel ``rest`` and ``hold`` cannot be told apart (both keep
the hand still); such windows are labelled ``hold`` when a tremor is present and
``rest`` otherwise, and the confidence says it is a guess.

Examples
--------
>>> import numpy as np
>>> rate_hz = 100.0
>>> t = np.arange(200) / rate_hz
>>> knead = 60 * (0.6 + 0.4 * np.cos(2 * np.pi * 1.0 * t))
>>> classify(window_features(knead, rate_hz)).stroke
'kneading'
>>> classify(window_features(np.full(200, 40.0), rate_hz)).stroke
'hold'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "STROKES",
    "StrokeLabel",
    "StrokeTracker",
    "WindowFeatures",
    "classify",
    "window_features",
]

FloatArray = NDArray[np.float64]

STROKES: Final = ("rest", "hold", "circular", "kneading")
"""Stroke names; their position is the integer code used in arrays."""

CONTACT_KPA: Final = 3.0
"""Below this pressure (kPa) nothing is pressing: ``rest``."""

RHYTHM_BAND_HZ: Final = (0.3, 3.0)
"""Where stroke rhythms live, Hz (kneading 0.4-2 Hz, circles 0.5-1.5 Hz)."""


@dataclass(frozen=True, slots=True)
class WindowFeatures:
    """What one window looks like; NaN where the stream has no such channel.

    Attributes
    ----------
    level_kpa : float
        95th percentile of pressure, kPa (the cycle peaks for rhythmic strokes).
    depth : float
        Modulation depth ``(p95 - p5) / p95``, 0 (flat) to 1 (full release).
    rhythm_hz : float
        Dominant frequency in the stroke band, Hz.
    periodicity : float
        Share of in-band power at the dominant rhythm, 0-1.
    winding_turns : float
        Net turns of the centre of pressure around its mean (signed).
    motion : float
        RMS of the acceleration around its mean (gravity removed), m/s^2.
    quadrature : float
        |sin| of the phase between the two horizontal axes at the rhythm, 0-1.
    vertical_share : float
        Share of rhythmic motion energy on the vertical axis, 0-1.
    """

    level_kpa: float = np.nan
    depth: float = np.nan
    rhythm_hz: float = np.nan
    periodicity: float = np.nan
    winding_turns: float = np.nan
    motion: float = np.nan
    quadrature: float = np.nan
    vertical_share: float = np.nan


@dataclass(frozen=True, slots=True)
class StrokeLabel:
    """A named window: ``start`` and ``end`` in seconds, ``confidence`` 0-1."""

    start: float
    end: float
    stroke: str
    confidence: float


def _dominant(x: FloatArray, rate_hz: float) -> tuple[float, float, complex]:
    """Dominant in-band frequency (Hz), its share of in-band power, and its spectrum bin."""
    n = x.size
    spec = np.fft.rfft((x - x.mean()) * np.hanning(n))
    freqs = np.fft.rfftfreq(n, 1.0 / rate_hz)
    band = (freqs >= RHYTHM_BAND_HZ[0]) & (freqs <= RHYTHM_BAND_HZ[1])
    power = np.abs(spec) ** 2
    if not band.any():
        return np.nan, 0.0, 0j
    inband = np.flatnonzero(band)
    k = int(inband[np.argmax(power[inband])])
    near = power[max(k - 1, 0) : k + 2].sum()
    wide = (freqs >= 0.2) & (freqs <= 5.0)
    total = power[wide].sum()
    return float(freqs[k]), float(near / total) if total > 0 else 0.0, complex(spec[k])


def window_features(
    pressure_kpa: FloatArray | None,
    rate_hz: float,
    cop: FloatArray | None = None,
    accel: FloatArray | None = None,
) -> WindowFeatures:
    """Features of one window.

    Parameters
    ----------
    pressure_kpa : ndarray, shape (n,), kPa, or None
    rate_hz : float
        Sample rate, Hz.
    cop : ndarray, shape (n, 2), or None
        Centre of pressure (any length unit; only its turning counts).
    accel : ndarray, shape (n, 3), m/s^2, or None
        Acceleration with or without gravity; axis 2 is vertical to the pad.
    """
    f: dict[str, float] = {}
    if pressure_kpa is not None:
        p = np.asarray(pressure_kpa, dtype=np.float64)
        p5, p95 = np.percentile(p, [5, 95])
        f["level_kpa"] = float(p95)
        f["depth"] = float((p95 - p5) / p95) if p95 > CONTACT_KPA else 0.0
        f["rhythm_hz"], f["periodicity"], _ = _dominant(p, rate_hz)
    if cop is not None:
        f["winding_turns"] = _winding_turns(cop)
    if accel is not None:
        a = np.asarray(accel, dtype=np.float64)
        motion = a - a.mean(axis=0)
        f["motion"] = float(np.sqrt((motion**2).sum(axis=1).mean()))
        fx, px, sx = _dominant(motion[:, 0], rate_hz)
        fy, py, sy = _dominant(motion[:, 1], rate_hz)
        fz, pz, sz = _dominant(motion[:, 2], rate_hz)
        horizontal = abs(sx) ** 2 + abs(sy) ** 2
        vertical = abs(sz) ** 2
        if horizontal + vertical > 0:
            f["vertical_share"] = vertical / (horizontal + vertical)
        if abs(sx) > 0 and abs(sy) > 0:
            f["quadrature"] = abs(np.sin(np.angle(sx) - np.angle(sy))) * (
                2 * min(abs(sx), abs(sy)) / (abs(sx) + abs(sy))
            )
        if pressure_kpa is None:
            best = int(np.argmax([px, py, pz]))
            f["rhythm_hz"], f["periodicity"] = ((fx, px), (fy, py), (fz, pz))[best]
    return WindowFeatures(**f)


def _winding_turns(cop: FloatArray) -> float:
    """Signed turns of the CoP around its mean; 0 when it barely moves or lacks contact."""
    valid = np.isfinite(cop).all(axis=1)
    if valid.sum() < cop.shape[0] // 2:
        return 0.0
    c = cop[valid]
    centred = c - c.mean(axis=0)
    radius = np.hypot(centred[:, 0], centred[:, 1])
    spread = np.abs(c).max() + 1e-12
    if np.median(radius) < 1e-3 * spread:
        return 0.0
    angle = np.unwrap(np.arctan2(centred[:, 1], centred[:, 0]))
    return float((angle[-1] - angle[0]) / (2 * np.pi))


def _confidence(margin: float) -> float:
    """Map a rule's margin (0 = on the boundary, 1 = far from it) to 0.5-0.99."""
    return float(np.clip(0.5 + 0.49 * np.tanh(2.0 * margin), 0.5, 0.99))


def classify(f: WindowFeatures) -> StrokeLabel:
    """Name the stroke of one window from its features (times left at 0)."""
    if np.isfinite(f.level_kpa):
        return _classify_pressure(f)
    if np.isfinite(f.motion):
        return _classify_motion(f)
    raise ValueError("a window needs pressure or acceleration to be classified")


def _classify_pressure(f: WindowFeatures) -> StrokeLabel:
    if f.level_kpa < CONTACT_KPA:
        return StrokeLabel(0, 0, "rest", _confidence((CONTACT_KPA - f.level_kpa) / CONTACT_KPA))
    rhythmic = f.depth >= 0.12 and f.periodicity >= 0.35
    if not rhythmic:
        margin = max((0.12 - f.depth) / 0.12, (0.35 - f.periodicity) / 0.35)
        return StrokeLabel(0, 0, "hold", _confidence(margin))
    if np.isfinite(f.winding_turns):
        expected = max(f.rhythm_hz, 0.3) * 2.0 * 0.5  # half the cycles in a 2 s window
        turning = abs(f.winding_turns) / expected
        if turning >= 1.0:
            return StrokeLabel(0, 0, "circular", _confidence(turning - 1.0))
        return StrokeLabel(0, 0, "kneading", _confidence(1.0 - turning))
    # one force channel: circles modulate the pressure mildly, kneading releases deeply
    if f.depth >= 0.45:
        return StrokeLabel(0, 0, "kneading", _confidence((f.depth - 0.45) / 0.3))
    return StrokeLabel(0, 0, "circular", _confidence((0.45 - f.depth) / 0.3))


def _classify_motion(f: WindowFeatures) -> StrokeLabel:
    still = 0.15  # m/s^2: below this the hand is not stroking
    if f.motion < still or f.periodicity < 0.3:
        # rest and hold both keep the hand still: a low-confidence guess
        return StrokeLabel(0, 0, "hold" if f.motion > 0.02 else "rest", 0.5)
    if f.quadrature >= 0.5 and f.vertical_share < 0.5:
        return StrokeLabel(0, 0, "circular", _confidence(f.quadrature - 0.5))
    return StrokeLabel(0, 0, "kneading", _confidence(f.vertical_share))


class StrokeTracker:
    """Streaming stroke windows: ``window_s`` long, one every ``hop_s``, aligned on samples.

    Window ``k`` covers samples ``[k * hop, k * hop + window)`` of the stream, so any
    chunking of the stream gives the same windows.

    Parameters
    ----------
    rate_hz : float
        Nominal sample rate, Hz.
    window_s, hop_s : float
        Window length and hop, seconds.
    """

    def __init__(self, rate_hz: float, window_s: float = 2.0, hop_s: float = 0.25) -> None:
        self.rate_hz = rate_hz
        self.window_s = window_s
        self._win_n = max(4, round(window_s * rate_hz))
        self._hop_n = max(1, round(hop_s * rate_hz))
        self._seen = 0  # samples taken in
        self._next = 0  # sample number where the next window starts
        self._start = 0  # sample number of the first buffered sample
        self._buffer: dict[str, NDArray[np.float64]] = {}

    def update(
        self,
        t: FloatArray,
        pressure_kpa: FloatArray | None,
        cop: FloatArray | None = None,
        accel: FloatArray | None = None,
    ) -> list[StrokeLabel]:
        """Take one block (shapes (n,), (n,), (n, 2), (n, 3)); return the windows it completed."""
        parts = {"t": t, "p": pressure_kpa, "cop": cop, "acc": accel}
        for key, value in parts.items():
            if value is None:
                continue
            old = self._buffer.get(key)
            self._buffer[key] = value if old is None else np.concatenate((old, value))
        self._seen += t.size

        labels: list[StrokeLabel] = []
        b = self._buffer
        while self._next + self._win_n <= self._seen:
            a = self._next - self._start
            sl = slice(a, a + self._win_n)
            features = window_features(
                b["p"][sl] if "p" in b else None,
                self.rate_hz,
                cop=b["cop"][sl] if "cop" in b else None,
                accel=b["acc"][sl] if "acc" in b else None,
            )
            label = classify(features)
            start = float(b["t"][a])
            labels.append(StrokeLabel(start, start + self.window_s, label.stroke, label.confidence))
            self._next += self._hop_n
        drop = self._next - self._start
        if drop > 0:
            self._buffer = {k: v[drop:] for k, v in b.items()}
            self._start += drop
        return labels
