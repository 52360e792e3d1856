"""Calibration, tare and outlier gate: fits recover known sensors, plain data round-trips,
bad input is named, spikes go and ramps stay, stream = batch, and a real FSR 402 fits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.calibration import (
    Calibration,
    Calibrator,
    DeviceCalibration,
    FsrDivider,
    HysteresisCalibration,
    LinearCalibration,
    NotQuietError,
    OutlierConfig,
    OutlierGate,
    PowerLawCalibration,
    TableCalibration,
    Tare,
    calibration_from_dict,
    contact_conductance_from_rest,
    fit_linear,
    fit_power_law,
    fit_table,
    gate_outliers,
    is_quiet,
)
from analysis.stream import G_STANDARD

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
FSR_DIVIDER = FsrDivider(r_fixed_ohm=10_000.0, adc_max=4095.0, open_counts=3130.0)


def _raw_for_conductance(divider: FsrDivider, g_us: np.ndarray) -> np.ndarray:
    """Counts a divider reads at a conductance (the inverse of ``conductance_us``)."""
    rg = np.asarray(g_us) * 1e-6 * divider.r_fixed_ohm
    return divider.open_level + rg / (1.0 + rg) * (divider.rail_counts - divider.open_level)


def _json_round_trip(data: dict[str, Any]) -> Any:
    return json.loads(json.dumps(data))


# -- linear ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [3, 5, 8])
def test_linear_fit_recovers_a_load_cell(n: int) -> None:
    rng = np.random.default_rng(n)
    gain, offset = 0.0125, 8200.0  # N per count, counts at rest
    force = np.linspace(0.0, 200.0, n)
    raw = offset + force / gain + rng.normal(0, 2.0, n)  # 2 counts of noise = 0.025 N
    cal, report = fit_linear(raw, force)
    assert cal.gain_n_per_unit == pytest.approx(gain, rel=2e-3)
    assert cal.offset_units == pytest.approx(offset, abs=8.0)
    assert report.n_points == n and report.full_scale_n == 200.0
    assert report.rmse_n < 0.1 and report.rmse_pct_full_scale < 0.05
    assert report.max_error_n >= report.rmse_n
    assert len(report.residuals_n) == n and report.method == "residuals"


def test_linear_apply_is_vectorised_and_leaves_input_alone() -> None:
    cal = LinearCalibration(gain_n_per_unit=0.5, offset_units=10.0)
    raw = np.array([[10, 12], [14, 16]], dtype=np.int32)
    before = raw.copy()
    force = cal.apply(raw)
    assert force.dtype == np.float64 and force.shape == (2, 2)
    np.testing.assert_array_equal(force, [[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_array_equal(raw, before)
    assert np.isnan(cal.apply(np.array([np.nan]))[0])


# -- power law ------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [3, 5, 8])
def test_power_law_fit_recovers_an_fsr(n: int) -> None:
    rng = np.random.default_rng(100 + n)
    a, b = 0.4, 0.7  # N at 1 µS, exponent
    force = np.geomspace(2.0, 40.0, n)
    g = (force / a) ** (1 / b)
    raw = _raw_for_conductance(FSR_DIVIDER, g) + rng.normal(0, 0.5, n)
    cal, report = fit_power_law(raw, force, FSR_DIVIDER)
    assert cal.b == pytest.approx(b, abs=0.02)
    assert cal.a == pytest.approx(a, rel=0.08)
    assert report.rmse_pct_full_scale < 1.0
    np.testing.assert_allclose(cal.apply(raw), force, rtol=0.03)
    # the default threshold sits where the curve gives the 0.1 N break force
    assert cal.a * cal.contact_conductance_us**cal.b == pytest.approx(0.1)


def test_power_law_on_the_high_side_reads_rising_counts() -> None:
    divider = FsrDivider(r_fixed_ohm=4_700.0, fsr_on_high_side=True)
    force = np.array([1.0, 3.0, 9.0, 20.0])
    g = (force / 0.05) ** (1 / 1.1)
    raw = _raw_for_conductance(divider, g)
    assert np.all(np.diff(raw) > 0) and raw[0] > 0
    cal, report = fit_power_law(raw, force, divider)
    assert cal.b == pytest.approx(1.1, abs=1e-6)
    assert report.rmse_n < 1e-6
    assert cal.apply(np.array([0.0]))[0] == 0.0


def test_power_law_is_zero_below_contact_and_keeps_nan() -> None:
    cal = PowerLawCalibration(a=0.4, b=0.7, contact_conductance_us=2.0, divider=FSR_DIVIDER)
    raw = np.array([3200.0, 3130.0, *_raw_for_conductance(FSR_DIVIDER, [1.9, 2.1]), np.nan, 0.0])
    force = cal.apply(raw)
    assert force.dtype == np.float64
    assert force[0] == force[1] == force[2] == 0.0  # above open level, at it, below contact
    assert force[3] == pytest.approx(0.4 * 2.1**0.7)
    assert np.isnan(force[4])
    assert np.isfinite(force[5]) and force[5] > 1000  # shorted FSR: large, finite


def test_power_law_fit_names_a_wrong_orientation() -> None:
    force = np.array([2.0, 5.0, 9.0])
    raw = _raw_for_conductance(FSR_DIVIDER, (force / 0.4) ** (1 / 0.7))  # falls with load
    with pytest.raises(ValueError, match="orientation"):
        fit_power_law(raw, force, FsrDivider(fsr_on_high_side=True))


def test_power_law_fit_rejects_a_load_on_a_no_contact_reading() -> None:
    with pytest.raises(ValueError, match=r"point 0 .* no contact"):
        fit_power_law([3140.0, 2800.0, 2500.0], [1.0, 5.0, 9.0], FSR_DIVIDER)


def test_power_law_fit_skips_unloaded_points_and_those_below_contact() -> None:
    force = np.array([0.0, 0.2, 2.0, 5.0, 9.0])
    g = np.where(force > 0, (np.maximum(force, 1e-9) / 0.4) ** (1 / 0.7), 0.0)
    raw = _raw_for_conductance(FSR_DIVIDER, g)
    raw[1] = _raw_for_conductance(FSR_DIVIDER, np.array([0.5]))[0]  # below the threshold
    cal, report = fit_power_law(raw, force, FSR_DIVIDER, contact_conductance_us=1.0)
    assert cal.b == pytest.approx(0.7, abs=1e-9)
    assert report.n_points == 5
    assert report.residuals_n[0] == 0.0 and report.residuals_n[1] == pytest.approx(-0.2)
    with pytest.raises(ValueError, match="needs 3 loaded points above the contact threshold"):
        fit_power_law(raw, force, FSR_DIVIDER, contact_conductance_us=60.0)


def test_contact_threshold_from_rest_noise() -> None:
    rng = np.random.default_rng(3)
    rest = np.round(3130.0 + rng.normal(0, 4.0, 200))
    g = contact_conductance_from_rest(rest, FSR_DIVIDER, n_sigma=6.0)
    assert g > 0
    cal = PowerLawCalibration(0.4, 0.7, g, FSR_DIVIDER)
    assert np.all(cal.apply(rest) == 0.0)
    assert cal.apply(np.array([3130.0 - 40.0]))[0] > 0


def test_divider_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="r_fixed_ohm"):
        FsrDivider(r_fixed_ohm=0.0)
    with pytest.raises(ValueError, match="outside"):
        FsrDivider(open_counts=5000.0)
    with pytest.raises(ValueError, match="equals the rail"):
        FsrDivider(open_counts=0.0)
    with pytest.raises(ValueError, match="b > 0"):
        PowerLawCalibration(a=1.0, b=-1.0)


# -- table ----------------------------------------------------------------------------------------


def test_table_interpolates_and_extrapolates_by_its_policy() -> None:
    cal, report = fit_table([300.0, 100.0, 200.0, 400.0], [20.0, 0.0, 10.0, 40.0])
    assert cal.raw_points == (100.0, 200.0, 300.0, 400.0)  # sorted
    force = cal.apply(np.array([150.0, 350.0, 50.0, 500.0]))
    np.testing.assert_allclose(force, [5.0, 30.0, 0.0, 60.0])  # clamp low, extend high
    assert report.method == "leave-one-out" and report.n_points == 4
    # interior points predicted from their neighbours: 200 -> 10 (exact), 300 -> 20 vs 20
    np.testing.assert_allclose(report.residuals_n, [0.0, (10.0 + 40.0) / 2 - 20.0])


def test_table_for_an_fsr_whose_reading_falls_with_load() -> None:
    cal, _ = fit_table([3130.0, 2706.0, 2316.0, 1747.0], [0.0, 2.45, 4.90, 7.35])
    assert not cal.increasing
    force = cal.apply(np.array([3300.0, 2706.0, 1500.0]))
    assert force[0] == 0.0 and force[1] == pytest.approx(2.45)
    slope = (7.35 - 4.90) / (1747.0 - 2316.0)
    assert force[2] == pytest.approx(7.35 + slope * (1500.0 - 1747.0))


def test_table_rejects_non_monotone_and_repeated_points() -> None:
    with pytest.raises(ValueError, match="not monotone"):
        fit_table([100.0, 200.0, 300.0, 400.0], [0.0, 10.0, 5.0, 20.0])
    with pytest.raises(ValueError, match="more than once"):
        fit_table([100.0, 200.0, 200.0], [0.0, 10.0, 11.0])
    with pytest.raises(ValueError, match="strictly increase"):
        TableCalibration((200.0, 100.0), (0.0, 1.0))
    with pytest.raises(ValueError, match="change"):
        TableCalibration((100.0, 200.0), (1.0, 1.0))


# -- hysteresis -----------------------------------------------------------------------------------


def _hysteresis() -> HysteresisCalibration:
    return HysteresisCalibration(
        loading=LinearCalibration(1.0, 0.0),
        unloading=LinearCalibration(0.8, 0.0),
        span_samples=3,
        deadband_n=0.5,
    )


def test_hysteresis_picks_the_branch_by_the_direction_of_force() -> None:
    up = np.linspace(0.0, 50.0, 51)
    raw = np.concatenate((up, np.full(20, 50.0), up[::-1], np.full(10, 0.0)))
    force = _hysteresis().apply(raw)
    np.testing.assert_allclose(force[5:51], raw[5:51])  # loading
    np.testing.assert_allclose(force[51:71], raw[51:71])  # the hold stays on loading
    np.testing.assert_allclose(force[75:122], 0.8 * raw[75:122])  # unloading
    assert force.dtype == np.float64


@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(1, 60), min_size=1, max_size=12), seed=st.integers(0, 2**16))
def test_calibrator_any_chunking_gives_the_batch_result(cuts: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    raw = np.cumsum(rng.normal(0, 1.0, (300, 2)), axis=0) + 100.0
    device = DeviceCalibration("pad", (_hysteresis(), LinearCalibration(2.0, 1.0)), 0.0)
    whole = device.apply(raw)
    calibrator = Calibrator(device)
    bounds = np.unique(np.clip(np.cumsum(cuts), 0, raw.shape[0]))
    parts = [p for p in np.split(raw, bounds) if p.shape[0]]
    np.testing.assert_array_equal(np.concatenate([calibrator.update(p) for p in parts]), whole)


# -- plain data -----------------------------------------------------------------------------------


def _all_models() -> list[Calibration]:
    table, _ = fit_table([3130.0, 2706.0, 2316.0, 1747.0], [0.0, 2.45, 4.90, 7.35])
    power = PowerLawCalibration(0.4014, 0.675, 1.2, FSR_DIVIDER)
    return [
        LinearCalibration(0.0125, 8200.0),
        power,
        table,
        HysteresisCalibration(power, table, span_samples=4, deadband_n=0.1),
    ]


@pytest.mark.parametrize("cal", _all_models(), ids=lambda c: type(c).__name__)
def test_json_round_trip_gives_identical_forces(cal: Calibration) -> None:
    data = cal.to_dict()
    assert data["version"] == 1 and isinstance(data["model"], str)
    back = calibration_from_dict(_json_round_trip(data))
    assert back == cal
    raw = np.linspace(1500.0, 3300.0, 97)
    np.testing.assert_array_equal(back.apply(raw), cal.apply(raw))


def test_device_calibration_applies_per_channel_and_round_trips() -> None:
    device = DeviceCalibration(
        "AA:BB:CC:DD:EE:FF",
        (LinearCalibration(0.5, 10.0), LinearCalibration(-1.0, 0.0), _all_models()[1]),
        created_unix=1_760_000_000.0,
        notes="weights 0.25, 0.5, 0.75 kg",
    )
    x = np.array([[10.0, 1.0, 3130.0], [30.0, -4.0, 2316.0]], dtype=np.float32)
    force = device.apply(x)
    assert force.shape == (2, 3) and force.dtype == np.float64
    np.testing.assert_allclose(force[:, :2], [[0.0, -1.0], [10.0, 4.0]])
    assert force[0, 2] == 0.0 and force[1, 2] > 4.0
    back = DeviceCalibration.from_dict(_json_round_trip(device.to_dict()))
    assert back == device
    np.testing.assert_array_equal(back.apply(x), force)
    with pytest.raises(ValueError, match=r"3 channels: expected samples of shape \(n, 3\)"):
        device.apply(np.zeros((4, 2)))


def _broken(change: Any) -> dict[str, Any]:
    data = DeviceCalibration("pad", tuple(_all_models()), 0.0).to_dict()
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(version=2), "version 2 is not supported"),
        (lambda d: d.pop("device_id"), "missing key 'device_id'"),
        (lambda d: d.update(extra=1), "unknown key 'extra'"),
        (lambda d: d.update(channels="linear"), "'channels' must be a list"),
        (lambda d: d.update(device_id=""), "device_id must be a non-empty str"),
        (lambda d: d["channels"][0].update(model="cubic"), "channel 0: unknown calibration model"),
        (lambda d: d["channels"][0].update(model={}), "channel 0: unknown calibration model"),
        (lambda d: d["channels"][0].pop("model"), "channel 0: calibration has no 'model' key"),
        (lambda d: d["channels"][0].pop("offset_units"), "channel 0: .*missing key 'offset_units'"),
        (lambda d: d["channels"][0].update(version=True), "channel 0: .*version True"),
        (lambda d: d["channels"][0].update(gain_n_per_unit="1.0"), "'gain_n_per_unit' must be a"),
        (lambda d: d["channels"][0].update(gain_n_per_unit=0.0), "must not be zero"),
        (lambda d: d["channels"][1]["divider"].pop("adc_max"), "channel 1: .*divider.*'adc_max'"),
        (lambda d: d["channels"][1]["divider"].update(fsr_on_high_side=1), "true or false"),
        (lambda d: d["channels"][2]["force_points"].__setitem__(1, 99.0), "channel 2: .*monotone"),
        (lambda d: d["channels"][3]["loading"].update(version=0), "channel 3: .*loading branch"),
        (lambda d: d["channels"][3].update(span_samples=0.5), "'span_samples' must be an integer"),
    ],
)
def test_from_dict_says_what_is_wrong(change: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeviceCalibration.from_dict(_json_round_trip(_broken(change)))


def test_from_dict_rejects_non_mappings() -> None:
    with pytest.raises(ValueError, match="mapping"):
        calibration_from_dict([1, 2])
    with pytest.raises(ValueError, match="mapping"):
        DeviceCalibration.from_dict("pad")


# -- bad fit input --------------------------------------------------------------------------------


@pytest.mark.parametrize("fit", [fit_linear, fit_table])
@pytest.mark.parametrize(
    ("raw", "force", "message"),
    [
        ([1.0, 2.0], [0.0, 1.0], "needs 3 known loads at least, got 2"),
        ([1.0, 2.0, 3.0], [0.0, 1.0], "3 readings but 2 loads"),
        ([1.0, np.nan, 3.0], [0.0, 1.0, 2.0], r"raw\[1\] is not finite"),
        ([1.0, 2.0, 3.0], [0.0, np.inf, 2.0], r"force_n\[1\] is not finite"),
        ([[1.0, 2.0, 3.0]], [[0.0, 1.0, 2.0]], "must be 1-D"),
        ([1.0, 2.0, 3.0], [0.0, 1e300, 2.0], r"force_n\[1\] = 1e\+300 is not a load .* unit"),
        ([1.0, 2e15, 3.0], [0.0, 1.0, 2.0], r"raw\[1\] = 2e\+15 is not a reading .* unit"),
    ],
)
def test_fits_name_bad_input(fit: Any, raw: Any, force: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit(raw, force)


def test_power_law_fit_rejects_negative_loads_and_linear_a_flat_set() -> None:
    with pytest.raises(ValueError, match=r"point 1 has a negative load"):
        fit_power_law([2800.0, 2500.0, 2000.0], [1.0, -2.0, 5.0], FSR_DIVIDER)
    with pytest.raises(ValueError, match="gain is undefined"):
        fit_linear([5.0, 5.0, 5.0], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="gain would be zero"):
        fit_linear([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])


def test_power_law_fit_refuses_loads_that_follow_no_power_law() -> None:
    # loads that cannot go with their readings (here near-zero loads on firm contact) give
    # an absurd exponent: a clear error, not an overflow or a division by zero
    raw = [2776.97, 3071.14, 3942.97, 1200.10, 695.90, 2328.33]
    loads = [1e-300, 1e-300, 1e-300, 3e3, 1e-300, 1.0]
    with pytest.raises(ValueError, match="do not follow a power law"):
        fit_power_law(raw, loads, FsrDivider(r_fixed_ohm=10_000.0, adc_max=4095.0))


def test_fits_do_not_mutate_their_input() -> None:
    raw = np.array([300.0, 100.0, 200.0])
    force = np.array([20.0, 0.0, 10.0])
    for fit in (fit_linear, fit_table):
        fit(raw, force)
    np.testing.assert_array_equal(raw, [300.0, 100.0, 200.0])
    np.testing.assert_array_equal(force, [20.0, 0.0, 10.0])


# -- tare -----------------------------------------------------------------------------------------


def test_tare_subtracts_the_rest_median_per_channel() -> None:
    rng = np.random.default_rng(7)
    rest = np.column_stack((1.5 + rng.normal(0, 0.01, 200), -0.3 + rng.normal(0, 0.01, 200)))
    rest[50, 0] = 9.0  # one spike does not move a median
    tare = Tare.from_samples(rest)
    np.testing.assert_allclose(tare.offset_n, [1.5, -0.3], atol=0.005)
    force = np.array([[11.5, 4.7]])
    np.testing.assert_allclose(tare.apply(force), [[10.0, 5.0]], atol=0.005)
    assert tare.apply(force) is not force and force[0, 0] == 11.5
    assert Tare.from_dict(_json_round_trip(tare.to_dict())) == tare
    one = Tare.from_samples(np.full(10, 2.0))
    np.testing.assert_array_equal(one.apply(np.array([2.0, 5.0])), [0.0, 3.0])
    with pytest.raises(ValueError, match="2 channel offsets"):
        tare.apply(np.zeros((3, 3)))


def test_tare_refuses_while_pressing() -> None:
    t = np.arange(100) / 100.0
    pressing = np.column_stack((0.1 * np.ones_like(t), 2.0 + 3.0 * t))  # channel 1 ramps
    quiet = np.column_stack((0.1 + 0.01 * np.sin(40 * t), 2.0 + 0.02 * np.cos(30 * t)))
    assert is_quiet(quiet) and not is_quiet(pressing)
    with pytest.raises(NotQuietError, match="channel 1") as info:
        Tare.from_samples(pressing, max_std_n=0.1)
    assert info.value.std_n[1] > 0.8 and info.value.max_std_n == 0.1
    assert Tare.from_samples(quiet, max_std_n=0.1).offset_n[1] == pytest.approx(2.0, abs=0.02)
    with pytest.raises(ValueError, match="row 3 holds a non-finite force"):
        Tare.from_samples(np.array([0.0, 0.0, 0.0, np.nan]))


# -- outlier gate ---------------------------------------------------------------------------------

GATE = OutlierConfig(floor=0.3)  # newtons: 15 noise sigmas on the holds below
SPIKES = [  # (start, width in samples, height in N): single, double, triple; up and down
    (200, 1, 5.0),
    (400, 1, -4.0),
    (600, 2, 6.0),
    (800, 2, -3.0),
    (1000, 3, 8.0),
    (1200, 3, -5.0),
]


def _noisy_hold(n: int = 1400, seed: int = 0) -> np.ndarray:
    return 20.0 + np.random.default_rng(seed).normal(0, 0.02, n)


def test_gate_removes_short_spikes_and_nothing_else() -> None:
    clean = _noisy_hold()
    x = clean.copy()
    spike = np.zeros(x.size, dtype=bool)
    for start, width, height in SPIKES:
        x[start : start + width] += height
        spike[start : start + width] = True
    before = x.copy()
    gated, flagged = gate_outliers(x, GATE)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(flagged, spike)
    np.testing.assert_array_equal(gated[~spike], x[~spike])
    assert np.abs(gated[spike] - 20.0).max() < 0.1


def test_gate_keeps_a_four_sample_pulse_steps_and_fast_ramps() -> None:
    rng = np.random.default_rng(1)
    pulse = _noisy_hold(400)
    pulse[200:204] += 5.0  # lasts longer than max_spike_samples: real
    rate_hz = 1000.0
    t = np.arange(3000) / rate_hz
    # 150 kPa/s on a 2 cm² thumb is 30 N/s; then a step of 40 N from one sample to the next
    ramp = 30.0 * np.clip(t - 0.5, 0.0, 1.0) + 40.0 * (t >= 2.0) + rng.normal(0, 0.02, t.size)
    for x in (pulse, ramp, 30.0 * t, 40.0 * (t >= 2.0)):
        gated, flagged = gate_outliers(x, GATE)
        assert not flagged.any()
        np.testing.assert_array_equal(gated, x)


@pytest.mark.parametrize("rate_hz", [80.0, 1000.0])
@pytest.mark.parametrize("cycle_hz", [0.4, 1.0, 3.0])
def test_gate_keeps_the_peaks_of_kneading(rate_hz: float, cycle_hz: float) -> None:
    """A cycle peak is curved, not monotone; the window's own spread keeps it."""
    t = np.arange(round(10 * rate_hz)) / rate_hz
    noise = np.random.default_rng(4).normal(0, 0.02, t.size)
    x = 20.0 + 20.0 * (1.0 + np.cos(2 * np.pi * cycle_hz * t)) + noise
    _, flagged = gate_outliers(x, GATE)
    assert not flagged.any()


