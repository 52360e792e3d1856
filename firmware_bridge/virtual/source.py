"""``--device virtual:KIND``: a device driver streaming from its virtual peripheral.

The whole real path runs: the driver's :class:`~firmware_bridge.ble.BleSource`
scans, connects through bleak (with the bumble backend), subscribes and decodes;
only the radio and the device are simulated.

Examples
--------
>>> sorted(KINDS)
['microbit', 'nus', 'pad', 'polar', 'scale', 'tindeq']
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import MappingProxyType
from typing import Any

from analysis.stream import Event, Frame, StreamInfo
from firmware_bridge.ble import BleSource
from firmware_bridge.errors import UnknownSource
from firmware_bridge.scan import DRIVERS, driver_class
from firmware_bridge.source import Source

__all__ = ["KINDS", "VirtualDevice"]

KINDS = DRIVERS
"""Device kinds with a virtual peripheral (every BLE driver) -> their driver class."""

DRIVER_DEFAULTS = MappingProxyType(
    {"nus": {"line_format": "t_ms,force", "unit": "N", "rate_hz": 50.0}}
)
"""Driver options a virtual kind needs to make sense by default (the virtual UART board
prints newtons; a real board's settings come from settings.toml)."""

PEER_DEFAULTS = MappingProxyType({"nus": {"line_format": "t_ms,force"}})


def _driver(kind: str) -> type[BleSource]:
    if kind not in KINDS:
        raise UnknownSource(f"virtual:{kind}", [f"virtual:{k}" for k in KINDS])
    return driver_class(kind)


class VirtualDevice(Source):
    """A BLE driver connected to its virtual peripheral.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    peer : mapping, optional
        Options of the virtual peripheral (``seed``, ``faults``, device specifics).
    **options
        Options of the driver (``duration_s``, ``reconnect_timeout_s``, ...).
    """

    def __init__(self, kind: str = "tindeq", *, peer: dict[str, Any] | None = None, **options: Any):
        super().__init__()
        self.kind = kind
        peer_options = {**PEER_DEFAULTS.get(kind, {}), **(peer or {})}
        driver_options = {**DRIVER_DEFAULTS.get(kind, {}), **options}
        self.driver = _driver(kind)(virtual=peer_options, **driver_options)

    @property
    def link_state(self) -> str | None:
        return self.driver.link_state

    def drain_events(self) -> list[Event]:
        return self.driver.drain_events()

    async def _open(self) -> StreamInfo:
        await self.driver.__aenter__()
        return self.driver.info

    async def _frames(self) -> AsyncIterator[Frame]:
        async for frame in self.driver.frames():
            yield frame

    async def _close(self) -> None:
        await self.driver.__aexit__(None, None, None)
