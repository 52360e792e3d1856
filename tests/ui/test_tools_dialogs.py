"""Calibration wizard and guided pain-threshold test: the procedures and their dialogs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.calibration import DeviceCalibration
from analysis.stream import G_STANDARD
from firmware_bridge.devices.simulator import Script, SimulatedPad, simulate
from sessions.live import LiveSession
from ui.calibration_steps import CalibrationSteps
from ui.pain_test import PainTest


def held(force_n: float, seed: int) -> np.ndarray:
    """Two seconds of the simulated load cell holding ``force_n`` (rows t, force)."""
    level = force_n * 10.0 / 2.0  # kPa on the default 2 cm²
    steps = [("hold", 4.0, level, {"ramp_kpa_s": 200.0})] if force_n else [("rest", 4.0)]
    _info, frame = simulate(Script.scripted(steps), seed=seed, rate_hz=100.0)
    return np.column_stack([frame.t, frame.x[:, 0]])[-200:]


def test_calibration_from_known_weights_on_the_simulated_load_cell(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # the simulated "weight" is a person holding still, breathing included (1.5-3 %):
    # a looser steadiness limit than the 2 % meant for real weights
    steps = CalibrationSteps("sim-pad", channels=1, max_relative_spread=0.06)
    for i, kg in enumerate((0.0, 1.0, 2.0, 5.0)):
        steps.capture(held(kg * G_STANDARD, seed=i), channel=0, known_kg=kg)
    cal, report = steps.fit("linear", 0)
    # the simulator reports newtons already: the fit is the identity within its noise
    assert cal.gain_n_per_unit == pytest.approx(1.0, abs=0.03)
    assert report.rmse_pct_full_scale < 2.0 and report.n_points == 4
    path = steps.save("linear", tmp_path)
    back = DeviceCalibration.from_dict(json.loads(path.read_text()))
    assert back.device_id == "sim-pad" and back.n_channels == 1


def test_calibration_refuses_what_it_cannot_trust() -> None:
    steps = CalibrationSteps("d", channels=1)
    t = np.arange(100) / 100.0
    moving = np.column_stack([t, np.linspace(100, 400, 100)])
    steps.capture(np.column_stack([t, np.full(100, 100.0)]), 0, 0.0)
    with pytest.raises(ValueError, match="not steady"):
        steps.capture(moving, 0, 1.0)
    with pytest.raises(ValueError, match="at least 3 known weights"):
        steps.fit("linear", 0)
    with pytest.raises(ValueError, match="0 kg or more"):
        steps.capture(np.column_stack([t, np.full(100, 3.0)]), 0, -1.0)


def test_pain_test_measures_a_standard_ramp_and_flags_a_fast_one() -> None:
    t = np.arange(0, 3, 0.01)
    fast = PainTest()
    fast.update(t, 120.0 * t, np.full(t.size, 120.0))
    result = fast.mark()
    assert not result.rate_ok and result.mean_rate_kpa_s == pytest.approx(120, rel=0.05)
    with pytest.raises(ValueError, match="no ramp yet"):
        PainTest().mark()


def test_pain_test_dialog_over_a_simulated_ramp(qtbot) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("pytestqt")
    from ui.pain_test import PainTestDialog
    from ui.theme import DARK

    script = Script.scripted([("rest", 1.0), ("hold", 5.0, 250.0, {"ramp_kpa_s": 50.0})])
    session = LiveSession(SimulatedPad(script=script, seed=2, realtime=False, block_s=0.02))
    with session:
        assert session.wait(30.0)
    dialog = PainTestDialog(session, DARK)
    qtbot.addWidget(dialog)
    dialog.poll()
    dialog.mark()
    r = dialog.result
    assert r is not None and r.threshold_kpa == pytest.approx(250, abs=12)
    assert r.rate_ok and r.mean_rate_kpa_s == pytest.approx(50, rel=0.15)
    assert dialog.ceiling_kpa == pytest.approx(0.8 * r.threshold_kpa)
    assert "Pain threshold" in dialog.outcome.text()


def test_calibration_wizard_captures_from_the_session(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("pytestqt")
    from ui.calibration_wizard import CalibrationWizard

    session = LiveSession(SimulatedPad(seed=3, realtime=False, duration_s=2.5, block_s=0.02))
    with session:
        assert session.wait(30.0)
    wizard = CalibrationWizard(session, "sim")
    qtbot.addWidget(wizard)
    wizard.weight.setValue(0.0)
    wizard.capture()  # the demo starts at rest: a steady 0 kg
    assert wizard.table.rowCount() == 1 and "captured 0 kg" in wizard.message.text()
    assert "at least 3" in wizard.report.text()
