"""Pulse check: an arterial pulse under the hand during a hold.

Holding deep in the abdomen (psoas, iliacus), a hand can come to rest on a large artery:
the abdominal aorta or the iliac and femoral arteries. The pad then feels the pulse, a
small, steady rhythm at heart rate riding on the held pressure, and the person should
move a little off it. :class:`PulseDetector` watches the pressure for that rhythm and
raises a :attr:`~analysis.stream.EventKind.PULSE` event when it appears and when it goes.

Method
------
The pressure is decimated to about ``decimate_hz`` (50 Hz) by block means, a partial
block carried to the next call. Every ``hop_s`` (0.5 s) the last ``window_s`` (6 s) of
decimated pressure is analysed:

1. **Contact.** The window's mean level must reach ``min_level_kpa`` (10 kPa).
2. **Trend.** A least-squares cubic spline with knots ``knot_s`` (1.5 s) apart is taken
   as the trend and removed: it follows press-in and release ramps, where they start and
   stop, slow drift and most of breathing (0.2-0.3 Hz), and leaves 0.8 Hz and up intact.
3. **Hold-ness.** What is left above 0.6 Hz must stay under ``max_modulation_frac``
   (3 %) of the level, as a standard deviation: kneading and circular strokes swing by
   20-90 % of the level; tremor, a pulse and what breathing leaves stay within 1-2 %.
4. **Rate.** The residual is tapered (Hann), zero-padded and transformed. The heart rate
   ``f0`` is the bin in ``band_hz`` (0.8-2 Hz, 48-120 bpm) with the most power summed at
   its first ``harmonics`` (3) multiples, which must be a local maximum (so a pulse rich
   in harmonics is never taken at twice its rate, and the falling skirt of breathing is
   no peak), refined by Gaussian interpolation at the fundamental and its harmonics.
   Tremor (8-12 Hz) lies above the band and its harmonics.
5. **Sharpness.** The power at ``f0`` over the noise floor, the median power of
   0.6-``floor_hi_hz`` Hz away from every harmonic of ``f0``, must reach
   ``min_peak_ratio`` (20).
6. **Size.** The peak-to-peak amplitude of the periodic component, rebuilt from the
   complex amplitudes at its harmonics, must be ``min_rel_amplitude``-``max_rel_amplitude``
   (0.3-6 %) of the level and at least ``min_amplitude_kpa`` (0.08 kPa, above sensor
   noise).
7. **Steadiness.** The energy at the harmonics relative to the level, measured in each
   half of the window (less the noise expected from the floor), must be at least
   ``min_steadiness`` (0.4) as large in the weaker half as in the stronger. A pulse keeps
   its size; the ringing a ramp leaves where it starts or stops is brief.

A window passing all seven is *positive*. ``on_count`` (4) consecutive positives, each
rate within ``steady_bpm`` (8 bpm) of the one before, switch the pulse on: about 7 s
after a hold becomes steady. While on, a window stays positive with the size tests,
``stay_ratio_frac`` of the peak ratio and a rate within ``steady_bpm`` of the pulse's
(hysteresis); ``off_count`` (3) negatives in a row switch it off, and losing contact
(the last hop's mean below ``min_level_kpa``) switches it off at once.

Windows are aligned on decimated samples counted from the start of the stream and each
analysis copies its window into one fixed buffer, so any chunking of a stream gives the
same events, bit for bit. Per block the cost is a few array operations (no analysis due)
plus one analysis per hop; there are no per-sample Python loops.

Examples
--------
>>> import numpy as np
>>> rate_hz = 100.0
>>> t = np.arange(round(20 * rate_hz)) / rate_hz
>>> beat = np.exp(-(((t * 72 / 60) % 1.0 - 0.5) / 0.06) ** 2)    # 72 bpm, spiky
>>> p = 40.0 * (1.0 + 0.02 * (beat - beat.mean()))                 # 2 % of a 40 kPa hold
>>> detector = PulseDetector(rate_hz)
>>> events = detector.update(t, p)
>>> on = events[0]
>>> on.data["on"], round(on.data["bpm"]), bool(on.t < 10.0)
(True, 72, True)
>>> [e.data["on"] for e in detector.update(t[-1] + 0.01 + t, np.zeros_like(t))]
[False]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import BSpline

from analysis.stream import Event, EventKind

__all__ = ["PULSE_REASON", "PulseConfig", "PulseDetector", "PulseState", "WindowAnalysis"]

FloatArray = NDArray[np.float64]

PULSE_REASON: Final = "pulse under your hand: move a little off it"
"""The ``reason`` of a pulse-on event, shown to the person."""

_FLOOR_LO_HZ: Final = 0.6  # noise floor measured from here (above breathing)
_SYNTH_POINTS: Final = 32  # phase points per period to rebuild the pulse wave
_NAN: Final = float("nan")
_TINY: Final = 1e-300  # keeps log() finite on an all-zero spectrum


def _spline_basis(n: int, rate_hz: float, knot_s: float) -> FloatArray:
    """Cubic B-splines over ``n`` samples at ``rate_hz`` with knots about ``knot_s``
    apart: shape (n, intervals + 3)."""
    span_s = n / rate_hz
    inner = np.linspace(0.0, span_s, max(1, round(span_s / knot_s)) + 1)
    knots = np.concatenate(([0.0] * 3, inner, [span_s] * 3))
    x = np.minimum((np.arange(n) + 0.5) / rate_hz, np.nextafter(span_s, 0.0))
    basis: FloatArray = BSpline.design_matrix(x, knots, 3).toarray()
    return basis


def _round(x: float, digits: int) -> float:
    return round(float(x), digits)


def _peak(power: list[float], centre: int, reach: int) -> tuple[float, float]:
    """The largest bin within ``reach`` (1 or 2) of ``centre``: its position in bins,
    refined by Gaussian interpolation (a parabola through the logs of it and its
    neighbours), and its height."""
    centre = min(max(centre, 2), len(power) - 3)
    near = power[centre - 2 : centre + 3]
    inner = near[2 - reach : 3 + reach]
    j = max(1, min(3, 2 - reach + inner.index(max(inner))))
    a = math.log(near[j - 1] + _TINY)
    b = math.log(near[j] + _TINY)
    c = math.log(near[j + 1] + _TINY)
    denom = a - 2.0 * b + c
    shift = min(0.5, max(-0.5, 0.5 * (a - c) / denom)) if denom < 0 else 0.0
    return centre + j - 2 + shift, near[j]


@dataclass(frozen=True, slots=True)
class PulseConfig:
    """What counts as a pulse under the hand.

    Parameters
    ----------
    band_hz : tuple of float
        Heart-rate band, Hz (0.8-2.0 Hz is 48-120 bpm).
    window_s : float
        Length of each analysed window, seconds; longer separates the pulse from
        breathing and noise better but reacts later.
    hop_s : float
        Time between analyses, seconds.
    decimate_hz : float
        Rate the pressure is reduced to (block means) before analysis, Hz; the actual
        rate is ``rate_hz / round(rate_hz / decimate_hz)``.
    knot_s : float
        Knot spacing of the cubic spline taken as each window's trend, seconds: it
        follows ramps, their starts and ends, drift and most of breathing (below about
        ``0.4 / knot_s`` Hz) and leaves the heart-rate band.
    min_level_kpa : float
        Mean pressure of a window (and of the last hop, to stay on) for contact, kPa.
    max_modulation_frac : float
        Hold-ness: largest standard deviation of the detrended window above 0.6 Hz, as a
        fraction of the level; rhythmic strokes swing more.
    min_steadiness : float
        Steadiness: the pulse's energy relative to the level in the weaker half of the
        window over that in the stronger half (0-1). A pulse stays the same size; the
        ringing a ramp leaves when it starts or stops is short-lived.
    min_rel_amplitude, max_rel_amplitude : float
        Peak-to-peak pulse amplitude as a fraction of the level: a felt pulse is small.
    min_amplitude_kpa : float
        Smallest peak-to-peak pulse amplitude, kPa (above sensor noise).
    min_peak_ratio : float
        Power at the heart rate over the median power of the noise floor.
    harmonics : int
        Harmonics summed to find the heart rate and rebuild the pulse wave (1-8).
    floor_hi_hz : float
        Upper end of the noise-floor band, Hz (kept below tremor at 8-12 Hz).
    stay_ratio_frac : float
        Hysteresis: while a pulse is on, a window at its rate (within ``steady_bpm``)
        stays positive with ``stay_ratio_frac × min_peak_ratio`` (0-1).
    steady_bpm : float
        Largest change of the rate between consecutive positive windows, bpm.
    on_count, off_count : int
        Consecutive positive (negative) windows that switch the pulse on (off).
    """

    band_hz: tuple[float, float] = (0.8, 2.0)
    window_s: float = 6.0
    hop_s: float = 0.5
    decimate_hz: float = 50.0
    knot_s: float = 1.5
    min_level_kpa: float = 10.0
    max_modulation_frac: float = 0.03
    min_steadiness: float = 0.4
    min_rel_amplitude: float = 0.003
    max_rel_amplitude: float = 0.06
    min_amplitude_kpa: float = 0.08
    min_peak_ratio: float = 20.0
    harmonics: int = 3
    floor_hi_hz: float = 7.0
    stay_ratio_frac: float = 0.5
    steady_bpm: float = 8.0
    on_count: int = 4
    off_count: int = 3

    def __post_init__(self) -> None:
        positive = (
            "window_s",
            "hop_s",
            "decimate_hz",
            "knot_s",
            "min_level_kpa",
            "max_modulation_frac",
            "min_rel_amplitude",
            "max_rel_amplitude",
            "min_amplitude_kpa",
            "min_peak_ratio",
            "floor_hi_hz",
            "steady_bpm",
        )
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"PulseConfig.{name} must be a number, got {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"PulseConfig.{name} must be a positive number, got {value!r}")
        band = tuple(self.band_hz)
        if (
            len(band) != 2
            or not all(isinstance(f, int | float) and math.isfinite(f) for f in band)
            or not 0.3 <= band[0] < band[1] <= 4.0
        ):
            raise ValueError(
                f"PulseConfig.band_hz must be (low, high) Hz with 0.3 <= low < high <= 4, "
                f"got {self.band_hz!r}"
            )
        object.__setattr__(self, "band_hz", (float(band[0]), float(band[1])))
        if self.hop_s > self.window_s:
            raise ValueError(
                f"PulseConfig: hop_s ({self.hop_s:g} s) must not exceed window_s "
                f"({self.window_s:g} s)"
            )
        if self.window_s * band[0] < 3.0:
            raise ValueError(
                f"PulseConfig.window_s ({self.window_s:g} s) must hold at least 3 cycles of "
                f"the lowest rate ({band[0]:g} Hz), so at least {3.0 / band[0]:g} s"
            )
        if self.knot_s * band[0] < 0.8:
            raise ValueError(
                f"PulseConfig.knot_s ({self.knot_s:g} s) would let the trend follow the pulse "
                f"at {band[0]:g} Hz; use at least {0.8 / band[0]:g} s"
            )
        if self.min_rel_amplitude >= self.max_rel_amplitude:
            raise ValueError(
                "PulseConfig: min_rel_amplitude must be below max_rel_amplitude, got "
                f"{self.min_rel_amplitude:g} and {self.max_rel_amplitude:g}"
            )
        if self.floor_hi_hz <= band[1]:
            raise ValueError(
                f"PulseConfig.floor_hi_hz ({self.floor_hi_hz:g} Hz) must lie above the band "
                f"({band[1]:g} Hz)"
            )
        if not 0 <= self.min_steadiness <= 1:
            raise ValueError(
                f"PulseConfig.min_steadiness must be in [0, 1], got {self.min_steadiness!r}"
            )
        if not 0 < self.stay_ratio_frac <= 1:
            raise ValueError(
                f"PulseConfig.stay_ratio_frac must be in (0, 1], got {self.stay_ratio_frac!r}"
            )
        for name in ("harmonics", "on_count", "off_count"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"PulseConfig.{name} must be an int >= 1, got {value!r}")
        if self.harmonics > 8:
            raise ValueError(f"PulseConfig.harmonics must be 1-8, got {self.harmonics}")


@dataclass(frozen=True, slots=True)
class PulseState:
    """Whether a pulse is felt now.

    Parameters
    ----------
    on : bool
        A pulse is under the hand.
    bpm : float or None
        Its rate, beats per minute (None while off).
    amplitude_kpa : float or None
        Its peak-to-peak amplitude, kPa (None while off).
    """

    on: bool = False
    bpm: float | None = None
    amplitude_kpa: float | None = None


@dataclass(frozen=True, slots=True)
class WindowAnalysis:
    """What one analysis window showed (for tuning and tests).

    Parameters
    ----------
    level_kpa : float
        Mean pressure of the window, kPa.
    modulation_frac : float
        Standard deviation of the detrended window over the level.
    bpm : float
        Strongest heart-rate candidate, beats per minute (NaN without contact).
    peak_ratio : float
        Power at ``bpm`` over the noise floor.
    amplitude_kpa : float
        Peak-to-peak amplitude of the periodic component at ``bpm``, kPa.
    steadiness : float
        Relative pulse energy of the weaker half of the window over the stronger (0-1).
    gates : bool
        Contact, hold-ness, an in-band peak, ``stay_ratio_frac`` of the peak ratio and the
        size tests passed: enough to keep a pulse already felt.
    positive : bool
        ``gates``, the full peak ratio and steadiness: a new pulse in this window.

    Measures the analysis did not need are NaN: all but the level without contact,
    all but the level and modulation in a stroke (modulation over the hold limit),
    amplitude and steadiness when an earlier test already failed, steadiness when the
    window is not sharp enough to start a pulse.
    """

    level_kpa: float
    modulation_frac: float
    bpm: float
    peak_ratio: float
    amplitude_kpa: float
    steadiness: float
    gates: bool
    positive: bool


class PulseDetector:
    """Streaming pulse check on the pressure of one stream.

    Parameters
    ----------
    rate_hz : float
        Nominal sample rate of the stream, Hz; at least 2.1 × ``harmonics`` × the top
        of the band (12.6 Hz by default). It is never decimated below that.
    config : PulseConfig, optional
        Band, window, thresholds and counts.

    Attributes
    ----------
    decimated_hz : float
        Rate the analysis runs at, Hz (``rate_hz`` over a whole number).
    last : WindowAnalysis or None
        What the latest analysis window showed.

    Raises
    ------
    ValueError
        When ``rate_hz`` is not a positive number or too slow for the band.
    """

    def __init__(self, rate_hz: float, config: PulseConfig | None = None) -> None:
        self.config = config = config or PulseConfig()
        if isinstance(rate_hz, bool) or not (
            isinstance(rate_hz, int | float) and math.isfinite(rate_hz) and rate_hz > 0
        ):
            raise ValueError(f"rate_hz must be a positive number, got {rate_hz!r}")
        lo_hz, hi_hz = config.band_hz
        k = config.harmonics
        need_hz = 2.1 * k * hi_hz  # the top harmonic of the fastest pulse below Nyquist
        if rate_hz < need_hz:
            raise ValueError(
                f"rate_hz {rate_hz:g} Hz is too slow for a pulse check: {k} harmonics of "
                f"{hi_hz:g} Hz need >= {need_hz:g} Hz (or lower PulseConfig.harmonics)"
            )
        self.rate_hz = float(rate_hz)
        self._q = q = max(1, min(round(rate_hz / config.decimate_hz), int(rate_hz // need_hz)))
        self.decimated_hz = fs = rate_hz / q
        self._win_n = win_n = max(8, round(config.window_s * fs))
        self._hop_n = max(1, round(config.hop_s * fs))

        # trend: a least-squares cubic spline, residual = x - basis @ (pinv @ x)
        basis = _spline_basis(win_n, fs, config.knot_s)
        self._pinv = np.ascontiguousarray(np.linalg.pinv(basis))
        self._basis = np.ascontiguousarray(basis)
        self._taper = np.hanning(win_n + 2)[1:-1]
        self._taper_sum = float(self._taper.sum())
        self._nfft = nfft = max(256, 1 << math.ceil(math.log2(1.5 * win_n)))
        # the halves of the window, for steadiness, tapered and transformed alike
        self._half = half = win_n // 2
        self._half_taper = np.hanning(half + 2)[1:-1]
        # noise energy of a half at the harmonics per unit of the whole window's median
        # noise power (an exponential's median is ln 2 times its mean)
        self._half_noise = (
            k * float((self._half_taper**2).sum()) / float((self._taper**2).sum()) / math.log(2.0)
        )
        df = fs / nfft
        # candidates for f0, one bin either side for the local-maximum test
        c_lo = max(2, math.floor(lo_hz / df))
        c_hi = math.ceil(hi_hz / df)
        self._c0 = c_lo - 1  # candidate bins c0 .. c1 - 1
        self._c1 = c_hi + 2
        # power bins the rate is found from: the candidates' harmonics, and _peak around
        # k × (a bin below c1 + 1.5) for k up to harmonics
        self._leading_bins = min(nfft // 2 + 1, k * (self._c1 + 2) + 4)
        floor_hi = min(config.floor_hi_hz, 0.8 * fs / 2.0)
        self._floor_lo = math.ceil(_FLOOR_LO_HZ / df)  # floor bins floor_lo .. floor_hi - 1
        self._floor_hi = math.floor(floor_hi / df) + 1
        self._floor_bins = np.arange(self._floor_lo, self._floor_hi, dtype=np.float64)
        self._df = df
        self._lobe_bins = 2.0 * nfft / win_n  # Hann main-lobe half-width
        # variance of the detrended window above breathing, from its one-sided spectrum
        self._hi_from = math.ceil(_FLOOR_LO_HZ / df)
        self._var_scale = 2.0 / (nfft * float((self._taper**2).sum()))
        # one period of the harmonics: wave = synth @ [re c1, im c1, re c2, im c2, ...]
        angle = (
            2.0 * np.pi * np.outer(np.arange(_SYNTH_POINTS) / _SYNTH_POINTS, np.arange(1, k + 1))
        )
        synth = np.empty((_SYNTH_POINTS, 2 * k))
        synth[:, 0::2] = np.cos(angle)
        synth[:, 1::2] = -np.sin(angle)
        self._synth = synth * (2.0 / self._taper_sum)
        self._work = np.empty(win_n)  # fixed buffer: identical arithmetic for every chunking

        # streaming state
        self._carry_p = np.empty(q)  # raw samples of the unfinished decimation block
        self._carry_t = np.empty(q)
        self._n_carry = 0
        capacity = win_n + 4 * self._hop_n
        self._dec = np.empty(capacity)  # decimated pressure, kPa, from sample self._start
        self._dec_t = np.empty(capacity)  # time of the last raw sample of each block, s
        self._n_dec = 0  # valid entries of self._dec
        self._start = 0  # decimated sample number of self._dec[0]
        self._next_end = win_n  # decimated sample number where the next window ends
        self._run: list[float] = []  # rates of the current run of positive windows
        self._negatives = 0
        self._state = PulseState()
        self.last: WindowAnalysis | None = None

    # -- public API -----------------------------------------------------------------------------

    @property
    def state(self) -> PulseState:
        """Whether a pulse is felt after the last analysed window, its rate and size."""
        return self._state

    def samples_due(self) -> int:
        """Samples still to come before the next window can be analysed (0: now).

        Until then :meth:`update` only gathers samples, so a caller may gather them
        itself and hand them over in one piece: the events are the same.
        """
        need = (self._next_end - self._start - self._n_dec) * self._q - self._n_carry
        return max(0, need)

    def update(self, t: FloatArray, pressure_kpa: FloatArray) -> list[Event]:
        """Take one block of pressure; return the pulse events it completed.

        Parameters
        ----------
        t : ndarray, shape (n,), seconds
            Sample times (session clock).
        pressure_kpa : ndarray, shape (n,), kPa
            Pressure; a window holding a NaN or infinite sample counts as no contact.

        Returns
        -------
        list of Event
            :attr:`~analysis.stream.EventKind.PULSE` events in time order, data
            ``{"on": True, "bpm", "amplitude_kpa", "reason"}`` when a pulse appears and
            ``{"on": False, "bpm", "amplitude_kpa", "reason"}`` when it goes (the
            rate and size it had).
        """
        q = self._q
        p = np.asarray(pressure_kpa, dtype=np.float64)  # no copy for float64 input
        tt = np.asarray(t, dtype=np.float64)
        n = p.shape[0]
        if tt.shape[0] != n:
            raise ValueError(f"update got {tt.shape[0]} times but {n} pressure samples")
        n_carry = self._n_carry
        if n_carry + n < q:  # no block completes: keep the samples for the next call
            self._carry_p[n_carry : n_carry + n] = p
            self._carry_t[n_carry : n_carry + n] = tt
            self._n_carry = n_carry + n
            return []
        if n_carry:  # complete the carried block first
            head = q - n_carry
            self._carry_p[n_carry:] = p[:head]
            self._carry_t[n_carry:] = tt[:head]
            self._append(
                np.add.reduce(self._carry_p.reshape(1, q), axis=1) / q, tt[head - 1 : head]
            )
            p, tt = p[head:], tt[head:]
        m = p.shape[0] // q
        used = m * q
        if m:
            means = np.add.reduce(p[:used].reshape(m, q), axis=1) / q if q > 1 else p[:used]
            self._append(means, tt[q - 1 : used : q])
        self._n_carry = rest = p.shape[0] - used
        self._carry_p[:rest] = p[used:]
        self._carry_t[:rest] = tt[used:]

        events: list[Event] = []
        while self._next_end <= self._start + self._n_dec:
            event = self._analyse_next()
            if event is not None:
                events.append(event)
            self._next_end += self._hop_n
        return events

    def analyse(self, window_kpa: FloatArray, *, onset: bool = True) -> WindowAnalysis:
        """Analyse one window of decimated pressure (steps 1-7 of the module docs).

        Parameters
        ----------
        window_kpa : ndarray, shape (window,), kPa
            ``window = round(window_s × decimated_hz)`` decimated samples.
        onset : bool
            Judge whether a new pulse starts here (measures steadiness); False while a
            pulse is already on, which needs only ``gates``.

        Returns
        -------
        WindowAnalysis
            The window's measures and whether it shows a pulse.
        """
        cfg = self.config
        x = self._work
        x[:] = window_kpa
        level = float(np.add.reduce(x)) / x.shape[0]
        if not (cfg.min_level_kpa <= level < math.inf):  # NaN or inf: no usable contact
            return WindowAnalysis(level, _NAN, _NAN, _NAN, _NAN, _NAN, False, False)
        resid = x - self._basis @ (self._pinv @ x)
        spectrum = np.fft.rfft(resid * self._taper, self._nfft)
        power = (spectrum * spectrum.conj()).real
        modulation = math.sqrt(float(power[self._hi_from :].sum()) * self._var_scale) / level
        if not modulation <= cfg.max_modulation_frac:  # a stroke, not a hold: no pulse to find
            return WindowAnalysis(level, modulation, _NAN, _NAN, _NAN, _NAN, False, False)

        # heart rate: the candidate with the most power at its harmonics, then refined from
        # the harmonic peaks (Gaussian interpolation; harmonic k weighted by power × k²)
        c0, c1 = self._c0, self._c1
        leading: list[float] = power[: self._leading_bins].tolist()
        score = leading[c0:c1]
        for k in range(2, cfg.harmonics + 1):
            harmonic = leading[k * c0 : k * (c1 - 1) + 1 : k]
            score = [s + h for s, h in zip(score, harmonic, strict=True)]
        inner = score[1:-1]
        i = inner.index(max(inner)) + 1  # the first largest, as np.argmax
        local_max = score[i] > score[i - 1] and score[i] >= score[i + 1]
        peak = leading[c0 + i]
        f0 = self._refine(leading, (c0 + i) * self._df)

        # sharpness: power at f0 over the floor away from its harmonics
        away = power[self._floor_lo : self._floor_hi][self._away_mask(f0)]
        half = away.shape[0] // 2
        floor = float(np.partition(away, half)[half]) if half >= 2 else math.inf
        ratio = peak / floor if floor > 0 else math.inf

        lo_hz, hi_hz = cfg.band_hz
        if not (
            local_max
            and lo_hz - self._df <= f0 <= hi_hz + self._df  # a bin of slack at the edges
            and ratio >= cfg.stay_ratio_frac * cfg.min_peak_ratio
        ):  # no pulse here: skip the rest
            return WindowAnalysis(level, modulation, 60.0 * f0, ratio, _NAN, _NAN, False, False)

        # the periodic component rebuilt from its harmonics: peak-to-peak amplitude
        step = f0 / self._df
        bins = [round(k * step) for k in range(1, cfg.harmonics + 1)]
        wave = self._synth @ spectrum[bins].view(np.float64)
        amplitude = float(wave.max() - wave.min())
        gates = bool(
            amplitude >= cfg.min_amplitude_kpa
            and cfg.min_rel_amplitude * level <= amplitude <= cfg.max_rel_amplitude * level
        )
        steadiness = _NAN  # only a new pulse needs it
        if onset and gates and ratio >= cfg.min_peak_ratio:
            noise = floor if math.isfinite(floor) else 0.0
            steadiness = self._steadiness(x, resid, bins, noise)
        positive = gates and ratio >= cfg.min_peak_ratio and steadiness >= cfg.min_steadiness
        return WindowAnalysis(
            level, modulation, 60.0 * f0, ratio, amplitude, steadiness, gates, positive
        )

    # -- internals ------------------------------------------------------------------------------

    def _away_mask(self, f0: float) -> NDArray[np.bool_]:
        """Which noise-floor bins lie more than a main lobe from every harmonic of ``f0``."""
        step = f0 / self._df
        bins = self._floor_bins
        mask: NDArray[np.bool_] = np.abs(bins - step * np.rint(bins / step)) > self._lobe_bins
        return mask

    def _steadiness(self, x: FloatArray, resid: FloatArray, bins: list[int], floor: float) -> float:
        """Energy at the harmonic ``bins`` over the level squared, in the weaker half of the
        window over the stronger half (0-1), less the noise expected from ``floor`` (the
        median power of the whole window's noise floor)."""
        n = self._half
        halves = resid[: 2 * n].reshape(2, n) * self._half_taper
        at: list[list[complex]] = np.fft.rfft(halves, self._nfft)[:, bins].tolist()
        noise = floor * self._half_noise
        relative = []
        for row, part in zip(at, (x[:n], x[n : 2 * n]), strict=True):
            energy = sum(c.real * c.real + c.imag * c.imag for c in row) - noise
            level = float(np.add.reduce(part))
            relative.append(max(0.0, energy) / (level * level))
        top = max(relative)
        return min(relative) / top if top > 0 else 0.0

    def _refine(self, leading: list[float], f0: float) -> float:
        """Heart rate (Hz) from the spectral peaks at the harmonics of the coarse ``f0``.

        The fundamental's peak ``f1`` is the largest bin within one of ``f0``; each
        harmonic's peak is the largest bin within two of ``k × f1``; all placed by
        Gaussian interpolation. Harmonic ``k`` gives ``f_k / k`` with weight
        ``power × k²`` (its error shrinks as 1/k). ``leading`` holds the leading bins of
        the power spectrum.
        """
        bin1, height1 = _peak(leading, round(f0 / self._df), 1)
        total, weight_sum = bin1 * height1, height1  # in bins
        for k in range(2, self.config.harmonics + 1):
            bin_k, height = _peak(leading, round(k * bin1), 2)
            total += bin_k / k * height * k * k
            weight_sum += height * k * k
        return (total / weight_sum if weight_sum > 0 else bin1) * self._df

    def _append(self, means: FloatArray, ends: FloatArray) -> None:
        """Add decimated samples and their times, dropping those no window needs."""
        m, n_dec = means.shape[0], self._n_dec
        if n_dec + m > self._dec.shape[0]:
            drop = max(0, self._next_end - self._win_n - self._start)
            keep = n_dec - drop
            if keep + m > self._dec.shape[0]:  # a long block: grow
                size = keep + m + self._win_n
                self._dec = np.concatenate((self._dec[drop:n_dec], np.empty(size - keep)))
                self._dec_t = np.concatenate((self._dec_t[drop:n_dec], np.empty(size - keep)))
            else:
                self._dec[:keep] = self._dec[drop:n_dec]
                self._dec_t[:keep] = self._dec_t[drop:n_dec]
            self._start += drop
            n_dec = keep
        self._dec[n_dec : n_dec + m] = means
        self._dec_t[n_dec : n_dec + m] = ends
        self._n_dec = n_dec + m

    def _analyse_next(self) -> Event | None:
        cfg = self.config
        end = self._next_end - self._start
        window = self._dec[end - self._win_n : end]
        t_end = float(self._dec_t[end - 1])
        result = self.analyse(window, onset=not self._state.on)
        self.last = result
        state = self._state
        if state.on:
            stays = (
                result.gates
                and state.bpm is not None
                and abs(result.bpm - state.bpm) <= cfg.steady_bpm
            )
            recent = window[-self._hop_n :]
            touching = float(np.add.reduce(recent)) / recent.shape[0] >= cfg.min_level_kpa
            if stays and touching:
                self._negatives = 0
                self._state = PulseState(
                    True, _round(result.bpm, 1), _round(result.amplitude_kpa, 3)
                )
                return None
            self._negatives += 1
            if self._negatives >= cfg.off_count or not touching:
                self._state = PulseState()
                self._negatives = 0
                self._run = []
                return self._event(t_end, state, on=False)
            return None
        if not result.positive:
            self._run = []
            return None
        if self._run and abs(result.bpm - self._run[-1]) > cfg.steady_bpm:
            self._run = []
        self._run.append(result.bpm)
        if len(self._run) < cfg.on_count:
            return None
        bpm = float(np.median(self._run[-cfg.on_count :]))
        self._state = PulseState(True, _round(bpm, 1), _round(result.amplitude_kpa, 3))
        self._run = []
        return self._event(t_end, self._state)

    def _event(self, t: float, state: PulseState, on: bool = True) -> Event:
        reason = PULSE_REASON if on else "pulse no longer felt"
        return Event(
            t,
            EventKind.PULSE,
            {"on": on, "bpm": state.bpm, "amplitude_kpa": state.amplitude_kpa, "reason": reason},
        )
