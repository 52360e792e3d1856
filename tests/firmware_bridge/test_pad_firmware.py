"""The pad's real firmware on CPython, met by palpate through bleak like a real pad.

``firmware_bridge.virtual.pad_firmware`` runs ``hardware/firmware/padfw`` with a fake ADC
(FSRs in the README's divider), a fake IMU and a bumble GATT server; ``PadSource``
scans, connects, reads info, writes commands and decodes notifications over a real
GATT link. These tests go from ADC counts to kPa on the session clock, through the
calibration procedure of ``hardware/README.md`` (raw staircase, power-law fit, stored
on the pad), and check the firmware's commands, refusals, battery and idle behaviour.
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from bleak import BleakClient
from bumble.core import ProtocolError

from analysis.calibration import (
    DeviceCalibration,
    FsrDivider,
    HysteresisCalibration,
    LinearCalibration,
    PowerLawCalibration,
    contact_conductance_from_rest,
    fit_power_law,
)
from analysis.pipeline import Pipeline, PipelineConfig
from analysis.stream import Frame
from firmware_bridge.devices import pad
from firmware_bridge.devices.pad import PadSource
from firmware_bridge.virtual.air import Air
from firmware_bridge.virtual.backend import BumbleClient
from firmware_bridge.virtual.pad_firmware import FirmwarePad, FsrModel, load_firmware

MODEL = FsrModel()
DIVIDER = FsrDivider(MODEL.r_fixed_ohm, 4095.0, fsr_on_high_side=True)
WEIGHTS_N = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 40.0)  # per FSR: a 0-160 N staircase on 4
STEP_S = 0.25
SETTLE_S = 0.06


class Collector:
    """Streams a PadSource in the background, keeping every frame."""

    def __init__(self, source: PadSource) -> None:
        self.source = source
        self.frames: list[Frame] = []
        self._stop = False
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Collector:
        await self.source.__aenter__()
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def _run(self) -> None:
        async for frame in self.source.frames():
            self.frames.append(frame)
            if self._stop:
                break

    async def __aexit__(self, *exc: object) -> None:
        # stop at the next frame rather than cancel: on Python 3.11 asyncio.wait_for (inside
        # BleSource's frame loop) can swallow a cancellation that races a packet
        assert self._task is not None
        self._stop = True
        await asyncio.wait_for(self._task, 5.0)
        await self.source.__aexit__(None, None, None)

    def now(self) -> float:
        """The session clock (seconds since the source opened)."""
        return asyncio.get_running_loop().time() - self.source._t0

    def data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        frames = self.frames
        t = np.concatenate([f.t for f in frames])
        x = np.concatenate([f.x for f in frames]).astype(np.float64)
        index = np.concatenate([f.index + np.arange(f.n) for f in frames])
        return t, x, index


def _hal(source: PadSource) -> Any:
    peer = source.peer
    assert isinstance(peer, FirmwarePad) and peer.hal is not None
    return peer.hal


async def _staircase(
    col: Collector, set_level: Callable[[float], None], levels: tuple[float, ...]
) -> list[tuple[float, float]]:
    """Hold each level for STEP_S; return the (start, end) session time of each plateau."""
    spans = []
    for level in levels:
        set_level(level)
        start = col.now()
        await asyncio.sleep(STEP_S)
        spans.append((start + SETTLE_S, col.now() - 0.03))
    await asyncio.sleep(0.08)  # the last plateau's packets arrive
    return spans


def _plateaus(t: np.ndarray, x: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    return np.array([np.median(x[(t >= a) & (t <= b)], axis=0) for a, b in spans])


async def _calibrate() -> tuple[DeviceCalibration, np.ndarray]:
    """The README's procedure on a pad without calibration: raw staircase, fit per channel."""
    source = PadSource(virtual={"firmware": True, "calibrated": False, "seed": 5}, rate_hz=500)
    async with Collector(source) as col:
        assert source.pad is not None and source.pad.raw and not source.pad.calibrated
        assert [c.unit for c in source.info.channels[:4]] == ["adc"] * 4
        hal = _hal(source)
        spans = await _staircase(
            col, lambda w: setattr(hal.adc, "forces_at", lambda t_s: np.full(4, w)), WEIGHTS_N
        )
    t, x, _ = col.data()
    raw = _plateaus(t, x[:, :4], spans)  # (steps, 4) ADC counts
    rest = x[(t >= spans[0][0]) & (t <= spans[0][1]), :4]
    channels = []
    for ch in range(4):
        contact = contact_conductance_from_rest(rest[:, ch], DIVIDER)
        cal, report = fit_power_law(
            raw[:, ch], np.array(WEIGHTS_N), DIVIDER, contact_conductance_us=contact
        )
        assert report.rmse_pct_full_scale < 2.0, report
        channels.append(cal)
    return DeviceCalibration("palpate-pad 3F2A", tuple(channels), created_unix=1.77e9), raw


