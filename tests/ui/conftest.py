"""GUI tests run offscreen with settings in a scratch file (never the person's own)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    """QSettings in a scratch ini file."""
    QtCore = pytest.importorskip("PySide6.QtCore")
    return QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
