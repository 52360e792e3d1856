"""Fixtures for every test: private config and state folders."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings, remembered devices, calibrations and link diagnostics go to a temporary
    folder, never the person's home dir (subprocesses inherit it)."""
    monkeypatch.setenv("PALPATE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("PALPATE_STATE_DIR", str(tmp_path / "state"))