@pytest.fixture(scope="module")
def calibrated() -> tuple[DeviceCalibration, np.ndarray]:
    """The calibration the README's procedure gives on a virtual pad (and its raw steps)."""
    return asyncio.run(_calibrate())


def test_adc_counts_become_kpa_on_the_session_clock(
    calibrated: tuple[DeviceCalibration, np.ndarray],
) -> None:
    """Raw staircase -> fitted calibration stored on the pad -> the pad sends newtons that
    equal the calibration of its ADC counts -> palpate's pipeline gives kPa, and a step in
    the ADC shows at the right time on the session clock."""
    calibration, raw_steps = calibrated
    assert np.all(np.diff(raw_steps[1:], axis=0) > 0)  # counts rise with load (high-side FSR)
    files = {"calibration.json": json.dumps(calibration.to_dict())}

    counts = [
        [0, 0, 0, 0],
        [300, 310, 290, 305],
        [1200, 900, 1500, 1000],
        [2600, 2500, 2700, 2550],
        [3500, 3400, 3300, 3600],
    ]
    area_cm2 = 4.0

    async def run() -> tuple[Collector, list[tuple[float, float]], list[float]]:
        source = PadSource(
            virtual={"firmware": True, "files": files, "seed": 6, "has_accel": False}, rate_hz=1000
        )
        async with Collector(source) as col:
            assert source.pad is not None and source.pad.calibrated and not source.pad.raw
            assert source.pad.calibrated_unix == 1_770_000_000
            hal = _hal(source)
            changes: list[float] = []

            def pin(step: float) -> None:
                hal.adc.fixed_counts = counts[int(step)]
                changes.append(col.now())

            spans = await _staircase(col, pin, tuple(float(i) for i in range(len(counts))))
        return col, spans, changes

    col, spans, changes = asyncio.run(run())
    t, x, index = col.data()
    assert [c.unit for c in col.source.info.channels] == ["N"] * 4
    np.testing.assert_array_equal(np.diff(index), 1)  # nothing lost
    # 1 kHz on the session clock (the aligner may nudge a packet while it settles)
    assert np.mean(np.abs(np.diff(t) - 0.001) < 2e-4) > 0.98
    assert (t[-1] - t[0]) / (t.size - 1) == pytest.approx(0.001, rel=0.01)

    expected_n = np.array(
        [[cal.apply(c[i]) for i, cal in enumerate(calibration.channels)] for c in counts],
        dtype=np.float64,
    ).reshape(len(counts), 4)
    got_n = _plateaus(t, x, spans)
    np.testing.assert_allclose(got_n, expected_n, atol=0.0051)  # 0.01 N counts on the pad

    # kPa: palpate's pipeline over the whole stream, as live
    pipe = Pipeline(col.source.info, PipelineConfig(area_cm2=area_cm2))
    blocks = [pipe.process(f) for f in col.frames] + [pipe.flush()]
    kpa = np.concatenate([b.pressure_kpa for b in blocks])
    kpa_t = np.concatenate([b.t for b in blocks])  # whole 20 ms blocks, not frame by frame
    got_kpa = np.array([np.median(kpa[(kpa_t >= a) & (kpa_t <= b)]) for a, b in spans])
    np.testing.assert_allclose(
        got_kpa, expected_n.sum(axis=1) * 10.0 / area_cm2, rtol=1e-3, atol=0.02
    )

    # the session clock: each step appears where it was made (ADC read -> grid time ->
    # notification -> clock alignment), within a packet's worth
    total = x.sum(axis=1)
    for step in range(1, len(counts)):
        target = expected_n[step].sum()
        first = int(np.flatnonzero((np.abs(total - target) < 0.05) & (t > changes[step] - 0.1))[0])
        assert changes[step] - 0.003 <= t[first] <= changes[step] + 0.03, (step, t[first], changes)


