"""A radio-free Bluetooth LE world: bumble virtual controllers on one in-process link.

An :class:`Air` is a bumble ``LocalLink`` that carries advertising, connections and
ATT traffic between virtual controllers in the same process and event loop. Each
virtual peripheral and each central (a bleak client or scanner using the backends
in :mod:`firmware_bridge.virtual.backend`) gets its own controller and host, so
the GATT link between them is a real one: MTU exchange, service discovery, CCCD
writes, notifications and disconnections all go through bumble's ATT and HCI code.

Examples
--------
>>> import asyncio
>>> async def two_devices():
...     air = Air()
...     a, b = air.new_device("A"), air.new_device("B")
...     return a.public_address != b.public_address
>>> asyncio.run(two_devices())
True
"""

from __future__ import annotations

import itertools

from bumble.controller import Controller
from bumble.device import Device
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

__all__ = ["Air"]

_AIR_IDS = itertools.count(1)


class Air:
    """One shared virtual radio space; create devices on it with :meth:`new_device`."""

    def __init__(self) -> None:
        self.link = LocalLink()
        self._air_id = next(_AIR_IDS) % 200
        self._count = itertools.count(1)
        self._controllers: dict[int, Controller] = {}

    def next_address(self) -> str:
        """A fresh static random address (top bits 11), unique on this air."""
        n = next(self._count)
        return (
            f"C0:{self._air_id:02X}:{(n >> 16) & 0xFF:02X}:{(n >> 8) & 0xFF:02X}:{n & 0xFF:02X}:01"
        )

    def new_device(self, name: str = "", address: str | None = None) -> Device:
        """A bumble device with its own virtual controller on this air (not yet powered on)."""
        address = address or self.next_address()
        controller = Controller(f"palpate-{address}", link=self.link, public_address=address)
        device = Device(
            name=name or address,
            address=Address(address),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        self._controllers[id(device)] = controller
        return device

    def release(self, device: Device) -> None:
        """Take a device's controller off the air (after it disconnected)."""
        controller = self._controllers.pop(id(device), None)
        if controller is not None and controller in self.link.controllers:
            self.link.remove_controller(controller)

    def backend_options(self) -> dict[str, object]:
        """Keyword arguments bleak hands to the virtual backends: ``{"air": self}``."""
        return {"air": self}
