"""Shared helpers of the pad firmware tests: the firmware package and the shared vectors."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from firmware_bridge.virtual.pad_firmware import firmware_dir, load_firmware

VECTORS = Path(__file__).resolve().parents[1] / "data" / "pad_protocol" / "vectors.json"


@pytest.fixture(scope="session")
def padfw() -> ModuleType:
    """The firmware package ``padfw`` from ``hardware/firmware`` (imported on CPython)."""
    module = load_firmware(firmware_dir())
    import padfw.calib
    import padfw.sampler
    import padfw.schedule  # noqa: F401

    return module


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    """``tests/data/pad_protocol/vectors.json``."""
    data: dict[str, Any] = json.loads(VECTORS.read_text())
    return data
