"""Stroke windows from pressure, centre of pressure and acceleration."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.strokes import STROKES, WindowFeatures, classify, window_features

RATE_HZ = 100.0
T = np.arange(200) / RATE_HZ  # one 2 s window


def _label(p=None, cop=None, acc=None) -> str:
    return classify(window_features(p, RATE_HZ, cop=cop, accel=acc)).stroke


def test_rest_hold_and_rhythm_from_one_channel() -> None:
    rng = np.random.default_rng(1)
    assert _label(rng.normal(0, 0.3, T.size)) == "rest"
    hold = 60 * (1 + 0.04 * np.sin(2 * np.pi * 0.25 * T)) + rng.normal(0, 0.3, T.size)
    assert _label(hold) == "hold"
    assert _label(70 * (0.55 + 0.45 * np.cos(2 * np.pi * 1.2 * T))) == "kneading"
    assert _label(70 * (1 + 0.15 * np.sin(2 * np.pi * 1.0 * T))) == "circular"


def test_cop_winding_tells_circles_from_kneading() -> None:
    p = 70 * (1 + 0.2 * np.sin(2 * np.pi * 1.0 * T))
    circle = np.column_stack([np.cos(2 * np.pi * T), np.sin(2 * np.pi * T)]) * 0.4
    assert _label(p, cop=circle) == "circular"
    still = np.column_stack([0.02 * np.sin(2 * np.pi * 1.0 * T), np.zeros(T.size)])
    assert _label(p, cop=still) == "kneading"
    f = window_features(p, RATE_HZ, cop=circle)
    assert f.winding_turns == pytest.approx(2.0, abs=0.05)


def test_cop_without_contact_has_no_winding() -> None:
    cop = np.full((T.size, 2), np.nan)
    assert window_features(np.zeros(T.size), RATE_HZ, cop=cop).winding_turns == 0.0


def test_motion_only_streams() -> None:
    rng = np.random.default_rng(2)
    g = np.array([0.0, 0.0, 9.81])
    still = g + rng.normal(0, 0.005, (T.size, 3))
    assert _label(acc=still) == "rest"
    circle = g + np.column_stack([np.cos(2 * np.pi * T), np.sin(2 * np.pi * T), np.zeros(T.size)])
    assert _label(acc=circle) == "circular"
    pulses = g + np.column_stack(
        [np.zeros(T.size), np.zeros(T.size), 1.5 * np.maximum(np.sin(2 * np.pi * 1.5 * T), 0)]
    )
    assert _label(acc=pulses) == "kneading"


def test_confidence_is_a_probability_and_labels_are_known() -> None:
    label = classify(window_features(np.full(T.size, 30.0), RATE_HZ))
    assert label.stroke in STROKES and 0.5 <= label.confidence <= 1.0


def test_a_window_needs_data() -> None:
    with pytest.raises(ValueError, match="pressure or acceleration"):
        classify(WindowFeatures())
