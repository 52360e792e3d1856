"""Shared fixtures of the device-bridge tests: private config and state dirs, the data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
"""The real recordings (``../shared/data`` beside the repository); tests skip without them."""


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Remembered devices and link diagnostics go to a temporary folder, never the home dir."""
    monkeypatch.setenv("PALPATE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("PALPATE_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def shared_file() -> object:
    """``shared_file(name)``: the path of a shared recording, skipping the test without it."""

    def find(name: str) -> Path:
        path = SHARED_DATA / name
        if not path.exists():
            pytest.skip(f"{path} not present (shared recordings live beside the repository)")
        return path

    return find