def test_gate_floor_keeps_a_quantised_signal() -> None:
    rng = np.random.default_rng(2)
    counts = np.round(8200.0 + rng.normal(0, 0.6, 5000))  # mostly 3 values: MAD is often 0
    _, flagged = gate_outliers(counts, OutlierConfig(floor=4.0))
    assert not flagged.any()
    _, flagged_without_floor = gate_outliers(counts, OutlierConfig(floor=1e-9))
    assert flagged_without_floor.sum() > 50  # what the floor is for


def test_gate_streams_with_a_fixed_delay_and_counts() -> None:
    x = _noisy_hold()
    for start, width, height in SPIKES:
        x[start : start + width] += height
    gate = OutlierGate(GATE)
    k = gate.delay_samples
    assert k == 3
    out = np.concatenate([gate.update(x[i : i + 100]) for i in range(0, x.size, 100)])
    tail = gate.flush()
    batch, flagged = gate_outliers(x, GATE)
    assert out.shape == x.shape and tail.shape == (k,)
    np.testing.assert_array_equal(out[:k], np.full(k, x[0]))
    np.testing.assert_array_equal(np.concatenate((out[k:], tail)), batch)
    assert gate.n_gated == flagged.sum() == 12
    assert gate.update(np.empty(0)).shape == (0,)


