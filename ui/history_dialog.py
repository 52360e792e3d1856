"""History of sessions: every session in a folder, and totals per week, to pick one to replay."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from sessions.history import history, list_sessions
from ui.theme import Theme

__all__ = ["HistoryDialog"]


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


class HistoryDialog(QtWidgets.QDialog):
    """Sessions in ``folder`` (newest first) and per-week totals; ``chosen`` after OK.

    Double-clicking a session (or OK on a selected one) picks it for replay.
    """

    def __init__(self, folder: Path, theme: Theme, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"palpate · history of {folder}")
        self.resize(900, 600)
        self.chosen: Path | None = None
        entries = list_sessions(folder)
        self.sessions = QtWidgets.QTableWidget(0, 6)
        self.sessions.setHorizontalHeaderLabels(
            ["started", "duration", "peak kPa", "warnings", "pain marks", "file"]
        )
        readable = [e for e in entries if not e.problem]
        for e in reversed(entries):
            row = self.sessions.rowCount()
            self.sessions.insertRow(row)
            when = (
                datetime.fromtimestamp(e.started_at_unix).strftime("%Y-%m-%d %H:%M")
                if not math.isnan(e.started_at_unix)
                else "?"
            )
            cells = [
                when,
                _minutes(e.duration_s),
                "--" if e.peak_kpa is None else f"{e.peak_kpa:.0f}",
                str(e.warnings),
                str(e.pain_marks),
                e.path.name + (f"  ({e.problem})" if e.problem else ""),
            ]
            for col, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setData(QtCore.Qt.ItemDataRole.UserRole, str(e.path))
                self.sessions.setItem(row, col, item)
        self.sessions.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.sessions.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sessions.horizontalHeader().setStretchLastSection(True)
        self.sessions.cellDoubleClicked.connect(lambda r, _c: self._pick(r))

        periods = history(readable, "week")
        self.weeks = QtWidgets.QTableWidget(0, 6)
        self.weeks.setHorizontalHeaderLabels(
            ["week", "sessions", "days", "time", "peak kPa", "warnings"]
        )
        for p in reversed(periods):
            row = self.weeks.rowCount()
            self.weeks.insertRow(row)
            cells = [
                p.label,
                str(p.sessions),
                str(len(p.days)),
                _minutes(p.total_s),
                "--" if p.peak_kpa is None else f"{p.peak_kpa:.0f}",
                str(p.warnings),
            ]
            for col, text in enumerate(cells):
                self.weeks.setItem(row, col, QtWidgets.QTableWidgetItem(text))
        self.weeks.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.weeks.horizontalHeader().setStretchLastSection(True)

        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Open
            | QtWidgets.QDialogButtonBox.StandardButton.Close
        )
        buttons.accepted.connect(lambda: self._pick(self.sessions.currentRow()))
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(QtWidgets.QLabel(f"{len(entries)} sessions in {folder}"))
        layout.addWidget(self.sessions, 3)
        layout.addWidget(QtWidgets.QLabel("per week"))
        layout.addWidget(self.weeks, 2)
        layout.addWidget(buttons)
        self.setStyleSheet(
            f"QDialog {{ background: {theme.panel}; }} QLabel {{ color: {theme.text}; }}"
        )

    def _pick(self, row: int) -> None:
        item = self.sessions.item(row, 0) if row >= 0 else None
        if item is None:
            return
        self.chosen = Path(str(item.data(QtCore.Qt.ItemDataRole.UserRole)))
        self.accept()
