"""Guided pain-threshold test: ramp at the standard rate, mark first pain, set personal zones.

A pressure-pain threshold is measured by pressing in at a steady, standard rate
(:data:`STANDARD_RATE_KPA_S`) until the pressure first turns into pain. The dialog shows
a live rate needle against the target band; the mark (Space) records the pressure
and the session's pain event, and the result sets the personal ceiling (the usual
``pain_fraction`` of the threshold) and the zones below it.

:class:`PainTest` is the Qt-free part.

Examples
--------
>>> import numpy as np
>>> test = PainTest()
>>> t = np.arange(0, 4, 0.01)
>>> test.update(t, 50.0 * t, np.full(t.size, 50.0))   # pressing in at 50 kPa/s
>>> r = test.mark()
>>> round(r.threshold_kpa), round(r.mean_rate_kpa_s), r.rate_ok, round(r.ceiling_kpa)
(200, 50, True, 160)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PySide6 import QtCore, QtGui, QtWidgets

from ui.theme import Theme
from ui.widgets.readout import number_font

__all__ = ["STANDARD_RATE_KPA_S", "PainTest", "PainTestDialog", "PainTestResult"]

STANDARD_RATE_KPA_S = 50.0
"""The standard ramp of a pressure-pain-threshold test, kPa/s."""

CONTACT_KPA = 5.0
"""The ramp is timed from the first pressure above this, kPa."""


@dataclass(frozen=True, slots=True)
class PainTestResult:
    """Threshold (kPa), how steadily it was reached, and the personal ceiling it gives."""

    threshold_kpa: float
    mean_rate_kpa_s: float
    rate_ok: bool
    ceiling_kpa: float

    def zones(self) -> dict[str, tuple[float, float]]:
        """Personal zones below the ceiling, kPa: gentle, working, deep."""
        c = self.ceiling_kpa
        return {"gentle": (0.0, 0.4 * c), "working": (0.4 * c, 0.8 * c), "deep": (0.8 * c, c)}


class PainTest:
    """Follows one ramp: from first contact to the mark.

    Parameters
    ----------
    rate_kpa_s : float
        The target ramp rate.
    tolerance : float
        The mean rate counts as standard within this fraction of the target.
    pain_fraction : float
        The personal ceiling is this fraction of the threshold.
    """

    def __init__(
        self,
        rate_kpa_s: float = STANDARD_RATE_KPA_S,
        tolerance: float = 0.3,
        pain_fraction: float = 0.8,
    ) -> None:
        self.rate_kpa_s = rate_kpa_s
        self.tolerance = tolerance
        self.pain_fraction = pain_fraction
        self.t_contact: float | None = None
        self.t_last = math.nan
        self.pressure_kpa = math.nan
        self.rate_now = math.nan

    def update(
        self,
        t: NDArray[np.float64],
        pressure_kpa: NDArray[np.float64],
        rate_kpa_s: NDArray[np.float64],
    ) -> None:
        """Take in new samples (seconds, kPa) and the ramp rates (kPa/s) new since the last
        call (any number of them: the newest finite one is the rate now)."""
        if t.size == 0:
            return
        ok = np.isfinite(pressure_kpa)
        if self.t_contact is None:
            touching = np.flatnonzero(ok & (pressure_kpa >= CONTACT_KPA))
            if touching.size:
                self.t_contact = float(t[touching[0]])
        if ok.any():
            self.pressure_kpa = float(pressure_kpa[ok][-1])
            self.t_last = float(t[ok][-1])
        finite = rate_kpa_s[np.isfinite(rate_kpa_s)]
        if finite.size:
            self.rate_now = float(finite[-1])

    def mark(self) -> PainTestResult:
        """First pain now: the result (``ValueError`` before any ramp)."""
        if self.t_contact is None or not math.isfinite(self.pressure_kpa):
            raise ValueError("no ramp yet: press in steadily, then mark the first pain")
        span = self.t_last - self.t_contact
        mean_rate = (self.pressure_kpa - CONTACT_KPA) / span if span > 0 else math.nan
        ok = math.isfinite(mean_rate) and abs(mean_rate / self.rate_kpa_s - 1) <= self.tolerance
        return PainTestResult(
            self.pressure_kpa, mean_rate, ok, self.pain_fraction * self.pressure_kpa
        )


class _Needle(QtWidgets.QWidget):
    """Horizontal rate gauge 0 .. 2 x target, with the target band."""

    def __init__(self, theme: Theme, target: float) -> None:
        super().__init__()
        self.theme, self.target, self.value = theme, target, math.nan
        self.setMinimumHeight(70)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        p = QtGui.QPainter(self)
        w, h = self.width(), self.height()
        p.fillRect(self.rect(), QtGui.QColor(self.theme.panel))
        top = 2.0 * self.target
        lo, hi = 0.7 * self.target, 1.3 * self.target
        band = QtCore.QRectF(w * lo / top, 0, w * (hi - lo) / top, h)
        p.fillRect(band, QtGui.QColor(self.theme.state_colour("calm")).darker(200))
        if math.isfinite(self.value):
            x = w * min(max(self.value, 0.0), top) / top
            p.setPen(QtGui.QPen(QtGui.QColor(self.theme.text), 5))
            p.drawLine(QtCore.QPointF(x, 0), QtCore.QPointF(x, h))
        p.end()


class PainTestDialog(QtWidgets.QDialog):
    """The guided test over a running session; ``ceiling_kpa`` is set after a mark."""

    def __init__(self, session: Any, theme: Theme, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("palpate · pain-threshold test")
        self.resize(700, 420)
        self.session = session
        self.test = PainTest()
        self.result: PainTestResult | None = None
        self.ceiling_kpa: float | None = None
        self._seen_t = -math.inf
        self._seen_rate_t = -math.inf
        self.text = QtWidgets.QLabel(
            f"Press in steadily at about {STANDARD_RATE_KPA_S:.0f} kPa/s: keep the needle in "
            "the band.\nPress Space at the very first pain, then ease off at once."
        )
        self.text.setFont(number_font(18, bold=False))
        self.needle = _Needle(theme, STANDARD_RATE_KPA_S)
        self.reading = QtWidgets.QLabel("--")
        self.reading.setFont(number_font(48))
        self.outcome = QtWidgets.QLabel("")
        self.outcome.setFont(number_font(18, bold=False))
        self.outcome.setWordWrap(True)
        mark = QtWidgets.QPushButton("First pain  [Space]")
        mark.clicked.connect(self.mark)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        for w in (self.text, self.needle, self.reading, mark, self.outcome, buttons):
            layout.addWidget(w)
        shortcut = QtGui.QShortcut(QtGui.QKeySequence("Space"), self)
        shortcut.activated.connect(self.mark)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(40)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    def poll(self) -> None:
        """Read the session's newest pressure and rate."""
        p = self.session.pressure.since(self._seen_t)
        r = self.session.rate.since(self._seen_rate_t)  # a row per 20 ms block
        if r.shape[0]:
            self._seen_rate_t = float(r[-1, 0]) + 1e-9
        if p.shape[0] == 0:
            return
        self.test.update(p[:, 0], p[:, 1], r[:, 1])
        self._seen_t = float(p[-1, 0]) + 1e-9
        self.needle.value = self.test.rate_now
        self.needle.update()
        rate = f"{self.test.rate_now:+.0f} kPa/s" if math.isfinite(self.test.rate_now) else "--"
        self.reading.setText(f"{self.test.pressure_kpa:.0f} kPa   {rate}")

    def mark(self) -> None:
        """First pain: record it, compute the threshold and the personal ceiling."""
        if self.result is not None:
            return
        self.poll()
        try:
            self.result = self.test.mark()
        except ValueError as err:
            self.outcome.setText(str(err))
            return
        self.session.mark_pain()
        self.timer.stop()
        res = self.result
        self.ceiling_kpa = res.ceiling_kpa
        zones = ", ".join(f"{k} {a:.0f}-{b:.0f}" for k, (a, b) in res.zones().items())
        steady = (
            "at the standard rate"
            if res.rate_ok
            else f"at {res.mean_rate_kpa_s:.0f} kPa/s, not the standard "
            f"{STANDARD_RATE_KPA_S:.0f}: repeat for a comparable threshold"
        )
        self.outcome.setText(
            f"Pain threshold {res.threshold_kpa:.0f} kPa, reached {steady}.\n"
            f"Ease off now. Personal ceiling {res.ceiling_kpa:.0f} kPa; zones (kPa): {zones}.\n"
            "OK applies the ceiling."
        )
