"""The pad's real firmware (``hardware/firmware/padfw``) running on CPython as a virtual pad.

The firmware's logic is written against a small HAL (see ``padfw.app``); this module
is that HAL on a PC:

- :class:`FsrAdc`: a fake 12-bit ADC. Each force channel is an FSR (conductance
  ``G = (F / a)**(1 / b)``, open below its break force) on the high side of a
  divider with a 3.3 kΩ resistor to ground, as ``hardware/README.md`` wires it; the
  forces come from the simulated pad (or are set by a test), plus read noise;
- :class:`FakeImu`: gravity on z plus noise, milli-g;
- the pad clock and timer on the asyncio loop (a timer that fires late, as a soft
  interrupt does, is what the firmware's schedule catches up on);
- storage in memory (``calibration.json``, ``pad.json``);
- :class:`BumbleRadio`: the GATT server (pad service and Battery Service) on a
  bumble virtual controller, advertising like the real pad; a non-zero command
  result is answered with that ATT error, a full notification queue refuses the
  notification.

:class:`FirmwarePad` puts it together with the virtual-peripheral interface of
:mod:`firmware_bridge.virtual.peer` (``start``/``stop``), so ``PadSource`` connects to
the firmware through bleak exactly as to a real pad. The firmware is loaded from the
source tree (``hardware/firmware``, or the folder in ``$PALPATE_PAD_FIRMWARE``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from bumble.att import ATT_Error
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.profiles.battery_service import BatteryService
from numpy.typing import NDArray

from analysis.calibration import DeviceCalibration, FsrDivider, PowerLawCalibration
from firmware_bridge.errors import BridgeError
from firmware_bridge.virtual.air import Air

__all__ = [
    "BumbleRadio",
    "FakeImu",
    "FirmwareHal",
    "FirmwarePad",
    "FsrAdc",
    "FsrModel",
    "firmware_dir",
    "load_firmware",
]

FIRMWARE_ENV = "PALPATE_PAD_FIRMWARE"


def firmware_dir() -> Path:
    """The folder holding ``padfw/`` (``$PALPATE_PAD_FIRMWARE`` or the source tree's)."""
    env = os.environ.get(FIRMWARE_ENV)
    folder = Path(env) if env else Path(__file__).resolve().parents[2] / "hardware" / "firmware"
    if not (folder / "padfw" / "__init__.py").is_file():
        raise BridgeError(
            f"the pad firmware is not at {folder}; run palpate from a source checkout "
            f"or set {FIRMWARE_ENV} to the hardware/firmware folder"
        )
    return folder


def load_firmware(folder: Path | None = None) -> ModuleType:
    """Import the firmware package ``padfw`` (and ``padfw.app``) from ``folder``."""
    folder = folder or firmware_dir()
    init = folder / "padfw" / "__init__.py"
    loaded = sys.modules.get("padfw")
    if loaded is not None and Path(str(loaded.__file__)).resolve() == init.resolve():
        importlib.import_module("padfw.app")
        return loaded
    for name in [m for m in sys.modules if m == "padfw" or m.startswith("padfw.")]:
        del sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        "padfw", init, submodule_search_locations=[str(init.parent)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["padfw"] = module
    spec.loader.exec_module(module)
    importlib.import_module("padfw.app")
    return module


# -- the fake sensors ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FsrModel:
    """An FSR 402-like sensor in the high-side divider of ``hardware/README.md``.

    ``F = a * G**b`` (``G`` in µS), open (``leak_us``) below ``break_n``; the
    defaults follow the FSR 402 data sheet's typical curve (6 kΩ at 1 N, 1 kΩ near
    10 N, 250 Ω at 100 N).
    """

    a: float = 6.0e-4
    b: float = 1.45
    break_n: float = 0.15
    leak_us: float = 0.1
    r_fixed_ohm: float = 3300.0
    adc_max: int = 4095
    noise_counts: float = 1.0

    def conductance_us(self, force_n: NDArray[np.float64]) -> NDArray[np.float64]:
        f = np.maximum(np.asarray(force_n, np.float64), 0.0)
        pressed = f >= self.break_n
        return np.where(
            pressed, (np.where(pressed, f, 1.0) / self.a) ** (1.0 / self.b), self.leak_us
        )

    def counts(self, force_n: NDArray[np.float64]) -> NDArray[np.float64]:
        """Noise-free ADC reading (float counts) for forces, newtons."""
        rg = self.r_fixed_ohm * self.conductance_us(force_n) * 1e-6
        return self.adc_max * rg / (1.0 + rg)

    @property
    def divider(self) -> FsrDivider:
        return FsrDivider(self.r_fixed_ohm, float(self.adc_max), fsr_on_high_side=True)

    def calibration(self) -> PowerLawCalibration:
        """The model's own exact calibration (what a perfect staircase fit would give)."""
        contact = float(self.conductance_us(np.array([self.break_n]))[0]) * 0.999
        return PowerLawCalibration(self.a, self.b, contact, self.divider)


class FsrAdc:
    """A fake ADC: the readings of ``n`` FSR channels under the forces a source gives.

    ``forces_at(t_s) -> (n,) newtons`` gives the true forces at pad time ``t_s``;
    tests may instead pin the readings with :attr:`fixed_counts`.
    """

    def __init__(
        self,
        n: int,
        forces_at: Callable[[float], NDArray[np.float64]],
        model: FsrModel | None = None,
        seed: int = 0,
    ) -> None:
        self.n = n
        self.forces_at = forces_at
        self.model = model or FsrModel()
        self.fixed_counts: list[int] | None = None
        self.reads = 0
        self._rng = np.random.default_rng(seed)

    def read(self, t_s: float, out: list[int]) -> None:
        self.reads += 1
        if self.fixed_counts is not None:
            for i in range(self.n):
                out[i] = int(self.fixed_counts[i])
            return
        counts = self.model.counts(self.forces_at(t_s))
        counts = counts + self._rng.normal(0.0, self.model.noise_counts, self.n)
        for i, c in enumerate(np.clip(np.round(counts), 0, self.model.adc_max)):
            out[i] = int(c)


class FakeImu:
    """A still accelerometer: gravity on z and read noise, milli-g."""

    def __init__(self, seed: int = 0, noise_mg: float = 3.0) -> None:
        self.powered = False
        self.noise_mg = noise_mg
        self._rng = np.random.default_rng(seed + 1)

    def read(self, out: list[int], offset: int) -> None:
        x, y, z = self._rng.normal(0.0, self.noise_mg, 3) + np.array([0.0, 0.0, 1000.0])
        out[offset], out[offset + 1], out[offset + 2] = round(x), round(y), round(z)


# -- the radio ------------------------------------------------------------------------------------


class _Link:
    """One central connected to the firmware (the HAL's link)."""

    def __init__(self, radio: BumbleRadio, connection: Connection) -> None:
        self.radio = radio
        self.connection = connection
        self.connected = True
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(radio.queue_packets)
        self._sender = asyncio.get_running_loop().create_task(self._send())
        self.notifications = 0

    @property
    def mtu(self) -> int:
        return int(self.connection.att_mtu)

    def notify(self, buf: bytearray, length: int) -> bool:
        if not self.connected:
            return False
        try:
            self._queue.put_nowait(bytes(buf[:length]))
        except asyncio.QueueFull:
            return False
        return True

    async def _send(self) -> None:
        device = self.radio.device
        while True:
            packet = await self._queue.get()
            with contextlib.suppress(Exception):
                await device.notify_subscriber(self.connection, self.radio.data, packet)
            self.notifications += 1

    def lost(self) -> None:
        self.connected = False
        self._sender.cancel()


class BumbleRadio:
    """The firmware's BLE side on a bumble virtual controller.

    Parameters
    ----------
    air : Air
    queue_packets : int
        Notifications the "stack" buffers before refusing more.
    advertise_timeout_s : float
        How long one ``advertise`` call waits for a central before returning None.
    """

    def __init__(
        self, air: Air, *, queue_packets: int = 16, advertise_timeout_s: float = 60.0
    ) -> None:
        from padfw import protocol

        self.air = air
        self.address = air.next_address()
        self.device = air.new_device("palpate-pad", self.address)
        self.queue_packets = queue_packets
        self.advertise_timeout_s = advertise_timeout_s
        self.on_command: Callable[[bytes], int] = lambda data: 0
        self.info = b""
        self.battery_percent = 100
        self.commands: list[bytes] = []
        self.link: _Link | None = None
        self._powered = False
        self.advertising = asyncio.Event()
        self._connected: asyncio.Future[_Link] | None = None
        self.data = Characteristic(
            protocol.DATA_UUID, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        self.control = Characteristic(
            protocol.CONTROL_UUID,
            Characteristic.Properties.WRITE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_write),
        )
        self.info_char = Characteristic(
            protocol.INFO_UUID,
            Characteristic.Properties.READ,
            Characteristic.READABLE,
            CharacteristicValue(read=lambda connection: self.info),
        )
        self.battery = BatteryService(lambda connection: self.battery_percent)
        self.service_uuid = protocol.SERVICE_UUID

    # HAL side
    def set_info(self, info: bytes) -> None:
        self.info = bytes(info)

    def set_battery(self, percent: int) -> None:
        self.battery_percent = int(percent)

    async def advertise(self, name: str, interval_ms: int) -> _Link | None:
        if not self._powered:
            self.device.add_services(
                [
                    Service(self.service_uuid, [self.data, self.control, self.info_char]),
                    self.battery,
                ]
            )
            self.device.on("connection", self._on_connection)
            await asyncio.shield(self.device.power_on())
            self._powered = True
        self.device.advertising_data = bytes(
            AdvertisingData(
                [
                    (AdvertisingData.FLAGS, bytes([0x06])),
                    (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()),
                ]
            )
        )
        self.device.scan_response_data = bytes(
            AdvertisingData(
                [
                    (
                        AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                        bytes(UUID(self.service_uuid)),
                    )
                ]
            )
        )
        self._connected = asyncio.get_running_loop().create_future()
        # HCI commands are shielded: a cancelled one would leave the host waiting forever
        await asyncio.shield(
            self.device.start_advertising(
                advertising_interval_min=max(20, interval_ms // 5), auto_restart=False
            )
        )
        self.advertising.set()
        try:
            return await asyncio.wait_for(asyncio.shield(self._connected), self.advertise_timeout_s)
        except TimeoutError:
            if self._connected.done():  # a central came in just as the wait ended
                return self._connected.result()
            with contextlib.suppress(Exception):
                await asyncio.shield(self.device.stop_advertising())
            return None
        finally:
            self.advertising.clear()

    # bumble side
    def _on_connection(self, connection: Connection) -> None:
        link = _Link(self, connection)
        self.link = link
        connection.on("disconnection", lambda reason: link.lost())
        if self._connected is not None and not self._connected.done():
            self._connected.set_result(link)

    def _on_write(self, connection: Connection, value: bytes) -> None:
        self.commands.append(bytes(value))
        result = self.on_command(bytes(value))
        if result:
            raise ATT_Error(result)

    async def close(self) -> None:
        if self.link is not None:
            self.link.lost()
        for connection in list(self.device.connections.values()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.disconnect(), 2.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.device.stop_advertising(), 2.0)
        self.air.release(self.device)


# -- the HAL --------------------------------------------------------------------------------------


class FirmwareHal:
    """The firmware's HAL on CPython (see ``padfw.app`` for the contract)."""

    adc_max = 4095

    def __init__(
        self,
        radio: BumbleRadio,
        adc: FsrAdc,
        imu: FakeImu | None,
        *,
        files: dict[str, str] | None = None,
        max_rate_hz: int = 1000,
        battery_mv: int = 3950,
        timer_slack_s: float = 0.0,
    ) -> None:
        self.radio = radio
        self.adc = adc
        self.imu = imu
        self.n_force = adc.n
        self.has_accel = imu is not None
        self.max_rate_hz = max_rate_hz
        self.files = dict(files or {})
        self.battery = battery_mv
        self.timer_slack_s = timer_slack_s
        self.mode = "off"
        self.modes: list[str] = []
        self.logs: list[str] = []
        self.timer_fires = 0
        self._t0 = asyncio.get_running_loop().time()
        self._timer: asyncio.Task[None] | None = None

    def now_us(self) -> int:
        return int((asyncio.get_running_loop().time() - self._t0) * 1e6)

    def read_forces(self, out: list[int]) -> None:
        self.adc.read(self.now_us() * 1e-6, out)

    def read_accel(self, out: list[int], offset: int) -> None:
        if self.imu is not None:
            self.imu.read(out, offset)

    def accel_power(self, on: bool) -> None:
        if self.imu is not None:
            self.imu.powered = bool(on)

    def start_timer(self, rate_hz: int, callback: Callable[[], None]) -> None:
        self.stop_timer()
        self._timer = asyncio.get_running_loop().create_task(self._run_timer(rate_hz, callback))

    async def _run_timer(self, rate_hz: int, callback: Callable[[], None]) -> None:
        period = 1.0 / rate_hz
        while True:
            await asyncio.sleep(period + self.timer_slack_s)
            self.timer_fires += 1
            callback()

    def stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def sleep_ms(self, ms: int) -> None:
        await asyncio.sleep(ms / 1000)

    def battery_mv(self) -> int | None:
        return self.battery

    def read_file(self, name: str) -> str | None:
        return self.files.get(name)

    def write_file(self, name: str, text: str) -> None:
        self.files[name] = text

    def power(self, mode: str) -> None:
        self.mode = mode
        if not self.modes or self.modes[-1] != mode:
            self.modes.append(mode)

    def log(self, text: str) -> None:
        self.logs.append(text)


# -- the peer -------------------------------------------------------------------------------------


def model_calibration_json(n_force: int, model: FsrModel | None = None) -> str:
    """``calibration.json`` holding the FSR model's exact calibration on every channel."""
    cal = (model or FsrModel()).calibration()
    device = DeviceCalibration(
        "virtual pad",
        (cal,) * n_force,
        created_unix=1_764_000_000.0,
        notes="the fake FSR's own curve",
    )
    return json.dumps(device.to_dict())


class FirmwarePad:
    """A virtual pad that is the real firmware on a fake ADC (a virtual peripheral).

    Options (plain data, as for the other virtual peripherals): ``seed``,
    ``n_force`` (1-8), ``has_accel``, ``rate_hz`` (the firmware's default rate),
    ``calibrated`` (store the FSR model's calibration on the pad: forces in newtons;
    False: raw counts), ``files`` (extra files on the pad's flash), ``forces``
    (a function of pad time giving the forces, newtons), ``timer_slack_s``.
    """

    OPTIONS = frozenset(
        {
            "seed",
            "n_force",
            "has_accel",
            "rate_hz",
            "calibrated",
            "files",
            "forces",
            "name",
            "timer_slack_s",
            "serial",
        }
    )

    def __init__(self, air: Air, options: dict[str, Any]) -> None:
        unknown = set(options) - self.OPTIONS
        if unknown:
            raise ValueError(
                f"virtual pad firmware: unknown options {sorted(unknown)}; "
                f"known: {sorted(self.OPTIONS)}"
            )
        load_firmware()
        self.air = air
        self.options = dict(options)
        self.seed = int(options.get("seed", 0))
        self.n_force = int(options.get("n_force", 4))
        self.radio = BumbleRadio(air)
        self.address = self.radio.address
        self.device = self.radio.device
        self.name = "palpate-pad " + str(options.get("serial", "3F2A"))
        self.hal: FirmwareHal | None = None
        self.app: Any = None
        self._task: asyncio.Task[None] | None = None

    @property
    def commands(self) -> list[bytes]:
        return self.radio.commands

    def _forces(self) -> Callable[[float], NDArray[np.float64]]:
        given = self.options.get("forces")
        if given is not None:
            return given  # type: ignore[no-any-return]
        from firmware_bridge.devices.simulator import Script, simulate

        rate = 1000.0
        channels = 4 if self.n_force == 4 else 1
        script = Script.demo(self.seed)
        _, frame = simulate(
            script, duration_s=60.0, rate_hz=rate, channels=channels, seed=self.seed
        )
        table = np.maximum(frame.x.astype(np.float64), 0.0)
        n = self.n_force
        lead_s = 3.0  # the demo rests for its first seconds: start just before the first press

        def forces_at(t_s: float) -> NDArray[np.float64]:
            row = table[int((t_s + lead_s) * rate) % table.shape[0]]
            return row if row.size == n else np.resize(row, n)

        return forces_at

    async def start(self) -> None:
        from padfw.app import PadApp

        files: dict[str, str] = {}
        if self.options.get("calibrated", True):
            files["calibration.json"] = model_calibration_json(self.n_force)
        config: dict[str, Any] = {}
        if "rate_hz" in self.options:
            config["rate_hz"] = int(self.options["rate_hz"])
        if "name" in self.options:
            config["name"] = str(self.options["name"])
        if config:
            files["pad.json"] = json.dumps(config)
        files.update(self.options.get("files") or {})
        has_accel = bool(self.options.get("has_accel", True))
        self.hal = FirmwareHal(
            self.radio,
            FsrAdc(self.n_force, self._forces(), seed=self.seed),
            FakeImu(self.seed) if has_accel else None,
            files=files,
            timer_slack_s=float(self.options.get("timer_slack_s", 0.0)),
        )
        serial = str(self.options.get("serial", "3F2A"))
        self.app = PadApp(self.hal, serial=serial)
        self.name = self.app.name
        self._task = asyncio.get_running_loop().create_task(self.app.run())
        await asyncio.wait_for(self.radio.advertising.wait(), 5.0)  # before anyone scans

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.hal is not None:
            self.hal.stop_timer()
        await self.radio.close()