def test_known_weights_read_back_within_the_fit_error(
    calibrated: tuple[DeviceCalibration, np.ndarray],
) -> None:
    """After calibrating, the weights themselves (through the noisy FSR model) read back
    within 3 % (and 0.05 N) on every channel."""
    calibration, _ = calibrated
    files = {"calibration.json": json.dumps(calibration.to_dict())}
    weights = (0.0, 3.0, 8.0, 15.0, 30.0)

    async def run() -> tuple[Collector, list[tuple[float, float]]]:
        source = PadSource(virtual={"firmware": True, "files": files, "seed": 9}, rate_hz=500)
        async with Collector(source) as col:
            hal = _hal(source)
            spans = await _staircase(
                col, lambda w: setattr(hal.adc, "forces_at", lambda t_s: np.full(4, w)), weights
            )
        return col, spans

    col, spans = asyncio.run(run())
    t, x, _ = col.data()
    got = _plateaus(t, x[:, :4], spans)
    want = np.array(weights)[:, None] * np.ones(4)
    np.testing.assert_allclose(got, want, rtol=0.03, atol=0.05)
    acc = x[:, 4:]
    np.testing.assert_allclose(np.median(acc, axis=0), [0.0, 0.0, 9.80665], atol=0.05)


def test_rate_tare_and_accelerometer_commands_take_effect() -> None:
    async def run() -> tuple[Collector, Any, list[tuple[float, float]]]:
        source = PadSource(
            virtual={"firmware": True, "seed": 2}, rate_hz=200, accel=False, tare=True
        )
        hal: Any = None

        async with Collector(source) as col:
            hal = _hal(source)
            hal.adc.forces_at = lambda t_s: np.full(4, 7.0)
            await asyncio.sleep(0.1)
            source.peer.app.command(bytes([pad.OP_TARE]))  # tare under a constant load
            await asyncio.sleep(0.5)
            spans = [(col.now() - 0.3, col.now() - 0.05)]
            await asyncio.sleep(0.1)
        return col, hal, spans

    col, hal, spans = asyncio.run(run())
    info = col.source.info
    assert info.rate_hz == 200.0 and len(info.channels) == 4  # no accelerometer columns
    t, x, _ = col.data()
    assert np.median(np.diff(t)) == pytest.approx(0.005, rel=0.02)
    np.testing.assert_allclose(_plateaus(t, x, spans)[0], 0.0, atol=0.06)  # tared
    assert any(line.startswith("tare:") for line in hal.logs)
    assert hal.radio.commands[:3] == [bytes.fromhex("03c800"), bytes.fromhex("0500"), b"\x04"]
    assert not hal.imu.powered


async def _with_client(
    options: dict[str, Any], body: Callable[[BleakClient, FirmwarePad], Any]
) -> Any:
    air = Air()
    peer = FirmwarePad(air, options)
    await peer.start()
    try:
        async with BleakClient(peer.address, backend=BumbleClient, air=air) as client:
            return await body(client, peer)
    finally:
        await peer.stop()


