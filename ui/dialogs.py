"""Small dialogs of the live window: the device picker and the thresholds.

Both return plain values (a device spec, a :class:`~analysis.pipeline.PipelineConfig`);
the window applies them to the session.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from PySide6 import QtCore, QtWidgets

from analysis.pipeline import PipelineConfig
from firmware_bridge import entries
from firmware_bridge.scan import scan

__all__ = ["DevicePicker", "ThresholdsDialog", "scan_specs"]


def scan_specs(timeout_s: float = 5.0) -> list[tuple[str, str]]:
    """Nearby supported devices as ``(spec, description)``.

    Runs :func:`firmware_bridge.scan.scan` in its own event loop: call it off the UI
    thread. Raises :class:`~firmware_bridge.errors.BluetoothUnavailable` (with a
    plain reason) when Bluetooth is missing, off or not permitted.
    """
    found = asyncio.run(scan(timeout_s))
    return [(f.spec, f"{f.label}: {f.name or f.address} ({f.rssi} dBm)") for f in found]


class _ScanThread(QtCore.QThread):
    done = QtCore.Signal(list, str)

    def run(self) -> None:
        try:
            self.done.emit(scan_specs(), "")
        except Exception as err:
            self.done.emit([], f"scan failed: {err}")


class DevicePicker(QtWidgets.QDialog):
    """Pick a device: scan results, the simulator and virtual devices, recent devices.

    Parameters
    ----------
    recent : sequence of str
        Device specs used before, newest first.
    current : str
        The spec in use now.
    """

    def __init__(
        self, recent: Sequence[str], current: str, parent: QtWidgets.QWidget | None = None
    ):
        super().__init__(parent)
        self.setWindowTitle("palpate · device")
        self.list = QtWidgets.QListWidget()
        self.spec = QtWidgets.QLineEdit(current)
        self.spec.setPlaceholderText("sim, virtual:tindeq, a BLE address or name, phyphox:HOST")
        self.note = QtWidgets.QLabel("")
        self.scan_button = QtWidgets.QPushButton("Scan for devices")
        self.scan_button.clicked.connect(self._scan)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addWidget(self.spec)
        layout.addWidget(self.scan_button)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        for spec in recent:
            self._add(spec, f"recent: {spec}")
        for e in entries():
            if not e.takes_argument:
                self._add(e.name, f"{e.name}: {e.summary}")
        self.list.currentItemChanged.connect(self._picked)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        self._thread: _ScanThread | None = None

    def _add(self, spec: str, text: str) -> None:
        item = QtWidgets.QListWidgetItem(text)
        item.setData(QtCore.Qt.ItemDataRole.UserRole, spec)
        self.list.addItem(item)

    def _picked(self, item: QtWidgets.QListWidgetItem | None, _old: Any = None) -> None:
        if item is not None:
            self.spec.setText(str(item.data(QtCore.Qt.ItemDataRole.UserRole)))

    def _scan(self) -> None:
        self.note.setText("scanning…")
        self.scan_button.setEnabled(False)
        self._thread = _ScanThread(self)
        self._thread.done.connect(self._scanned)
        self._thread.start()

    def _scanned(self, found: list[tuple[str, str]], error: str) -> None:
        self.scan_button.setEnabled(True)
        for spec, text in found:
            self._add(spec, f"nearby: {text}")
        self.note.setText(error or f"{len(found)} device(s) found")

    def chosen(self) -> str:
        """The device spec typed or picked."""
        return self.spec.text().strip()


class ThresholdsDialog(QtWidgets.QDialog):
    """Ramp thresholds (caution, too fast) and ceilings (absolute, personal)."""

    def __init__(self, config: PipelineConfig, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("palpate · thresholds")
        w = config.warnings
        self.caution = self._spin(w.caution_kpa_s, 1, 500, " kPa/s")
        self.limit = self._spin(w.limit_kpa_s, 1, 1000, " kPa/s")
        self.ceiling = self._spin(w.ceiling_kpa or 0.0, 0, 2000, " kPa")
        self.ceiling.setSpecialValueText("off")
        self.personal = self._spin(w.personal_ceiling_kpa or 0.0, 0, 2000, " kPa")
        self.personal.setSpecialValueText("none")
        self.error = QtWidgets.QLabel("")
        form = QtWidgets.QFormLayout(self)
        form.addRow("caution at", self.caution)
        form.addRow("too fast at", self.limit)
        form.addRow("absolute ceiling", self.ceiling)
        form.addRow("personal ceiling", self.personal)
        form.addRow(self.error)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._config = config
        self.result_config: PipelineConfig | None = None

    @staticmethod
    def _spin(value: float, lo: float, hi: float, suffix: str) -> QtWidgets.QDoubleSpinBox:
        box = QtWidgets.QDoubleSpinBox()
        box.setRange(lo, hi)
        box.setDecimals(0)
        box.setSuffix(suffix)
        box.setValue(value if math.isfinite(value) else lo)
        return box

    def config(self) -> PipelineConfig:
        """The configuration with the values entered (``ValueError`` when they do not fit)."""
        w = replace(
            self._config.warnings,
            caution_kpa_s=self.caution.value(),
            limit_kpa_s=self.limit.value(),
            ceiling_kpa=self.ceiling.value() or None,
            personal_ceiling_kpa=self.personal.value() or None,
        )
        return replace(self._config, warnings=w)

    def _accept(self) -> None:
        try:
            self.result_config = self.config()
        except ValueError as err:
            self.error.setText(str(err))
            return
        self.accept()
