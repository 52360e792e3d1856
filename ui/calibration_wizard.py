"""The calibration wizard: place known weights one by one, see the fit and its error, save.

It reads the device's raw ring buffer of the running session (never the device
itself) and fits with ``analysis.calibration`` through
:class:`~ui.calibration_steps.CalibrationSteps`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from ui.calibration_steps import CalibrationSteps

__all__ = ["CalibrationWizard"]


class CalibrationWizard(QtWidgets.QDialog):
    """Known weights -> readings -> fit -> saved calibration, for one stream of a session.

    Parameters
    ----------
    session : LiveSession
        The running session; its ``raw`` buffers hold the readings.
    device : str
        The device spec (names the saved calibration).
    """

    def __init__(
        self,
        session: Any,
        device: str,
        settings: QtCore.QSettings | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("palpate · calibration")
        self.resize(760, 620)
        self.session = session
        self.stream = next(iter(session.raw), None) if session.raw else None
        ring = session.raw.get(self.stream) if self.stream else None
        names = ring.names[1:] if ring is not None and ring.names else ()
        self.steps = CalibrationSteps(device or "device", channels=max(1, len(names)))
        self.saved_path = None

        intro = QtWidgets.QLabel(
            "1. Take everything off the pad and capture 0 kg.\n"
            "2. Place a known weight, wait until it is still, enter it and capture.\n"
            "3. Repeat with 2-6 weights across the range you press with; check the error; save."
        )
        self.channel = QtWidgets.QComboBox()
        for i, name in enumerate(names or ("channel 1",)):
            self.channel.addItem(str(name), i)
        self.weight = QtWidgets.QDoubleSpinBox()
        self.weight.setRange(0.0, 500.0)
        self.weight.setDecimals(3)
        self.weight.setSuffix(" kg")
        self.capture_button = QtWidgets.QPushButton("Capture this weight")
        self.capture_button.clicked.connect(self.capture)
        self.model = QtWidgets.QComboBox()
        self.model.addItem("linear (load cell)", "linear")
        self.model.addItem("table (FSR, non-linear)", "table")
        self.model.currentIndexChanged.connect(self.refit)
        self.table = QtWidgets.QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["channel", "reading", "known load (N)"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.remove_button = QtWidgets.QPushButton("Remove selected point")
        self.remove_button.clicked.connect(self.remove_selected)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "reading")
        self.plot.setLabel("left", "force", units="N")
        self.points_item = pg.ScatterPlotItem(size=10, brush=pg.mkBrush("#2ec4b6"))
        self.fit_item = pg.PlotDataItem(pen=pg.mkPen("#ffb020", width=2))
        self.plot.addItem(self.points_item)
        self.plot.addItem(self.fit_item)
        self.report = QtWidgets.QLabel("no fit yet")
        self.message = QtWidgets.QLabel("")
        self.message.setWordWrap(True)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Save
            | QtWidgets.QDialogButtonBox.StandardButton.Close
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)

        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("channel"))
        row.addWidget(self.channel)
        row.addWidget(QtWidgets.QLabel("known weight"))
        row.addWidget(self.weight)
        row.addWidget(self.capture_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.remove_button)
        layout.addWidget(self.model)
        layout.addWidget(self.plot, 2)
        layout.addWidget(self.report)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        if self.stream is None:
            self.message.setText("no device data yet: wait until the device streams")
            self.capture_button.setEnabled(False)

    def capture(self) -> None:
        """Average the newest second of the chosen channel as the reading of this weight."""
        ring = self.session.raw.get(self.stream) if self.stream else None
        if ring is None:
            self.message.setText("no device data yet")
            return
        rows = ring.latest(max(8, 2 * 1000))  # up to 2 s at 1 kHz; capture uses 1 s
        try:
            point = self.steps.capture(rows, int(self.channel.currentData()), self.weight.value())
        except ValueError as err:
            self.message.setText(str(err))
            return
        r = self.table.rowCount()
        self.table.insertRow(r)
        for c, text in enumerate(
            (self.channel.currentText(), f"{point.raw:.5g}", f"{point.force_n:.3f}")
        ):
            self.table.setItem(r, c, QtWidgets.QTableWidgetItem(text))
        self.message.setText(f"captured {self.weight.value():g} kg: reading {point.raw:.5g}")
        self.refit()

    def remove_selected(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.steps.remove(row)
            self.table.removeRow(row)
            self.refit()

    def refit(self) -> None:
        """Fit the chosen channel and show the points, the curve and the error."""
        ch = int(self.channel.currentData())
        raw, force = self.steps.of_channel(ch)
        self.points_item.setData(raw, force)
        try:
            cal, report = self.steps.fit(str(self.model.currentData()), ch)
        except ValueError as err:
            self.fit_item.setData([], [])
            self.report.setText(str(err))
            return
        xs = np.linspace(float(raw.min()), float(raw.max()), 100)
        self.fit_item.setData(xs, cal.apply(xs))
        pct = report.rmse_pct_full_scale
        self.report.setText(
            f"fit error: rmse {report.rmse_n:.3g} N"
            + (f" = {pct:.2g} % of full scale" if math.isfinite(pct) else "")
            + f", worst {report.max_error_n:.3g} N over {report.n_points} points"
            + (" (leave-one-out)" if report.method == "leave-one-out" else "")
        )

    def save(self) -> None:
        try:
            self.saved_path = self.steps.save(str(self.model.currentData()))
        except (ValueError, OSError) as err:
            self.message.setText(f"not saved: {err}")
            return
        self.message.setText(
            f"saved {self.saved_path}; it applies from the device's next connection "
            "(D: connect again)"
        )
