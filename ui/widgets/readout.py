"""Large readouts: the pressure number, the stroke name, the banner and the status line.

Few, large, high-contrast elements; numbers in tabular figures with their unit;
colour carries the state and text confirms it (``shared/UI.md``).
"""

from __future__ import annotations

import math

from PySide6 import QtCore, QtGui, QtWidgets

from ui.theme import STROKE_COLOURS, ZONES, Theme

__all__ = ["Banner", "BigNumbers", "number_font", "zone_name"]


def number_font(pixel_size: int, bold: bool = True) -> QtGui.QFont:
    """The system font at ``pixel_size`` with tabular (fixed-width) figures."""
    font = QtGui.QFont()
    font.setPixelSize(pixel_size)
    font.setBold(bold)
    font.setFeature(QtGui.QFont.Tag("tnum"), 1)
    return font


def zone_name(pressure_kpa: float) -> str:
    """The zone a pressure falls in (``gentle``, ``working``, ``deep``), "" when unknown."""
    if not math.isfinite(pressure_kpa):
        return ""
    for name, lo, hi in ZONES:
        if lo <= pressure_kpa < hi:
            return name
    return ZONES[-1][0] if pressure_kpa >= ZONES[-1][1] else ZONES[0][0]


def _clock(seconds: float) -> str:
    s = max(0, int(seconds)) if math.isfinite(seconds) else 0
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


class Banner(QtWidgets.QLabel):
    """The text across the top of the plot: red for a warning, calm blue for a pulse."""

    def __init__(self, theme: Theme) -> None:
        super().__init__("")
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.setFont(number_font(44))
        self.setMinimumHeight(72)
        self._theme = theme
        self.mode = "calm"
        self.hide()

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.show_state(self.mode, self.text())

    def show_state(self, mode: str, text: str) -> None:
        """Show ``text`` in the colours of ``mode``; an empty text hides the banner."""
        key = (mode, text, self._theme.name)
        if key == getattr(self, "_key", None):
            return
        self._key = key
        self.mode = mode
        if not text:
            self.hide()
            self.setText("")
            return
        colour = self._theme.state_colour(mode)
        fg = "#ffffff" if mode in ("too_fast", "ceiling", "pain") else self._theme.background
        self.setStyleSheet(f"background: {colour}; color: {fg}; border-radius: 8px; padding: 4px;")
        self.setText(text)
        self.show()
        self.raise_()


class BigNumbers(QtWidgets.QFrame):
    """Current pressure (very large), zone, stroke and confidence, peak, warnings, time."""

    def __init__(self, theme: Theme) -> None:
        super().__init__()
        self._theme = theme
        self.pressure = QtWidgets.QLabel("--")
        self.pressure.setFont(number_font(120))
        self.pressure.setAlignment(
            QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
        )
        self.unit = QtWidgets.QLabel("kPa")
        self.unit.setFont(number_font(30, bold=False))
        self.zone = QtWidgets.QLabel("")
        self.zone.setFont(number_font(26, bold=False))
        self.stroke = QtWidgets.QLabel("…")
        self.stroke.setFont(number_font(48))
        self.confidence = QtWidgets.QLabel("")
        self.confidence.setFont(number_font(22, bold=False))
        self.facts = QtWidgets.QLabel("")
        self.facts.setFont(number_font(24, bold=False))
        self.clock = QtWidgets.QLabel("00:00")
        self.clock.setFont(number_font(24, bold=False))

        top = QtWidgets.QHBoxLayout()
        top.addStretch(1)
        top.addWidget(self.pressure)
        top.addWidget(self.unit, 0, QtCore.Qt.AlignmentFlag.AlignBottom)
        stroke = QtWidgets.QVBoxLayout()  # the name gets the panel's whole width
        stroke.setSpacing(0)
        stroke.addWidget(self.stroke)
        stroke.addWidget(self.confidence)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(16, 8, 16, 8)
        layout.addLayout(top)
        layout.addWidget(self.zone, 0, QtCore.Qt.AlignmentFlag.AlignRight)
        layout.addSpacing(12)
        layout.addLayout(stroke)
        layout.addSpacing(8)
        layout.addWidget(self.facts)
        layout.addWidget(self.clock)
        self.extra = QtWidgets.QVBoxLayout()
        layout.addLayout(self.extra, 1)
        self._mode = "calm"
        self._dim = False
        self.set_theme(theme)

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.setStyleSheet(f"background: {theme.panel}; color: {theme.text};")
        for label in (self.unit, self.zone, self.confidence, self.facts, self.clock):
            label.setStyleSheet(f"color: {theme.dim}; background: transparent;")
        self._paint_pressure()

    def set_pressure(self, pressure_kpa: float, mode: str, dim: bool) -> None:
        """Show the current pressure (kPa) in the colour of ``mode``; ``dim`` greys it."""
        text = f"{pressure_kpa:.0f}" if math.isfinite(pressure_kpa) else "--"
        if text == "-0":
            text = "0"
        if self.pressure.text() != text:
            self.pressure.setText(text)
        zone = zone_name(pressure_kpa)
        if self.zone.text() != zone:
            self.zone.setText(zone)
        if (mode, dim) != (self._mode, self._dim):
            self._mode, self._dim = mode, dim
            self._paint_pressure()

    def _paint_pressure(self) -> None:
        th = self._theme
        if self._dim:
            colour = th.state_colour("grey")
        elif self._mode in ("caution", "too_fast", "ceiling", "pain"):
            colour = th.state_colour(self._mode)
        else:
            colour = th.text
        self.pressure.setStyleSheet(f"color: {colour}; background: transparent;")

    def set_stroke(self, stroke: str, confidence: float) -> None:
        """Show the current stroke in its colour, with the classifier's confidence."""
        name = stroke.upper()
        if self.stroke.text() != name:
            self.stroke.setText(name)
            colour = STROKE_COLOURS.get(stroke, self._theme.dim)
            self.stroke.setStyleSheet(f"color: {colour}; background: transparent;")
        conf = f"confidence {confidence:.2f}" if math.isfinite(confidence) else ""
        if self.confidence.text() != conf:
            self.confidence.setText(conf)

    def set_facts(self, peak_kpa: float, warnings: int, session_s: float) -> None:
        """Peak pressure, number of too-fast warnings and time in session."""
        peak = f"{peak_kpa:.0f} kPa" if math.isfinite(peak_kpa) else "--"
        text = f"peak {peak} · warnings {warnings}"
        if self.facts.text() != text:
            self.facts.setText(text)
        clock = f"session {_clock(session_s)}"
        if self.clock.text() != clock:
            self.clock.setText(clock)
