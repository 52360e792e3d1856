"""Finding devices: scanning a virtual neighbourhood, picking the driver from an
advertisement, preferring a remembered device, and what Bluetooth errors mean."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason, BleakError

from firmware_bridge.ble import bluetooth_unavailable
from firmware_bridge.devices.tindeq import TindeqSource
from firmware_bridge.errors import DeviceNotFound
from firmware_bridge.recent import recent_devices, remember
from firmware_bridge.registry import resolve
from firmware_bridge.scan import AnyBle, scan, virtual_neighbourhood
from firmware_bridge.virtual.air import Air
from firmware_bridge.virtual.peers import VirtualProgressor


def test_scan_finds_every_kind_with_what_to_type() -> None:
    async def run() -> list[Any]:
        air, peers = await virtual_neighbourhood()
        try:
            return await scan(0.6, air=air)
        finally:
            for peer in peers:
                await peer.stop()

    found = asyncio.run(run())
    assert sorted(f.kind for f in found) == ["microbit", "nus", "pad", "polar", "scale", "tindeq"]
    progressor = next(f for f in found if f.kind == "tindeq")
    assert progressor.name == "Progressor_7F3A" and progressor.spec.startswith("tindeq:C0:")


@pytest.mark.parametrize(
    ("target", "driver"),
    [("Progressor", "TindeqSource"), ("bbc micro:bit", "MicrobitSource"),
     ("palpate-pad 3F2A", "PadSource"), ("Polar Sense", "PolarSource")],
)  # fmt: skip
def test_a_name_picks_the_driver_from_the_advertisement(target: str, driver: str) -> None:
    source = AnyBle(target, virtual=True, duration_s=0.5)

    async def run() -> str:
        async with source:
            async for _ in source.frames():
                pass
        assert source.driver is not None
        return type(source.driver).__name__

    assert asyncio.run(run()) == driver


def test_an_unknown_name_is_not_found_in_time() -> None:
    source = AnyBle("nobody here", virtual=True, scan_timeout_s=0.5)

    async def run() -> None:
        async with source:
            pass

    with pytest.raises(DeviceNotFound, match=r"not seen within 0\.5 s"):
        asyncio.run(run())


def test_a_bare_address_goes_to_the_ble_row() -> None:
    entry, argument = resolve("C0:01:00:00:02:01")
    assert entry.name == "ble" and argument == "C0:01:00:00:02:01"


def test_the_first_device_is_the_one_used_before() -> None:
    async def run() -> str:
        air = Air()
        stranger = VirtualProgressor.from_options(air, {"name": "Progressor_AAAA"})
        mine = VirtualProgressor.from_options(air, {"name": "Progressor_BBBB"})
        await stranger.start()
        await asyncio.sleep(0.3)  # the stranger advertises first
        await mine.start()
        remember("tindeq", mine.address, "Progressor_BBBB")
        source = TindeqSource(air=air, duration_s=0.3)
        try:
            async with source:
                async for _ in source.frames():
                    pass
        finally:
            await stranger.stop()
            await mine.stop()
        return source.info.device

    assert asyncio.run(run()) == "Progressor_BBBB"
    assert recent_devices()[0].name == "Progressor_BBBB"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            BleakBluetoothNotAvailableError("off", BleakBluetoothNotAvailableReason.POWERED_OFF),
            "off",
        ),
        (
            BleakBluetoothNotAvailableError("x", BleakBluetoothNotAvailableReason.DENIED_BY_USER),
            "denied",
        ),
        (
            BleakBluetoothNotAvailableError("x", BleakBluetoothNotAvailableReason.NO_BLUETOOTH),
            "missing",
        ),
        (FileNotFoundError(2, "No such file or directory"), "missing"),
        (PermissionError(13, "Permission denied"), "denied"),
        (BleakError("No Bluetooth adapters found."), "missing"),
        (BleakError("Bluetooth adapter is not powered"), "off"),
    ],
)
def test_bluetooth_errors_say_why(error: BaseException, reason: str) -> None:
    unavailable = bluetooth_unavailable(error)
    assert unavailable is not None and unavailable.reason == reason
    assert "Bluetooth unavailable" in str(unavailable)


def test_other_errors_are_not_called_bluetooth_trouble() -> None:
    assert bluetooth_unavailable(BleakError("GATT write failed")) is None
    assert bluetooth_unavailable(ValueError("x")) is None