@settings(max_examples=40, deadline=None)
@given(
    cuts=st.lists(st.integers(1, 90), min_size=1, max_size=20),
    seed=st.integers(0, 2**16),
    two_channels=st.booleans(),
    with_nan=st.booleans(),
)
def test_gate_any_chunking_gives_the_batch_result(
    cuts: list[int], seed: int, two_channels: bool, with_nan: bool
) -> None:
    rng = np.random.default_rng(seed)
    n = 500
    x = np.cumsum(rng.normal(0, 0.05, (n, 2)), axis=0) + 10.0
    hits = rng.integers(0, n, 12)
    x[hits, rng.integers(0, 2, 12)] += rng.choice([-1.0, 1.0], 12) * rng.uniform(1.0, 9.0, 12)
    if with_nan:  # a dropped reading: never gated, and its neighbours' windows hold it
        x[rng.integers(10, n - 10)] = np.nan
    if not two_channels:
        x = x[:, 0]
    gate = OutlierGate(GATE)
    bounds = np.unique(np.clip(np.cumsum(cuts), 0, n))
    parts = [p for p in np.split(x, bounds) if p.shape[0]]
    streamed = np.concatenate([*(gate.update(p) for p in parts), gate.flush()])
    batch, flagged = gate_outliers(x, GATE)
    k = gate.delay_samples
    np.testing.assert_array_equal(streamed[:k], np.repeat(x[:1], k, axis=0))
    np.testing.assert_array_equal(streamed[k:], batch)
    assert gate.n_gated == flagged.sum()


