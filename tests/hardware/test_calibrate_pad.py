"""``hardware/calibrate_pad.py``: the README's calibration procedure against the pad firmware.

The tool opens a virtual pad running the real firmware without a calibration (raw
counts), the test plays the person putting weights on the puck (the fake ADC's FSRs
feel the weight shared over the four sensors), and the written ``calibration.json``,
stored on a second virtual pad, makes that pad read the weights in newtons.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from analysis.calibration import DeviceCalibration
from analysis.stream import G_STANDARD
from firmware_bridge.devices.pad import PadSource

TOOL = Path(__file__).resolve().parents[2] / "hardware" / "calibrate_pad.py"
WEIGHTS_KG = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 12.0]


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("calibrate_pad", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _args(tool: ModuleType, out: Path, *extra: str) -> Any:
    weights = ",".join(f"{w:g}" for w in WEIGHTS_KG)
    return tool.build_parser().parse_args(
        [
            "--weights-kg",
            weights,
            "--seconds",
            "0.25",
            "--settle-s",
            "0.08",
            "--out",
            str(out),
            *extra,
        ]
    )


def _person(holder: dict[str, Any], share: np.ndarray) -> Any:
    async def ask(weight_kg: float) -> None:
        source = holder["source"]
        hal = source.driver.peer.hal if hasattr(source, "driver") else source.peer.hal
        force = weight_kg * G_STANDARD * share
        hal.adc.forces_at = lambda t_s: force

    return ask


def test_the_staircase_gives_a_calibration_that_reads_the_weights(
    tool: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "calibration.json"
    holder: dict[str, Any] = {}
    original = tool.open_source

    def opening(spec: str, **options: Any) -> Any:
        holder["source"] = original(spec, **options)
        return holder["source"]

    tool.open_source = opening
    try:
        device = asyncio.run(
            tool.calibrate(
                "virtual:pad",
                _args(tool, out),
                _person(holder, np.full(4, 0.25)),
                peer={"firmware": True, "calibrated": False, "seed": 11},
            )
        )
    finally:
        tool.open_source = original
    printed = capsys.readouterr().out
    assert printed.count("channel ") == 4 and "mpremote cp" in printed
    stored = DeviceCalibration.from_dict(json.loads(out.read_text()))
    assert stored == device and stored.device_id == "3F2A"
    assert "staircase 0,0.25,0.5,1,2,4,8,12 kg" in stored.notes

    async def read_back() -> np.ndarray:
        files = {"calibration.json": out.read_text()}
        source = PadSource(virtual={"firmware": True, "files": files, "seed": 12}, rate_hz=500)
        readings = []
        async with source:
            hal = source.peer.hal  # type: ignore[union-attr]
            for kg in (0.0, 1.5, 6.0, 10.0):
                hal.adc.forces_at = lambda t_s, kg=kg: np.full(4, kg * G_STANDARD / 4)
                got = []
                async for frame in source.frames():
                    got.append(frame.x[:, :4])
                    if sum(len(g) for g in got) > 200:
                        break
                readings.append(np.median(np.concatenate(got)[-100:].sum(axis=1)))
        return np.array(readings)

    totals = asyncio.run(read_back())
    np.testing.assert_allclose(
        totals, np.array([0.0, 1.5, 6.0, 10.0]) * G_STANDARD, rtol=0.03, atol=0.05
    )


def test_a_calibrated_pad_is_refused_with_one_clear_line(
    tool: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = tool.main(
        ["--device", "virtual:pad", "--weights-kg", "0,1,2,4,8", "--out", str(tmp_path / "c.json")]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert "already has a calibration" in err and "mpremote rm :calibration.json" in err
    assert not (tmp_path / "c.json").exists()


def test_bad_staircases_are_refused(tool: ModuleType) -> None:
    from analysis.calibration import FsrDivider

    divider = FsrDivider(3300.0, 4095.0, fsr_on_high_side=True)
    steps = [np.full((20, 4), 1.0)] + [np.full((20, 4), 500.0 * k) for k in range(1, 5)]
    with pytest.raises(tool.CalibrationProblem, match="start at 0 kg"):
        tool.fit_channels(steps, [1, 2, 3, 4, 5], divider)
    with pytest.raises(tool.CalibrationProblem, match="increasing order"):
        tool.fit_channels(steps, [0, 2, 1, 4, 5], divider)
    with pytest.raises(tool.CalibrationProblem, match="calibrate all channels first"):
        tool.fit_channels(steps, [0, 1, 2, 4, 5], divider, channel=1)
    with pytest.raises(SystemExit):
        tool.build_parser().parse_args(["--weights-kg", "0,x"])
