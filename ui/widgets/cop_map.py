"""Centre-of-pressure mini-map of a multi-channel pad: the path of the last few seconds."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray

from ui.theme import Theme

__all__ = ["CopMap"]

FloatArray = NDArray[np.float64]


class CopMap(pg.PlotWidget):
    """The pad seen from above (mm), the CoP path as a fading trail and a dot for now.

    Parameters
    ----------
    theme : Theme
    half_side_mm : float
        Half the side of the pad, mm: the map shows ``±half_side_mm`` on both axes.
    trail_s : float
        Seconds of path shown.
    """

    def __init__(self, theme: Theme, half_side_mm: float = 30.0, trail_s: float = 3.0) -> None:
        super().__init__()
        self.trail_s = trail_s
        self.setMinimumSize(180, 180)
        self.setMaximumHeight(260)
        self.hideButtons()
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.setAspectLocked(True)
        for side in ("left", "bottom"):
            self.hideAxis(side)
        self.set_half_side(half_side_mm)
        self.outline = pg.PlotDataItem()
        self.trail = self.plot()
        self.dot = pg.ScatterPlotItem(size=16)
        self.addItem(self.outline)
        self.addItem(self.dot)
        self.title = pg.TextItem("centre of pressure", anchor=(0.5, 0))
        self.addItem(self.title, ignoreBounds=True)
        self.set_theme(theme)

    def set_half_side(self, half_side_mm: float) -> None:
        h = float(half_side_mm)
        self._half = h
        self._fitted = getattr(self, "_fitted", False)
        self.setXRange(-1.15 * h, 1.15 * h, padding=0)
        self.setYRange(-1.15 * h, 1.3 * h, padding=0)

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.setBackground(theme.panel)
        h = self._half
        self.outline.setData(
            [-h, h, h, -h, -h], [-h, -h, h, h, -h], pen=pg.mkPen(theme.grid, width=2)
        )
        self.trail.setPen(pg.mkPen(theme.curve, width=2))
        self.dot.setBrush(pg.mkBrush(theme.text))
        self.dot.setPen(pg.mkPen(None))
        self.title.setColor(theme.dim)
        self.title.setPos(0, 1.28 * h)

    def set_path(self, t: FloatArray, x_mm: FloatArray, y_mm: FloatArray) -> None:
        """Draw the path ``(t, x, y)`` of the last :attr:`trail_s` seconds (NaN: no contact)."""
        if t.size == 0:
            self.trail.setData([], [])
            self.dot.setData([], [])
            return
        lo = int(np.searchsorted(t, t[-1] - self.trail_s))
        x, y = x_mm[lo:], y_mm[lo:]
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.any():  # fit the pad to the positions' unit (mm, or half-widths without geometry)
            reach = float(max(np.abs(x[ok]).max(), np.abs(y[ok]).max()))
            if reach > self._half or (reach < 0.2 * self._half and not self._fitted):
                self._fitted = True
                self.set_half_side(1.1 * reach if reach > self._half else max(1.5 * reach, 1e-3))
                self.set_theme(self._theme)
        step = max(1, x.size // 400)  # a few hundred points are plenty for a path
        self.trail.setData(x[::step], y[::step], connect="finite")
        if np.isfinite(x[-1]) and np.isfinite(y[-1]):
            self.dot.setData([x[-1]], [y[-1]])
        else:
            self.dot.setData([], [])
