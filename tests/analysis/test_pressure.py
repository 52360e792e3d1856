"""Pressure and centre of pressure from force channels (analysis/pressure.py)."""

from __future__ import annotations

import numpy as np

from analysis.pressure import PressureMap
from analysis.stream import Channel, StreamInfo

PAD4 = StreamInfo("test", "pad", 100.0, tuple(Channel(f"f{i}", "N", "force") for i in range(4)))


def test_cop_is_the_force_weighted_corner_mean_and_nan_without_contact() -> None:
    x = np.array(
        [
            [1.0, 1.0, 1.0, 1.0],  # centred
            [0.0, 2.0, 2.0, 0.0],  # all on the right (+x) edge
            [3.0, 0.0, 0.0, 1.0],  # left: y = (-3 + 1) / 4
            [0.05, 0.05, 0.05, 0.0],  # 0.15 N: too light for a CoP
            [0.0, 0.0, 0.0, 0.0],
        ],
        np.float32,
    )
    pmap = PressureMap(PAD4, area_cm2=2.0)
    pressure, cop = pmap.pressure_and_cop(x)
    assert pressure is not None and cop is not None and cop.shape == (5, 2)
    np.testing.assert_allclose(pressure, x.sum(axis=1) * 5.0, rtol=1e-6)  # kPa = N / cm² x 10
    np.testing.assert_allclose(cop[:3], [[0.0, 0.0], [1.0, 0.0], [-1.0, -0.5]], atol=1e-7)
    assert np.isnan(cop[3:]).all()
    np.testing.assert_array_equal(pmap.cop(x), cop)
    np.testing.assert_allclose(pmap.pressure_kpa(x), pressure, rtol=1e-12)
