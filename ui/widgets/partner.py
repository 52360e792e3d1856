"""Partner mode: a large, simplified view for the person applying the pressure.

One huge number, the zone, the stroke and the state as a full-width colour field,
readable from across the mat.
"""

from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

from ui.theme import STROKE_COLOURS, Theme
from ui.widgets.readout import number_font, zone_name

__all__ = ["PartnerView"]


class PartnerView(QtWidgets.QFrame):
    """Pressure in very large type on a field coloured by the warning state."""

    def __init__(self, theme: Theme) -> None:
        super().__init__()
        self._theme = theme
        self.title = QtWidgets.QLabel("partner view  ·  press F to leave")
        self.title.setFont(number_font(20, bold=False))
        self.number = QtWidgets.QLabel("--")
        self.number.setFont(number_font(300))
        self.unit = QtWidgets.QLabel("kPa")
        self.unit.setFont(number_font(60, bold=False))
        self.zone = QtWidgets.QLabel("")
        self.zone.setFont(number_font(56))
        self.message = QtWidgets.QLabel("")
        self.message.setFont(number_font(64))
        self.stroke = QtWidgets.QLabel("")
        self.stroke.setFont(number_font(48))
        centre = QtCore.Qt.AlignmentFlag.AlignCenter
        for label in (self.title, self.number, self.unit, self.zone, self.message, self.stroke):
            label.setAlignment(centre)
        row = QtWidgets.QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.number)
        row.addWidget(self.unit, 0, QtCore.Qt.AlignmentFlag.AlignBottom)
        row.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self.zone)
        layout.addWidget(self.stroke)
        layout.addStretch(1)
        layout.addWidget(self.message)
        layout.addStretch(1)
        self._key: tuple[object, ...] = ()
        self.set_theme(theme)

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self._key = ()

    def show_reading(
        self, pressure_kpa: float, mode: str, banner: str, stroke: str, dim: bool
    ) -> None:
        """Show one frame: pressure (kPa), display mode, banner text, stroke, dimmed."""
        th = self._theme
        number = f"{pressure_kpa:.0f}" if math.isfinite(pressure_kpa) and not dim else "--"
        if number == "-0":
            number = "0"
        key = (number, mode, banner, stroke, dim)
        if key == self._key:
            return
        self._key = key
        alarm = mode in ("too_fast", "ceiling", "pain")
        bg = th.state_colour(mode) if alarm else th.background
        fg = "#ffffff" if alarm else th.text
        self.setStyleSheet(f"PartnerView {{ background: {bg}; }} QLabel {{ color: {fg}; }}")
        self.number.setText(number)
        self.zone.setText(zone_name(pressure_kpa).upper() if not dim else "")
        if not alarm:
            colour = th.state_colour(mode) if mode in ("caution", "pulse") else th.dim
            self.message.setStyleSheet(f"color: {colour};")
            self.stroke.setStyleSheet(f"color: {STROKE_COLOURS.get(stroke, th.dim)};")
        else:
            self.message.setStyleSheet("color: #ffffff;")
            self.stroke.setStyleSheet("color: #ffffff;")
        self.message.setText(banner or ("easing in quickly" if mode == "caution" else ""))
        self.stroke.setText(stroke.upper())
