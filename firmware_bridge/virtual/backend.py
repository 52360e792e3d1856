"""bleak backends over an :class:`~firmware_bridge.virtual.air.Air`: bleak with no radio.

bleak picks its platform backend unless told otherwise; ``BleakClient(address,
backend=BumbleClient, air=air)`` and ``BleakScanner(backend=BumbleScanner,
air=air)`` make it use these classes instead (bleak passes the extra ``air``
keyword through). Everything above the backend is bleak's own public code:
service collection, characteristic lookup, notification callbacks, disconnect
callbacks. Below it bumble runs a real central: it scans advertising reports,
connects, exchanges the MTU (247), discovers services, characteristics and
descriptors, writes CCCDs and receives notifications over ATT.

Examples
--------
>>> import asyncio
>>> from bleak import BleakScanner
>>> from firmware_bridge.virtual.air import Air
>>> async def scan_empty_air():
...     air = Air()
...     return await BleakScanner.discover(0.1, backend=BumbleScanner, air=air)
>>> asyncio.run(scan_empty_air())
[]
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable
from typing import Any

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.hci import Address

from firmware_bridge.virtual.air import Air

__all__ = ["MTU", "BumbleClient", "BumbleScanner", "parse_advertising"]

MTU = 247
"""ATT MTU the virtual central asks for (the largest common BLE 4.2+ value)."""

_PROPERTY_NAMES = {
    0x01: "broadcast",
    0x02: "read",
    0x04: "write-without-response",
    0x08: "write",
    0x10: "notify",
    0x20: "indicate",
    0x40: "authenticated-signed-writes",
    0x80: "extended-properties",
}

_UUID_LISTS = {
    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS: 2,
    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS: 2,
    AdvertisingData.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS: 4,
    AdvertisingData.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS: 4,
    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS: 16,
    AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS: 16,
}


def _uuid_str(uuid: UUID) -> str:
    return str(uuid.to_hex_str("-")).lower() if len(uuid.uuid_bytes) == 16 else _sig(uuid)


def _sig(uuid: UUID) -> str:
    value = int.from_bytes(uuid.uuid_bytes, "little")
    return f"{value:08x}-0000-1000-8000-00805f9b34fb"


def parse_advertising(structures: list[tuple[int, bytes]]) -> dict[str, Any]:
    """Advertising data structures (type, bytes) -> name, service UUIDs and the rest."""
    out: dict[str, Any] = {
        "local_name": None,
        "service_uuids": [],
        "manufacturer_data": {},
        "service_data": {},
        "tx_power": None,
    }
    for ad_type, data in structures:
        if ad_type in (AdvertisingData.COMPLETE_LOCAL_NAME, AdvertisingData.SHORTENED_LOCAL_NAME):
            if out["local_name"] is None or ad_type == AdvertisingData.COMPLETE_LOCAL_NAME:
                out["local_name"] = bytes(data).decode("utf-8", "replace")
        elif ad_type in _UUID_LISTS:
            size = _UUID_LISTS[ad_type]
            for i in range(0, len(data) - size + 1, size):
                out["service_uuids"].append(_uuid_str(UUID.from_bytes(bytes(data[i : i + size]))))
        elif ad_type == AdvertisingData.MANUFACTURER_SPECIFIC_DATA and len(data) >= 2:
            out["manufacturer_data"][struct.unpack_from("<H", data)[0]] = bytes(data[2:])
        elif ad_type == AdvertisingData.SERVICE_DATA_16_BIT_UUID and len(data) >= 2:
            out["service_data"][_uuid_str(UUID.from_bytes(bytes(data[:2])))] = bytes(data[2:])
        elif ad_type == AdvertisingData.TX_POWER_LEVEL and len(data) == 1:
            out["tx_power"] = struct.unpack("b", bytes(data))[0]
    return out


class BumbleScanner(BaseBleakScanner):
    """A bleak scanner backend that listens on an :class:`Air`.

    Advertising reports and scan responses of one address are merged, as the
    platform backends do, before bleak's detection callbacks see them.
    """

    def __init__(
        self,
        detection_callback: Any,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        *,
        air: Air,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        if not isinstance(air, Air):
            raise BleakError("BumbleScanner needs air=Air()")
        self._air = air
        self._active = scanning_mode != "passive"
        self._device: Device | None = None
        self._merged: dict[str, dict[str, Any]] = {}

    async def start(self) -> None:
        self.seen_devices = {}
        self._merged = {}
        self._device = self._air.new_device("palpate scanner")
        await self._device.power_on()
        self._device.on("advertisement", self._on_advertisement)
        await self._device.start_scanning(active=self._active, filter_duplicates=False)

    async def stop(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            with contextlib.suppress(Exception):
                await device.stop_scanning()
            self._air.release(device)

    def _on_advertisement(self, adv: Advertisement) -> None:
        address = str(adv.address).split("/")[0]
        parsed = parse_advertising(list(adv.data.ad_structures))
        merged = self._merged.setdefault(address, parse_advertising([]))
        for key in ("local_name", "tx_power"):
            if parsed[key] is not None:
                merged[key] = parsed[key]
        merged["service_uuids"] = sorted(
            set(merged["service_uuids"]) | set(parsed["service_uuids"])
        )
        merged["manufacturer_data"].update(parsed["manufacturer_data"])
        merged["service_data"].update(parsed["service_data"])
        if not self.is_allowed_uuid(merged["service_uuids"]):
            return
        data = AdvertisementData(
            local_name=merged["local_name"],
            manufacturer_data=dict(merged["manufacturer_data"]),
            service_data=dict(merged["service_data"]),
            service_uuids=list(merged["service_uuids"]),
            tx_power=merged["tx_power"],
            rssi=int(adv.rssi),
            platform_data=(adv,),
        )
        device = self.create_or_update_device(address, address, merged["local_name"], adv, data)
        self.call_detection_callbacks(device, data)


class BumbleClient(BaseBleakClient):
    """A bleak client backend that connects over an :class:`Air` as a bumble central."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        air: Air,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        if not isinstance(air, Air):
            raise BleakError("BumbleClient needs air=Air()")
        self._air = air
        self._name = (
            address_or_ble_device.name
            if isinstance(address_or_ble_device, BLEDevice) and address_or_ble_device.name
            else self.address
        )
        self._device: Device | None = None
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._leaving = False
        self._subscriptions: dict[int, Callable[[bytes], None]] = {}

    @property
    def name(self) -> str:
        return str(self._name)

    @property
    def mtu_size(self) -> int:
        return int(self._connection.att_mtu) if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        device = self._air.new_device("palpate central")
        self._device = device
        await device.power_on()
        try:
            connection = await asyncio.wait_for(
                device.connect(Address(self.address)), timeout=self._timeout
            )
        except TimeoutError as err:
            self._air.release(device)
            self._device = None
            raise BleakDeviceNotFoundError(
                self.address, f"no virtual device {self.address} answered in {self._timeout} s"
            ) from err
        self._connection = connection
        self._leaving = False
        connection.on("disconnection", self._on_disconnection)
        peer = Peer(connection)
        self._peer = peer
        await peer.request_mtu(MTU)
        await peer.discover_services()
        services = BleakGATTServiceCollection()
        for svc in peer.services:
            await svc.discover_characteristics()
            service = BleakGATTService(svc, svc.handle, _uuid_str(svc.uuid))
            services.add_service(service)
            for ch in svc.characteristics:
                await ch.discover_descriptors()
                props = [name for bit, name in _PROPERTY_NAMES.items() if int(ch.properties) & bit]
                char = BleakGATTCharacteristic(
                    ch,
                    ch.handle,
                    _uuid_str(ch.uuid),
                    props,  # type: ignore[arg-type]
                    lambda: self.mtu_size - 3,
                    service,
                )
                services.add_characteristic(char)
                for desc in ch.descriptors:
                    services.add_descriptor(
                        BleakGATTDescriptor(desc, desc.handle, _uuid_str(desc.type), char)
                    )
        self.services = services

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._peer = None
        device, self._device = self._device, None
        if device is not None:
            self._air.release(device)
        if not self._leaving and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._leaving = True
        with contextlib.suppress(Exception):
            await connection.disconnect()
        if self._connection is not None:  # no disconnection event came back
            self._on_disconnection(0)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise BleakError("virtual devices need no pairing")

    async def unpair(self) -> None:
        raise BleakError("virtual devices need no pairing")

    def _require(self) -> None:
        if self._connection is None:
            raise BleakError(f"not connected to {self.address}")

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        self._require()
        return bytearray(await characteristic.obj.read_value())

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        self._require()
        return bytearray(await descriptor.obj.read_value())

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        self._require()
        await characteristic.obj.write_value(bytes(data), with_response=response)

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        self._require()
        await descriptor.obj.write_value(bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        self._require()

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        self._subscriptions[characteristic.handle] = on_value
        await characteristic.obj.subscribe(on_value, prefer_notify=True)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._require()
        on_value = self._subscriptions.pop(characteristic.handle, None)
        await characteristic.obj.unsubscribe(on_value)
