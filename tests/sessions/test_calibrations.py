"""Saved device calibrations: stored, read back, applied as a device connects, told when bad."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.calibration import DeviceCalibration, LinearCalibration
from analysis.stream import EventKind
from firmware_bridge import open_source
from sessions.calibrations import calibration_path, load_calibration, save_calibration
from sessions.live import LiveSession
from sessions.replay import analyze_session

SIM = "palpate simulator (seed 7)"  # how the simulated pad of seed 7 names itself


def _doubling(device: str = SIM, channels: int = 1) -> DeviceCalibration:
    return DeviceCalibration(device, (LinearCalibration(2.0),) * channels, 0.0, "test: x2")


def _run(folder: Path | None, record_to: Path | None = None) -> LiveSession:
    source = open_source("sim", seed=7, realtime=False, duration_s=20.0)
    session = LiveSession(source, calibrations=folder, record_to=record_to)
    with session:
        assert session.wait(60.0)
    return session


def test_a_calibration_is_stored_and_read_back(tmp_path: Path) -> None:
    cal = DeviceCalibration("AA:BB/01", (LinearCalibration(0.5, 10.0),), 1.0, "notes")
    path = save_calibration(cal, tmp_path)
    assert path == calibration_path("AA:BB/01", tmp_path) and path.name == "AA_BB_01.json"
    assert load_calibration("AA:BB/01", tmp_path) == cal
    assert load_calibration("CC:DD", tmp_path) is None
    assert not list(tmp_path.glob("*.tmp"))


def test_a_damaged_or_foreign_file_says_which_and_what_to_do(tmp_path: Path) -> None:
    path = calibration_path(SIM, tmp_path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"damaged .*calibrate the device again"):
        load_calibration(SIM, tmp_path)
    path.write_text(json.dumps(_doubling("another pad").to_dict()), encoding="utf-8")
    with pytest.raises(ValueError, match="belongs to 'another pad'"):
        load_calibration(SIM, tmp_path)


def test_a_live_session_applies_the_devices_calibration_and_records_newtons(
    tmp_path: Path,
) -> None:
    plain = _run(None)
    save_calibration(_doubling(), tmp_path / "cal")
    path = tmp_path / "s.palpate"
    calibrated = _run(tmp_path / "cal", record_to=path)
    a = plain.pressure.latest(10**6)[:, 1]
    b = calibrated.pressure.latest(10**6)[:, 1]
    assert a.shape == b.shape and np.nanmax(a) > 20.0
    np.testing.assert_allclose(b, 2.0 * a, rtol=1e-5, atol=1e-3)
    # the raw ring keeps what the device sent: what a new calibration is fitted to
    np.testing.assert_array_equal(
        calibrated.raw["sim"].latest(10**6)[:, 1], plain.raw["sim"].latest(10**6)[:, 1]
    )
    notes = [
        e.data["note"] for e in calibrated.poll_events() if e.data.get("label") == "calibration"
    ]
    assert notes == [f"calibration of {SIM} applied (test: x2)"]
    # the recording holds newtons: re-analysis gives the calibrated pressure, not 4x
    again = analyze_session(path)
    assert again.summary["peak_kpa"] == pytest.approx(calibrated.summary()["peak_kpa"], rel=1e-6)


@pytest.mark.parametrize(
    ("content", "told"),
    [
        ("{not json", "damaged"),
        (json.dumps(_doubling(channels=2).to_dict()), "has 2 channels, the device sends 1"),
    ],
)
def test_a_bad_calibration_is_told_and_the_device_reads_as_it_is(
    tmp_path: Path, content: str, told: str
) -> None:
    calibration_path(SIM, tmp_path).write_text(content, encoding="utf-8")
    plain, session = _run(None), _run(tmp_path)
    (sensor,) = [e for e in session.poll_events() if e.kind == EventKind.SENSOR]
    assert (
        sensor.data["reason"].startswith("calibration not applied")
        and told in sensor.data["reason"]
    )
    np.testing.assert_array_equal(
        session.pressure.latest(10**6)[:, 1], plain.pressure.latest(10**6)[:, 1]
    )


def test_palpate_record_applies_the_saved_calibration(tmp_path: Path) -> None:
    config = Path(os.environ["PALPATE_CONFIG_DIR"])
    save_calibration(_doubling(), config / "calibrations")
    args = ["record", "--device", "sim", "--seed", "7", "--seconds", "2", "--headless"]
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", *args, "--out", str(tmp_path / "r.palpate")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert f"calibration of {SIM} applied (test: x2)" in done.stdout


def test_the_terminal_live_view_applies_it_too(tmp_path: Path) -> None:
    from analysis.pipeline import Pipeline
    from ui.terminal_view import TerminalView, run_live

    def peak(folder: Path | None) -> tuple[float, str]:
        out = io.StringIO()
        source = open_source("sim", seed=7, realtime=False, duration_s=20.0)
        pipeline = asyncio.run(
            run_live(
                source,
                Pipeline,
                TerminalView(out, interactive=False),
                seconds=None,
                redraw_hz=1.0,
                calibrations=folder,
            )
        )
        return float(pipeline.result()["peak_kpa"]), out.getvalue()

    save_calibration(_doubling(), tmp_path)
    (plain, _), (calibrated, text) = peak(None), peak(tmp_path)
    assert calibrated == pytest.approx(2.0 * plain, rel=1e-4)
    assert f"calibration of {SIM} applied (test: x2)" in text
