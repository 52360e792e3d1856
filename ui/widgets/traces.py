"""The time plots: pressure with zone bands, the ramp-rate strip and the stroke ribbon.

One :class:`TracePlots` widget holds three pyqtgraph plots sharing the time axis:

- **pressure** (kPa): the pressure curve, the working level, the zones as faint
  bands (gentle < 50, working 50-150, deep >= 150 kPa, named on the right axis)
  and the personal ceiling as a dashed line;
- **ramp rate** (kPa/s) with the caution and too-fast lines; greyed with the reason
  when the sensor cannot support a ramp number;
- **stroke ribbon**: one coloured bar per run of the same stroke.

It is fed from arrays (views of preallocated :class:`~ui.mirror.Mirror` rows);
curves use ``setClipToView`` and peak downsampling, so 10 minutes at 1 kHz draw
as fast as 30 seconds. The view follows "now" until the person pans or zooms;
:meth:`follow` returns to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6 import QtCore, QtGui, QtWidgets

from analysis.strokes import STROKES
from ui.theme import STROKE_COLOURS, ZONES, Theme

__all__ = ["StrokeRuns", "TimeAxis", "TracePlots", "pressure_range"]

FloatArray = NDArray[np.float64]


def _blend(under: str, over: str, alpha: float) -> QtGui.QColor:
    a, b = QtGui.QColor(under), QtGui.QColor(over)
    mix = [
        round(x * (1 - alpha) + y * alpha)
        for x, y in zip(a.getRgb()[:3], b.getRgb()[:3], strict=True)
    ]
    return QtGui.QColor(*mix)


# Line widths, pixels. Wide lines are stroked as polygons by Qt's raster engine, several
# times slower than 1-pixel lines (benchmarks/ui_frame.py): the pressure curve is 2 px,
# the rate curve 1 px and its colour carries the state.
_PRESSURE_PX = 2
_RATE_PX = 1

_FAR_S = 1e7
_FAR_KPA = 1e5  # lines and bands span this far in time: "infinite" for a session


class HLine(QtWidgets.QGraphicsLineItem):
    """A horizontal line across all time at ``value`` (a plain C++ item: painting it runs
    no Python, unlike pyqtgraph's InfiniteLine)."""

    def __init__(self, value: float = 0.0) -> None:
        super().__init__(-_FAR_S, 0.0, _FAR_S, 0.0)
        self._value = 0.0
        self.setValue(value)

    def setValue(self, value: float) -> None:
        self._value = float(value)
        self.setLine(-_FAR_S, self._value, _FAR_S, self._value)

    def value(self) -> float:
        return self._value

    def set_pen(self, colour: str, width: float, dashed: bool = False) -> None:
        pen = QtGui.QPen(QtGui.QColor(colour), width)
        pen.setCosmetic(True)
        if dashed:
            pen.setStyle(QtCore.Qt.PenStyle.DashLine)
        self.setPen(pen)


def _band(lo: float, hi: float) -> QtWidgets.QGraphicsRectItem:
    band = QtWidgets.QGraphicsRectItem(QtCore.QRectF(-_FAR_S, lo, 2 * _FAR_S, hi - lo))
    band.setPen(QtGui.QPen(QtCore.Qt.PenStyle.NoPen))
    band.setZValue(-20)
    return band


class ValueAxis(pg.AxisItem):
    """A kPa or kPa/s axis: redrawn only when its range or ticks change, then blitted from a
    cache (pyqtgraph repaints every axis whenever any linked view scrolls)."""

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        self.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def setRange(self, mn: float, mx: float) -> None:
        if [mn, mx] != list(getattr(self, "range", ())):
            super().setRange(mn, mx)


class TimeAxis(pg.AxisItem):
    """Session time as ``m:ss`` (``h:mm:ss`` past an hour)."""

    def tickStrings(self, values: Sequence[float], scale: float, spacing: float) -> list[str]:
        out = []
        for v in values:
            if v * scale < -0.5:  # before the session began
                out.append("")
                continue
            s = max(0, round(v * scale))
            h, rem = divmod(s, 3600)
            m, sec = divmod(rem, 60)
            out.append(f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}")
        return out


def pressure_range(peak_kpa: float) -> float:
    """Top of the pressure axis, kPa: 200, or the next 50 above 1.15 x the visible peak."""
    if not math.isfinite(peak_kpa):
        return 200.0
    return max(200.0, math.ceil(1.15 * peak_kpa / 50.0) * 50.0)


@dataclass
class StrokeRuns:
    """Runs of the same stroke built from stroke windows, for the ribbon.

    A window ending at ``t_end`` colours ``[t_end - hop_s, t_end]`` with its label
    (what the person saw at that moment); neighbours with the same label merge.

    Examples
    --------
    >>> import numpy as np
    >>> runs = StrokeRuns(hop_s=0.25)
    >>> rows = np.array([[2.0, 0.0, 1, .9], [2.25, .25, 1, .9], [2.5, .5, 3, .8]])
    >>> runs.add(rows)
    >>> [(round(a, 2), round(b, 2), STROKES[k]) for a, b, k in zip(runs.x0, runs.x1, runs.label)]
    [(1.75, 2.25, 'hold'), (2.25, 2.5, 'kneading')]
    """

    hop_s: float = 0.25

    def __post_init__(self) -> None:
        self.x0: list[float] = []
        self.x1: list[float] = []
        self.label: list[int] = []

    def add(self, rows: FloatArray) -> None:
        """Add stroke rows ``(t_end, t_start, label index, confidence)`` in time order."""
        hop = self.hop_s
        for t_end, _t_start, label, _conf in rows:
            k = int(label)
            if not 0 <= k < len(STROKES):
                continue
            start = float(t_end) - hop
            if self.label and self.label[-1] == k and start <= self.x1[-1] + 0.5 * hop:
                self.x1[-1] = float(t_end)
            else:
                self.x0.append(max(start, self.x1[-1]) if self.x1 else start)
                self.x1.append(float(t_end))
                self.label.append(k)

    def clear(self) -> None:
        self.x0.clear()
        self.x1.clear()
        self.label.clear()


class TracePlots(pg.GraphicsLayoutWidget):
    """Pressure, ramp rate and stroke ribbon over time (see the module docstring).

    Parameters
    ----------
    theme : Theme
    span_s : float
        Seconds shown while following now.
    """

    userScrolled = QtCore.Signal(bool)
    """Emitted with ``False`` when the person pans away from now, ``True`` on return."""

    def __init__(self, theme: Theme, span_s: float = 30.0) -> None:
        super().__init__()
        self.span_s = span_s
        self.following = True
        self._theme = theme
        self._y_top = 200.0
        self._ribbon_dirty = False
        self._data_end = 0.0
        self._setting_range = False
        self.ci.setSpacing(14)  # room between the plots for their edge tick labels

        def axes() -> dict[str, pg.AxisItem]:
            return {
                "bottom": TimeAxis("bottom"),
                "left": ValueAxis("left"),
                "right": ValueAxis("right"),
            }

        self.pressure = self.addPlot(row=0, col=0, axisItems=axes())
        self.rate = self.addPlot(row=1, col=0, axisItems=axes())
        self.ribbon = self.addPlot(row=2, col=0, axisItems=axes())
        self.ci.layout.setRowStretchFactor(0, 6)
        self.ci.layout.setRowStretchFactor(1, 2)
        self.ribbon.setMaximumHeight(64)
        self.ribbon.setMinimumHeight(52)
        for p in (self.rate, self.ribbon):
            p.setXLink(self.pressure)
        for p in (self.pressure, self.rate):
            p.hideAxis("bottom")  # one time axis, under the ribbon
            p.hideButtons()
            p.setMenuEnabled(False)
        self.ribbon.hideButtons()
        self.ribbon.setMenuEnabled(False)
        for p in (self.pressure, self.rate, self.ribbon):
            p.getAxis("left").setWidth(64)
            p.showAxis("right")
            p.getAxis("right").setWidth(96)
            p.vb.setMouseEnabled(x=True, y=False)
            p.setClipToView(True)
            p.setDownsampling(auto=True, mode="peak")
            for side in ("left", "bottom", "right"):
                p.getAxis(side).enableAutoSIPrefix(False)  # units are fixed: kPa, kPa/s, s

        # -- pressure
        p = self.pressure
        p.setLabel("left", "kPa")
        p.setYRange(0, self._y_top, padding=0)
        self.bands = [_band(lo, min(hi, 5000.0)) for _name, lo, hi in ZONES]
        for band in self.bands:
            p.addItem(band, ignoreBounds=True)
        self.ceiling_line = HLine()
        self.ceiling_line.setZValue(-5)
        self.ceiling_line.hide()
        p.addItem(self.ceiling_line, ignoreBounds=True)
        self.level_curve = p.plot(name="working level")
        self.pressure_curve = p.plot(name="pressure")
        self.marks: list[QtWidgets.QGraphicsLineItem] = []

        # -- ramp rate
        r = self.rate
        r.setLabel("left", "kPa/s")
        # the lines' names are ticks on the right axis: "caution 25", "too fast 50"
        self.caution_line = HLine()
        self.limit_line = HLine()
        self.zero_line = HLine(0.0)
        for line in (self.caution_line, self.limit_line, self.zero_line):
            r.addItem(line, ignoreBounds=True)
        self.rate_curve = r.plot(name="ramp rate")
        self.rate_note = pg.TextItem("", anchor=(0.5, 0.5))
        self.rate_note.hide()
        r.addItem(self.rate_note, ignoreBounds=True)
        self.set_thresholds(25.0, 50.0)

        # -- stroke ribbon
        rb = self.ribbon
        rb.setYRange(0, 1, padding=0)
        rb.getAxis("left").setTicks([[(0.5, "stroke")]])
        rb.getAxis("right").setStyle(showValues=False)
        self.runs = StrokeRuns()
        self.bars = pg.BarGraphItem(x0=[0.0], x1=[0.0], y0=[0.0], height=[0.0], pen=None)
        self.bars.hide()
        rb.addItem(self.bars)
        self._run_labels = []
        for _ in range(10):
            item = QtWidgets.QGraphicsSimpleTextItem("")
            item.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            item.setTransform(QtGui.QTransform.fromTranslate(4, -9))  # pixels: centred, inset
            item.hide()
            rb.addItem(item, ignoreBounds=True)
            self._run_labels.append(item)

        self.pressure.sigXRangeChanged.connect(self._on_x_range)
        for plot in (self.pressure, self.rate, self.ribbon):
            plot.vb.sigRangeChangedManually.connect(self._on_manual_range)
        for curve in (self.level_curve, self.pressure_curve, self.rate_curve):
            # peak downsampling to about one min/max pair per pixel: what the eye can see
            curve.opts["autoDownsampleFactor"] = 1.0
        self.set_theme(theme)

    # -- configuration -----------------------------------------------------------------------

    def set_theme(self, theme: Theme) -> None:
        """Apply a theme's colours to every item."""
        self._theme = theme
        self.setBackground(theme.background)
        for plot in (self.pressure, self.rate, self.ribbon):
            for side in ("left", "bottom", "right"):
                ax = plot.getAxis(side)
                ax.setPen(pg.mkPen(theme.grid))
                ax.setTextPen(pg.mkPen(theme.dim))
        for band, colour in zip(self.bands, theme.zone_colours, strict=True):
            # opaque blends of the zone colour over the background: faint, and far cheaper
            # to fill than translucent bands
            band.setBrush(QtGui.QBrush(_blend(theme.background, colour, theme.zone_alpha / 255)))
        self._right_ticks()
        self.ceiling_line.set_pen(theme.ceiling, 2, dashed=True)
        # thin and solid: a dashed pen strokes a path, many times slower to draw
        self.level_curve.setPen(pg.mkPen(_blend(theme.background, theme.level, 0.7), width=1))
        self.pressure_curve.setPen(pg.mkPen(theme.curve, width=_PRESSURE_PX))
        self.caution_line.set_pen(theme.state_colour("caution"), 1, dashed=True)
        self.limit_line.set_pen(theme.state_colour("too_fast"), 1.5, dashed=True)
        self.zero_line.set_pen(theme.grid, 1)
        self.rate_note.setColor(theme.dim)
        self._rate_key = self._dim_key = None
        for item in self._run_labels:
            item.setBrush(QtGui.QColor(theme.background))
        self.set_rate_state("calm", "")
        self._ribbon_dirty = True

    def set_thresholds(self, caution_kpa_s: float, limit_kpa_s: float) -> None:
        """Move the caution and too-fast lines, kPa/s; the strip shows up to twice the limit."""
        self.caution_line.setValue(caution_kpa_s)
        self.limit_line.setValue(limit_kpa_s)
        self.rate.setYRange(-0.5 * limit_kpa_s, 2.0 * limit_kpa_s, padding=0)
        self._limit = limit_kpa_s
        self._right_ticks()

    def set_ceiling(self, ceiling_kpa: float | None) -> None:
        """Show the personal ceiling at ``ceiling_kpa`` (``None`` hides it)."""
        if ceiling_kpa is None or not math.isfinite(ceiling_kpa):
            self.ceiling_line.hide()
        else:
            self.ceiling_line.setValue(ceiling_kpa)
            self.ceiling_line.show()
        self._right_ticks()

    def _right_ticks(self) -> None:
        """Names on the right axes: the zones and the ceiling; the rate strip's lines."""
        zones = [((lo + min(hi, 250.0)) / 2, name) for name, lo, hi in ZONES]
        if self.ceiling_line.isVisible():
            c = self.ceiling_line.value()
            zones = [z for z in zones if abs(z[0] - c) > 15] + [(c, f"ceiling {c:.0f}")]
        self.pressure.getAxis("right").setTicks([zones])
        caution, limit = self.caution_line.value(), self.limit_line.value()
        self.rate.getAxis("right").setTicks(
            [[(caution, f"caution {caution:.0f}"), (limit, f"too fast {limit:.0f}")]]
        )

    def set_rate_state(self, mode: str, sensor_note: str) -> None:
        """Colour the rate strip for a display mode; grey it with ``sensor_note`` if given."""
        th = self._theme
        key = (mode, sensor_note, th.name)
        if key == getattr(self, "_rate_key", None):
            return
        self._rate_key = key
        if sensor_note:
            colour = th.state_colour("grey")
            self.rate_note.setText(sensor_note)
            self.rate_note.show()
            self._place_rate_note()
        else:
            colour = th.state_colour(
                {"caution": "caution", "too_fast": "too_fast"}.get(mode, "calm")
            )
            self.rate_note.hide()
        self.rate_curve.setPen(pg.mkPen(colour, width=_RATE_PX))

    def set_dimmed(self, dimmed: bool) -> None:
        """Dim the pressure curve (stale data)."""
        key = (dimmed, self._theme.name)
        if key == getattr(self, "_dim_key", None):
            return
        self._dim_key = key
        colour = self._theme.state_colour("grey") if dimmed else self._theme.curve
        self.pressure_curve.setPen(pg.mkPen(colour, width=_PRESSURE_PX))

    def add_mark(self, t: float, text: str, colour: str) -> None:
        """A vertical line with a label at time ``t`` (pain mark, marker, warning)."""
        # plain C++ items: a session's worth of marks costs nothing per frame
        line = QtWidgets.QGraphicsLineItem(t, -_FAR_KPA, t, _FAR_KPA)
        pen = QtGui.QPen(QtGui.QColor(colour), 1.5)
        pen.setCosmetic(True)
        pen.setStyle(QtCore.Qt.PenStyle.DashLine)
        line.setPen(pen)
        label = QtWidgets.QGraphicsSimpleTextItem(text, line)
        label.setBrush(QtGui.QColor(colour))
        label.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        width = label.boundingRect().width()
        label.setTransform(QtGui.QTransform.fromTranslate(-width - 4, 4))  # left of the line
        label.setPos(t, self._y_top)
        self.pressure.addItem(line, ignoreBounds=True)
        self.marks.append(line)

    def clear_marks(self) -> None:
        for line in self.marks:
            self.pressure.removeItem(line)
        self.marks.clear()

    # -- data --------------------------------------------------------------------------------

    def set_traces(
        self,
        t: FloatArray,
        pressure_kpa: FloatArray,
        level_t: FloatArray,
        level_kpa: FloatArray,
        rate_t: FloatArray,
        rate_kpa_s: FloatArray,
    ) -> None:
        """Draw the given samples (already cut to about the visible span; views are fine)."""
        self.pressure_curve.setData(t, pressure_kpa)
        self.level_curve.setData(level_t, level_kpa)
        self.rate_curve.setData(rate_t, rate_kpa_s)
        if pressure_kpa.size:
            with np.errstate(all="ignore"):
                finite = pressure_kpa[np.isfinite(pressure_kpa)]
            top = pressure_range(float(finite.max()) if finite.size else math.nan)
            if self.ceiling_line.isVisible():
                top = max(top, pressure_range(float(self.ceiling_line.value())))
            if top != self._y_top:
                self._y_top = top
                self.pressure.setYRange(0, top, padding=0)
                for line in self.marks:  # labels stay at the top
                    for label in line.childItems():
                        label.setPos(line.line().x1(), top)

    def add_strokes(self, rows: FloatArray) -> None:
        """Add stroke rows ``(t_end, t_start, label, confidence)`` to the ribbon."""
        if rows.size:
            self.runs.add(rows)
            self._ribbon_dirty = True

    def clear_strokes(self) -> None:
        self.runs.clear()
        self._ribbon_dirty = True

    def visible_range(self) -> tuple[float, float]:
        """The time range on screen, seconds."""
        (x0, x1), _ = self.pressure.vb.viewRange()
        return float(x0), float(x1)

    def show_until(self, t_end: float) -> None:
        """While following now, scroll so ``t_end`` is at the right edge."""
        self._data_end = t_end
        if self.following:
            # scroll by whole pixels: at 30 s across the plot new data moves the view by
            # about half a pixel a frame, and each move makes the axes lay out afresh
            step = self.span_s / max(float(self.pressure.vb.width()), 1.0)
            right = math.ceil(t_end / step) * step
            (x0, x1), _ = self.pressure.vb.viewRange()
            if abs(right - x1) > 1e-9 or abs(x1 - x0 - self.span_s) > 1e-9:
                self._setting_range = True
                try:
                    self.pressure.setXRange(right - self.span_s, right, padding=0)
                finally:
                    self._setting_range = False
        self._draw_ribbon()

    def show_range(self, t0: float, t1: float) -> None:
        """Show ``[t0, t1]`` and stop following now (replay scrubbing, clicking a mark)."""
        self.following = False
        self._setting_range = True
        try:
            self.pressure.setXRange(t0, t1, padding=0)
        finally:
            self._setting_range = False
        self._draw_ribbon(force=True)

    def follow(self) -> None:
        """Follow now again."""
        if not self.following:
            self.following = True
            self.userScrolled.emit(True)
            self.show_until(self._data_end)

    def _on_manual_range(self, *_: object) -> None:
        if self.following:
            self.following = False
            self.userScrolled.emit(False)

    def _on_x_range(self, *_: object) -> None:
        if not self._setting_range:
            self._ribbon_dirty = True
        self._place_rate_note()

    def _place_rate_note(self) -> None:
        if self.rate_note.isVisible():
            (x0, x1), (y0, y1) = self.rate.vb.viewRange()
            self.rate_note.setPos((x0 + x1) / 2, (y0 + y1) / 2)

    def _draw_ribbon(self, force: bool = False) -> None:
        self._place_rate_note()
        if not (self._ribbon_dirty or force):
            self._label_runs()
            return
        self._ribbon_dirty = False
        n = len(self.runs.label)
        if n == 0:
            self.bars.hide()
        else:
            brushes = [pg.mkBrush(STROKE_COLOURS[STROKES[k]]) for k in self.runs.label]
            self.bars.setOpts(
                x0=np.asarray(self.runs.x0),
                x1=np.asarray(self.runs.x1),
                y0=np.full(n, 0.12),
                height=np.full(n, 0.76),
                brushes=brushes,
                pen=pg.mkPen(None),
            )
            self.bars.show()
        self._label_runs()

    def _label_runs(self) -> None:
        v0, v1 = self.visible_range()
        width = max(v1 - v0, 1e-9)
        shown = 0
        runs = self.runs
        for i in range(len(runs.label) - 1, -1, -1):
            if shown == len(self._run_labels) or runs.x1[i] < v0:
                break
            a, b = max(runs.x0[i], v0), min(runs.x1[i], v1)
            if b - a < 0.08 * width:
                continue
            item = self._run_labels[shown]
            name = STROKES[runs.label[i]]
            if item.text() != name:
                item.setText(name)
            item.setPos(a + 0.005 * width, 0.5)
            if not item.isVisible():
                item.show()
            shown += 1
        for item in self._run_labels[shown:]:
            if item.isVisible():
                item.hide()