@pytest.mark.parametrize("k", [1, 2, 3])
def test_gate_spans_near_the_floor_give_the_batch_result(k: int) -> None:
    # departures just under and over the floor, on noise whose windows rarely span it:
    # the streaming gate skips the Hampel test where a window spans less than the floor
    rng = np.random.default_rng(k)
    config = OutlierConfig(floor=1.0, max_spike_samples=k)
    x = np.cumsum(rng.normal(0, 0.1, 3000))
    hits = rng.integers(10, 2990, 60)
    x[hits] += rng.choice([-1.0, 1.0], 60) * rng.uniform(0.8, 1.3, 60)
    x[[1500, 1590]] = np.inf  # a window spanning infinity reaches the exact test
    gate = OutlierGate(config)
    parts = np.split(x, [7, 500, 1501, 1590, 2400])
    streamed = np.concatenate([*(gate.update(p) for p in parts), gate.flush()])
    batch, flagged = gate_outliers(x, config)
    np.testing.assert_array_equal(streamed[k:], batch)
    assert gate.n_gated == flagged.sum() > 10


def test_gate_short_streams_nan_and_bad_input() -> None:
    gate = OutlierGate(GATE)
    first = gate.update(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(first, [1.0, 1.0])
    np.testing.assert_array_equal(gate.flush(), [1.0, 1.0, 2.0])  # k - 2 leads, then 2 samples
    assert gate.flush().size == 0
    x = _noisy_hold(50)
    x[20] = np.nan
    gated, flagged = gate_outliers(x, GATE)
    assert np.isnan(gated[20]) and not flagged.any()
    gate.update(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="does not continue"):
        gate.update(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="floor"):
        OutlierConfig(floor=0.0)
    with pytest.raises(ValueError, match="max_spike_samples"):
        OutlierConfig(floor=1.0, max_spike_samples=0)


# -- real data: an Interlink FSR 402 on an ESP32 ADC ----------------------------------------------

FSR_LOADS_KG = {"240_260g": 0.25, "480_520g": 0.50, "730_770g": 0.75}


def _read_fsr_log(path: Path) -> np.ndarray:
    """Values of the ``Received value: N`` lines (the log also holds Ctrl-C chatter)."""
    prefix = "Received value:"
    lines = path.read_text(encoding="utf-8").splitlines()
    return np.array([float(line[len(prefix) :]) for line in lines if line.startswith(prefix)])


def _split_press(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(plateau, rest) of a press-hold-release log.

    The rest level is the median of the last 10 samples (every log ends at rest); the
    press runs from the first to the last sample more than 50 counts below it (~8 rest
    sigmas), and its plateau is that stretch without its first and last 10 %. Rest is
    everything outside the press and one sample of margin on each side.
    """
    level = np.median(values[-10:])
    below = np.flatnonzero(values < level - 50.0)
    first, last = int(below[0]), int(below[-1])
    press = values[first : last + 1]
    trim = press.size // 10
    rest = np.concatenate((values[: max(first - 1, 0)], values[last + 2 :]))
    return press[trim : press.size - trim], rest


@pytest.fixture(scope="module")
def fsr_logs() -> dict[str, np.ndarray]:
    paths = {k: DATA / f"fsr402_press_hold_release_{k}.txt" for k in FSR_LOADS_KG}
    if not all(p.exists() for p in paths.values()):
        pytest.skip(f"shared FSR 402 recordings not found under {DATA}")
    return {k: _read_fsr_log(p) for k, p in paths.items()}


def test_real_fsr402_power_law_fit(fsr_logs: dict[str, np.ndarray]) -> None:
    """A power law through three presses reproduces the loads; rest reads exactly 0 N.

    Divider reasoning. The reading falls with load from ~3130 of 4095 counts. With the
    FSR on the high side (FSR to the supply, fixed resistor to ground) the reading would
    start near 0 and rise with load, so the FSR is on the low side: a pull-up (10 kΩ,
    as in the origin's firmware) from the supply to the ADC node and the FSR from the
    node to ground, so a pressed FSR pulls the node down. An unloaded FSR 402 is
    > 10 MΩ, which with a bare 10 kΩ pull-up would read ~4091, not ~3130: the node's
    open-circuit level sits below the rail (a shunt to ground on the board or ADC input
    makes the pull-up a Thévenin source at ~3130 counts; the shunt also lowers the
    effective resistance, which only rescales the conductance, and the fitted ``a``
    absorbs that). So the open level is measured, as the median of the rest samples;
    the rest level is the same, 3125-3146, before and after every press, which a
    preloaded FSR (the other reading of a 3130 baseline) would not give after release.
    The data agree: taking 4095 as the open level instead fits worse (6.9 % vs 4.6 %
    of full scale) and reads ~1.5 N at rest. Fitting the high-side orientation fails
    (force would fall as conductance rises), which the last assertion checks.

    The recordings are finger presses on a scale (240-260 g, 480-520 g, 730-770 g), so
    the nominal load of each is good to about ±4 %; the FSR itself is not better than
    ±10 % here. Tolerances: each load within 12 %, RMSE below 6 % of full scale.
    """
    plateaus, loads, rests = [], [], []
    for name, kg in FSR_LOADS_KG.items():
        plateau, rest = _split_press(fsr_logs[name])
        plateaus.append(float(np.median(plateau)))
        loads.append(kg * G_STANDARD)
        rests.append(rest)
    rest = np.concatenate(rests)
    np.testing.assert_allclose(plateaus, [2706.0, 2316.0, 1747.0], atol=12.0)  # data README
    assert 3120.0 < np.median(rest) < 3140.0

    divider = FsrDivider(r_fixed_ohm=10_000.0, adc_max=4095.0, open_counts=float(np.median(rest)))
    contact = contact_conductance_from_rest(rest, divider, n_sigma=6.0)
    cal, report = fit_power_law(plateaus, loads, divider, contact_conductance_us=contact)

    np.testing.assert_allclose(cal.apply(plateaus), loads, rtol=0.12)
    assert report.rmse_pct_full_scale < 6.0
    assert report.full_scale_n == pytest.approx(0.75 * G_STANDARD)
    assert 0.5 < cal.b < 0.9  # conductance rises faster than force on this pad
    assert np.all(cal.apply(rest) == 0.0)  # the unloaded baseline reads 0 N, noise and all
    assert cal.apply(np.array([np.median(rest)]))[0] == 0.0
    force = cal.apply(fsr_logs["730_770g"])  # a whole press: never negative, no blow-up
    assert force.min() == 0.0 and force.max() < 12.0

    # the other reading of the baseline, an FSR preloaded to ~32 kΩ under a bare pull-up
    preloaded, preloaded_report = fit_power_law(plateaus, loads, FsrDivider(10_000.0, 4095.0))
    assert preloaded_report.rmse_pct_full_scale > report.rmse_pct_full_scale
    assert preloaded.apply(np.array([np.median(rest)]))[0] > 1.0
    with pytest.raises(ValueError, match="orientation"):
        fit_power_law(plateaus, loads, FsrDivider(10_000.0, 4095.0, fsr_on_high_side=True))


def test_real_fsr402_gate_keeps_presses_and_removes_injected_spikes(
    fsr_logs: dict[str, np.ndarray],
) -> None:
    """At ~10 Hz a press edge takes 1-3 samples; it is a step that stays, so it passes."""
    config = OutlierConfig(floor=60.0)  # counts: ~10 rest sigmas, above the wobble of a press
    for name, values in fsr_logs.items():
        gated, flagged = gate_outliers(values, config)
        assert not flagged.any(), name
        plateau, _ = _split_press(values)
        spiked = values.copy()
        middle = int(np.flatnonzero(values == plateau[plateau.size // 2])[0])
        spiked[middle] += 400.0  # an ADC glitch in the middle of the hold
        spiked[middle + 20 : middle + 22] -= 300.0
        gated, flagged = gate_outliers(spiked, config)
        assert flagged.sum() == 3, name
        assert np.abs(gated - values).max() < 40.0, name
