"""The calibration stored on the pad: ADC counts to force counts by lookup tables.

The file is ``calibration.json`` on the pad's flash, exactly what
``analysis.calibration.DeviceCalibration.to_dict()`` writes (one calibration per
force channel; ``hardware/README.md`` shows how to fit and copy it). At boot each
channel's model is evaluated once for every ADC reading (4096 of them for a 12-bit
ADC) into an ``array('h')`` of force counts (0.01 N), so the timer converts a
reading with one index instead of a power and a division at 1 kHz.

The models follow ``analysis/calibration.py`` formula for formula:

- ``linear``: ``F = gain * (raw - offset)``;
- ``power_law``: the FSR conductance from the divider, ``G = u / ((1 - u) R)`` with
  ``u`` the fraction of the way from the open level to the rail (held half a count
  short of the rail), and ``F = a * G**b`` above the contact threshold, 0 below;
- ``table``: piecewise linear, held at the low-force end and extended along the last
  segment beyond the high-force end.

``hysteresis`` calibrations need the force history, which the table cannot hold:
the pad refuses them and streams raw counts, and palpate applies them instead.
"""

import json
import math

try:
    from array import array
except ImportError:  # pragma: no cover - MicroPython ports without array are not targets
    array = None

FORMAT_VERSION = 1
FILE_NAME = "calibration.json"


class CalibrationError(ValueError):
    """The stored calibration cannot be used (the message says why)."""


def _round(x):
    return int(math.floor(x + 0.5))


def _number(d, key, what):
    if key not in d:
        raise CalibrationError("%s: missing %r" % (what, key))
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise CalibrationError("%s: %r must be a number" % (what, key))
    return float(v)


def _linear(d, what):
    gain = _number(d, "gain_n_per_unit", what)
    offset = _number(d, "offset_units", what)

    def force(raw):
        return gain * (raw - offset)

    return force


def _power_law(d, what, adc_max):
    a = _number(d, "a", what)
    b = _number(d, "b", what)
    contact = _number(d, "contact_conductance_us", what)
    div = d.get("divider")
    if not isinstance(div, dict):
        raise CalibrationError("%s: missing 'divider'" % what)
    r_ohm = _number(div, "r_fixed_ohm", what + " divider")
    div_max = _number(div, "adc_max", what + " divider")
    if div_max != adc_max:
        raise CalibrationError(
            "%s: fitted for a %d-count ADC, this pad reads 0-%d" % (what, div_max, adc_max)
        )
    high = bool(div.get("fsr_on_high_side", False))
    open_counts = div.get("open_counts")
    open_level = float(open_counts) if open_counts is not None else (0.0 if high else adc_max)
    rail = float(adc_max) if high else 0.0
    span = rail - open_level
    if span == 0 or a <= 0 or b <= 0 or r_ohm <= 0:
        raise CalibrationError("%s: a, b and the divider must give a usable curve" % what)
    u_max = 1.0 - 0.5 / abs(span)

    def force(raw):
        u = (raw - open_level) / span
        if u < 0.0:
            u = 0.0
        elif u > u_max:
            u = u_max
        g_us = 1e6 * u / ((1.0 - u) * r_ohm)
        if g_us <= contact:
            return 0.0
        return a * g_us**b

    return force


def _table(d, what):
    xs = d.get("raw_points")
    fs = d.get("force_points")
    if not isinstance(xs, list) or not isinstance(fs, list) or len(xs) != len(fs) or len(xs) < 2:
        raise CalibrationError("%s: needs raw_points and force_points of one length >= 2" % what)
    xs = [float(v) for v in xs]
    fs = [float(v) for v in fs]
    increasing = fs[-1] > fs[0]

    def force(raw):
        if raw <= xs[0]:
            if increasing:
                return fs[0]
            return fs[0] + (fs[1] - fs[0]) / (xs[1] - xs[0]) * (raw - xs[0])
        if raw >= xs[-1]:
            if not increasing:
                return fs[-1]
            return fs[-1] + (fs[-1] - fs[-2]) / (xs[-1] - xs[-2]) * (raw - xs[-1])
        i = 1
        while xs[i] < raw:
            i += 1
        x0, x1, f0, f1 = xs[i - 1], xs[i], fs[i - 1], fs[i]
        return f0 + (f1 - f0) * (raw - x0) / (x1 - x0)

    return force


def channel_function(data, adc_max, what="channel"):
    """Force (N) of a raw reading, for one channel's ``to_dict()`` calibration."""
    if not isinstance(data, dict):
        raise CalibrationError("%s: not a calibration" % what)
    if data.get("version") != FORMAT_VERSION:
        raise CalibrationError("%s: version %r, this firmware reads 1" % (what, data.get("version")))
    model = data.get("model")
    if model == "linear":
        return _linear(data, what)
    if model == "power_law":
        return _power_law(data, what, adc_max)
    if model == "table":
        return _table(data, what)
    if model == "hysteresis":
        raise CalibrationError(
            "%s: a hysteresis calibration needs the force history; keep it in palpate "
            "and let the pad send raw counts" % what
        )
    raise CalibrationError("%s: unknown model %r" % (what, model))


def build_table(force_of, adc_max, lsb_n):
    """``array('h')`` of ``adc_max + 1`` force counts (``lsb_n`` newtons each)."""
    table = array("h", bytes(2 * (int(adc_max) + 1)))
    scale = 1.0 / lsb_n
    for raw in range(int(adc_max) + 1):
        v = _round(force_of(float(raw)) * scale)
        table[raw] = 32767 if v > 32767 else (-32768 if v < -32768 else v)
    return table


class Calibration:
    """The pad's stored calibration: one lookup table per force channel.

    Parameters
    ----------
    text : str
        The JSON of a ``DeviceCalibration``.
    n_force : int
        Force channels the pad has; the calibration must have as many.
    adc_max : int
        Largest ADC reading (4095 for 12 bits).
    lsb_n : float
        Newtons per force count sent (``protocol.FORCE_LSB_N``).
    """

    def __init__(self, text, n_force, adc_max=4095, lsb_n=0.01):
        try:
            data = json.loads(text)
        except ValueError:
            raise CalibrationError("calibration.json is not valid JSON")
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            raise CalibrationError("calibration.json is not a version-1 DeviceCalibration")
        channels = data.get("channels")
        if not isinstance(channels, list) or len(channels) != n_force:
            raise CalibrationError(
                "calibration.json has %s channels, this pad has %d"
                % (len(channels) if isinstance(channels, list) else "no", n_force)
            )
        self.device_id = str(data.get("device_id", ""))
        self.created_unix = int(_number(data, "created_unix", "calibration.json"))
        self.tables = [
            build_table(channel_function(c, adc_max, "channel %d" % (i + 1)), adc_max, lsb_n)
            for i, c in enumerate(channels)
        ]
        self.adc_max = int(adc_max)

    def convert(self, raw, out):
        """Force counts of the raw readings ``raw[:n]`` into ``out[:n]``."""
        top = self.adc_max
        for i in range(len(self.tables)):
            r = raw[i]
            out[i] = self.tables[i][0 if r < 0 else (top if r > top else r)]


def load(storage_read, n_force, adc_max=4095, lsb_n=0.01):
    """``(Calibration or None, problem or None)`` from the pad's storage.

    ``storage_read(name)`` returns the file's text or None when there is none.
    """
    text = storage_read(FILE_NAME)
    if text is None:
        return None, None
    try:
        return Calibration(text, n_force, adc_max, lsb_n), None
    except CalibrationError as err:
        return None, str(err)
