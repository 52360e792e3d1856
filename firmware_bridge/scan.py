"""Finding devices: scan for the ones palpate can read, and open one by address or name.

:func:`scan` listens to advertisements for a few seconds and keeps those that match a
driver's :class:`~firmware_bridge.ble.BleProfile` (service UUID or name prefix), with
their signal strength. When Bluetooth cannot be used it raises
:class:`~firmware_bridge.errors.BluetoothUnavailable` saying why (missing, off, not
permitted).

:class:`AnyBle` is the source behind ``--device AA:BB:CC:DD:EE:FF`` and
``--device ble:NAME``: it scans for that device, picks the driver from what it
advertises, and streams through it.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Final

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from analysis.stream import Event, Frame, StreamInfo
from firmware_bridge.ble import BleProfile, BleSource, bluetooth_unavailable, is_address
from firmware_bridge.errors import BridgeError, DeviceNotFound
from firmware_bridge.linklog import link_log
from firmware_bridge.source import Source

__all__ = [
    "DRIVERS",
    "AnyBle",
    "Found",
    "driver_class",
    "profiles",
    "scan",
    "virtual_neighbourhood",
]

DRIVERS: Final = {
    "pad": "firmware_bridge.devices.pad:PadSource",
    "tindeq": "firmware_bridge.devices.tindeq:TindeqSource",
    "microbit": "firmware_bridge.devices.microbit:MicrobitSource",
    "polar": "firmware_bridge.devices.polar:PolarSource",
    "scale": "firmware_bridge.devices.weight_scale:WeightScaleSource",
    "nus": "firmware_bridge.devices.nus:NusSource",
}
"""BLE driver classes by kind, in the order a match is tried."""


def driver_class(kind: str) -> type[BleSource]:
    """The BLE driver class of a device kind (a key of :data:`DRIVERS`)."""
    module, _, name = DRIVERS[kind].partition(":")
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, BleSource)
    return cls


def profiles() -> list[BleProfile]:
    """The profiles of every BLE driver."""
    return [driver_class(kind).profile for kind in DRIVERS]


@dataclass(frozen=True, slots=True)
class Found:
    """A nearby device palpate can read."""

    kind: str
    label: str
    name: str
    address: str
    rssi: int

    @property
    def spec(self) -> str:
        """What to pass to ``--device`` to read this one."""
        return f"{self.kind}:{self.address}"


async def scan(timeout_s: float = 5.0, *, air: Any = None) -> list[Found]:
    """Nearby supported devices, strongest signal first.

    Parameters
    ----------
    timeout_s : float
        Seconds to listen.
    air : Air, optional
        Scan a virtual radio instead (see :mod:`firmware_bridge.virtual`).

    Raises
    ------
    BluetoothUnavailable
        No adapter or Bluetooth service, radio off, or not permitted.
    """
    known = profiles()
    best: dict[str, Found] = {}

    def seen(device: BLEDevice, adv: AdvertisementData) -> None:
        name = adv.local_name or device.name or ""
        for profile in known:
            if profile.matches(name, adv.service_uuids):
                old = best.get(device.address)
                rssi = int(adv.rssi)
                if old is None or rssi > old.rssi or (name and not old.name):
                    best[device.address] = Found(
                        profile.kind, profile.label, name, device.address, rssi
                    )
                return

    options: dict[str, Any] = {}
    if air is not None:
        from firmware_bridge.virtual.backend import BumbleScanner

        options = {"backend": BumbleScanner, **air.backend_options()}
    link_log().record("scan", "", "scan", f"{timeout_s:g} s")
    try:
        async with BleakScanner(seen, **options):
            await asyncio.sleep(timeout_s)
    except (BleakError, OSError) as err:
        unavailable = bluetooth_unavailable(err)
        link_log().record("scan", "", "unavailable", f"{type(err).__name__}: {err}", save=True)
        if unavailable is not None:
            raise unavailable from err
        raise BridgeError(f"scanning failed: {type(err).__name__}: {err}") from err
    found = sorted(best.values(), key=lambda f: (-f.rssi, f.kind, f.address))
    link_log().record("scan", "", "scan_done", f"{len(found)} supported devices", save=True)
    return found


async def virtual_neighbourhood(seed: int = 0) -> tuple[Any, list[Any]]:
    """A virtual radio with one of each virtual device advertising (for demos and tests).

    Returns the air and the started peripherals; stop them with ``await p.stop()``.
    """
    from firmware_bridge.virtual.air import Air

    air = Air()
    peers = [driver_class(kind)._make_peer(air, {"seed": seed}) for kind in DRIVERS]
    for peer in peers:
        await peer.start()
    return air, peers


class AnyBle(Source):
    """The device at an address or with a name, read by whichever driver it fits.

    Parameters
    ----------
    target : str, optional
        Bluetooth address or advertised name (exact or prefix, any case); None takes
        the first supported device of any kind.
    virtual : bool
        Look among virtual devices (one of each kind) instead of the radio.
    scan_timeout_s : float
        Seconds to look for it.
    **options
        Passed to the driver (``duration_s``, ``reconnect_timeout_s``, ...).
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        virtual: bool = False,
        scan_timeout_s: float = 8.0,
        **options: Any,
    ) -> None:
        super().__init__()
        self.target = (target or "").strip() or None
        self._virtual = bool(virtual)
        self._air: Any = None
        self._peers: list[Any] = []
        self._scan_timeout_s = float(scan_timeout_s)
        self._options = options
        self.driver: BleSource | None = None

    @property
    def link_state(self) -> str | None:
        return None if self.driver is None else self.driver.link_state

    def drain_events(self) -> list[Event]:
        return [] if self.driver is None else self.driver.drain_events()

    async def _pick(self) -> tuple[type[BleSource], str]:
        found: asyncio.Future[tuple[type[BleSource], str]] = (
            asyncio.get_running_loop().create_future()
        )
        wanted = (self.target or "").lower()
        by_address = is_address(wanted)
        known = [(driver_class(kind), driver_class(kind).profile) for kind in DRIVERS]

        def seen(device: BLEDevice, adv: AdvertisementData) -> None:
            name = adv.local_name or device.name or ""
            if not wanted:  # the first supported device of any kind
                hit = any(p.matches(name, adv.service_uuids) for _, p in known)
            elif by_address:
                hit = device.address.lower() == wanted
            else:
                hit = name.lower() == wanted or name.lower().startswith(wanted)
            if not hit or found.done():
                return
            for cls, profile in known:
                if profile.matches(name, adv.service_uuids):
                    found.set_result((cls, device.address))
                    return
            found.set_exception(
                DeviceNotFound(
                    self.target or name,
                    f"it advertises as {name or 'no name'} with services "
                    f"{', '.join(adv.service_uuids) or 'none'}, which no palpate driver reads",
                )
            )

        backend: dict[str, Any] = {}
        if self._air is not None:
            from firmware_bridge.virtual.backend import BumbleScanner

            backend = {"backend": BumbleScanner, **self._air.backend_options()}
        try:
            async with BleakScanner(seen, **backend):
                return await asyncio.wait_for(found, self._scan_timeout_s)
        except TimeoutError:
            raise DeviceNotFound(
                self.target or "any supported device",
                f"not seen within {self._scan_timeout_s:g} s; is it on and near? "
                "`palpate scan` lists what is around",
            ) from None
        except (BleakError, OSError) as err:
            unavailable = bluetooth_unavailable(err)
            if unavailable is not None:
                raise unavailable from err
            raise DeviceNotFound(self.target or "any device", f"scanning failed: {err}") from err

    async def _open(self) -> StreamInfo:
        if self._virtual:
            self._air, self._peers = await virtual_neighbourhood()
        try:
            cls, address = await self._pick()
            options = dict(self._options)
            if self._air is not None:
                options["air"] = self._air
            self.driver = cls(address, **options)
            await self.driver.__aenter__()
        except BaseException:
            await self._stop_peers()
            raise
        return self.driver.info

    async def _stop_peers(self) -> None:
        for peer in self._peers:
            await peer.stop()
        self._peers = []

    async def _frames(self) -> AsyncIterator[Frame]:
        assert self.driver is not None
        async for frame in self.driver.frames():
            yield frame

    async def _close(self) -> None:
        if self.driver is not None:
            await self.driver.__aexit__(None, None, None)
        await self._stop_peers()