def test_bad_commands_are_refused_with_att_errors_and_recorded_in_info() -> None:
    async def body(client: BleakClient, peer: FirmwarePad) -> list[tuple[str, Any]]:
        results = []
        for hexed in ("0502", "ff", "030000", ""):
            try:
                await client.write_gatt_char(pad.CONTROL_UUID, bytes.fromhex(hexed), response=True)
                results.append((hexed, None))
            except ProtocolError as err:
                results.append((hexed, err.error_code))
        info = pad.decode_info(await client.read_gatt_char(pad.INFO_UUID))
        await client.write_gatt_char(pad.CONTROL_UUID, struct.pack("<BH", 3, 333), response=True)
        after = pad.decode_info(await client.read_gatt_char(pad.INFO_UUID))
        battery = await client.read_gatt_char("00002a19-0000-1000-8000-00805f9b34fb")
        return [("results", results), ("info", info), ("after", after), ("battery", battery)]

    out = dict(asyncio.run(_with_client({"has_accel": False}, body)))
    assert out["results"] == [("0502", 0x81), ("ff", 0x80), ("030000", 0x81), ("", 0x0D)]
    assert out["info"].last_command == (0, 0x0D) and out["info"].protocol == (1, 1)
    assert out["after"].last_command == (3, 0) and out["after"].rate_hz == 400
    assert out["battery"] == bytes([71])  # 3950 mV on the LiPo curve


def test_a_hysteresis_calibration_is_refused_and_the_pad_sends_raw_counts() -> None:
    branch = LinearCalibration(0.01, 0.0)
    cal = DeviceCalibration("p", (HysteresisCalibration(branch, branch),) * 4, created_unix=1.0)
    files = {"calibration.json": json.dumps(cal.to_dict())}

    async def body(client: BleakClient, peer: FirmwarePad) -> pad.PadInfo:
        return pad.decode_info(await client.read_gatt_char(pad.INFO_UUID))

    info = asyncio.run(_with_client({"files": files}, body))
    assert info.raw and not info.calibrated and info.force_lsb_n == 1.0


def test_idle_pad_advertises_slowly_then_sleeps() -> None:
    async def run() -> Any:
        air = Air()
        peer = FirmwarePad(air, {"files": {"pad.json": json.dumps({"sleep_after_s": 0})}})
        peer.radio.advertise_timeout_s = 0.05
        await peer.start()
        await asyncio.sleep(0.3)
        async with BleakClient(peer.address, backend=BumbleClient, air=air) as client:
            await client.write_gatt_char(pad.CONTROL_UUID, b"\x01", response=True)
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.2)
        await peer.stop()
        return peer.hal

    hal = asyncio.run(run())
    assert hal.modes[:2] == ["idle", "sleep"]  # nobody came: deep sleep
    assert "active" in hal.modes and hal.modes[-1] in ("idle", "sleep")
    assert any("deep sleep" in line for line in hal.logs)


def test_the_firmware_loader_finds_the_source_tree() -> None:
    padfw = load_firmware()
    assert padfw.VERSION == (1, 0, 0)
    assert "hardware/firmware/padfw" in str(padfw.__file__).replace("\\", "/")


def test_power_law_on_the_pad_equals_palpate_s_within_a_count() -> None:
    """The pad's lookup tables give what analysis.calibration gives, to 0.01 N."""
    load_firmware()
    from padfw import calib

    cals = (
        PowerLawCalibration(6e-4, 1.45, 40.0, DIVIDER),
        PowerLawCalibration(2e-3, 1.1, 10.0, FsrDivider(10_000.0, 4095.0, open_counts=4000.0)),
        LinearCalibration(0.02, 50.0),
    )
    text = json.dumps(DeviceCalibration("x", cals, 1.0).to_dict())
    tables = calib.Calibration(text, 3).tables
    raw = np.arange(4096.0)
    for cal, table in zip(cals, tables, strict=True):
        want = np.clip(np.round(cal.apply(raw) / 0.01), -32768, 32767)
        np.testing.assert_array_equal(np.asarray(table), want)
