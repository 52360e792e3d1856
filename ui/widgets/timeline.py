"""The replay timeline: the whole session as a bar, events as ticks, a draggable cursor."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6 import QtCore, QtGui, QtWidgets

from ui.theme import Theme

__all__ = ["Timeline"]


class Timeline(QtWidgets.QWidget):
    """Session time from ``t0`` to ``t1`` with coloured ticks; click or drag to scrub.

    Signals
    -------
    scrubbed(float)
        The person put the cursor at this time (seconds, session clock).
    """

    scrubbed = QtCore.Signal(float)

    def __init__(self, theme: Theme) -> None:
        super().__init__()
        self.setMinimumHeight(46)
        self.setMaximumHeight(56)
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self._theme = theme
        self.t0 = 0.0
        self.t1 = 1.0
        self.cursor_t = 0.0
        self.loaded_t = 0.0
        self.ticks: list[tuple[float, str]] = []

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.update()

    def set_span(self, t0: float, t1: float) -> None:
        self.t0, self.t1 = float(t0), float(max(t1, t0 + 1e-6))
        self.update()

    def set_ticks(self, ticks: Sequence[tuple[float, str]]) -> None:
        """Ticks as ``(t, colour)``."""
        self.ticks = list(ticks)
        self.update()

    def set_cursor(self, t: float, loaded_t: float | None = None) -> None:
        changed = t != self.cursor_t or (loaded_t is not None and loaded_t != self.loaded_t)
        self.cursor_t = t
        if loaded_t is not None:
            self.loaded_t = loaded_t
        if changed:
            self.update()

    def _x(self, t: float) -> float:
        m = 10.0
        w = max(1.0, self.width() - 2 * m)
        return m + w * (t - self.t0) / (self.t1 - self.t0)

    def time_at(self, x: float) -> float:
        """Session time under pixel column ``x``."""
        m = 10.0
        w = max(1.0, self.width() - 2 * m)
        return self.t0 + (self.t1 - self.t0) * min(max((x - m) / w, 0.0), 1.0)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        th = self._theme
        p = QtGui.QPainter(self)
        h = self.height()
        p.fillRect(self.rect(), QtGui.QColor(th.background))
        bar = QtCore.QRectF(
            self._x(self.t0), h * 0.35, self._x(self.t1) - self._x(self.t0), h * 0.3
        )
        p.fillRect(bar, QtGui.QColor(th.panel))
        if self.loaded_t > self.t0:
            done = QtCore.QRectF(bar)
            done.setRight(self._x(min(self.loaded_t, self.t1)))
            p.fillRect(done, QtGui.QColor(th.grid))
        played = QtCore.QRectF(bar)
        played.setRight(self._x(min(max(self.cursor_t, self.t0), self.t1)))
        colour = QtGui.QColor(th.curve)
        colour.setAlpha(120)
        p.fillRect(played, colour)
        for t, c in self.ticks:
            x = self._x(t)
            p.setPen(QtGui.QPen(QtGui.QColor(c), 3))
            p.drawLine(QtCore.QPointF(x, h * 0.12), QtCore.QPointF(x, h * 0.88))
        if math.isfinite(self.cursor_t):
            x = self._x(self.cursor_t)
            p.setPen(QtGui.QPen(QtGui.QColor(th.text), 2))
            p.drawLine(QtCore.QPointF(x, 0), QtCore.QPointF(x, h))
        p.end()

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        self.scrubbed.emit(self.time_at(event.position().x()))

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        if event.buttons() & QtCore.Qt.MouseButton.LeftButton:
            self.scrubbed.emit(self.time_at(event.position().x()))
