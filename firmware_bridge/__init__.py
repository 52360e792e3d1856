"""How samples get into palpate: the Source protocol, device drivers and their registry.

Everything here is asyncio and speaks the data model of :mod:`analysis.stream`;
nothing here imports Qt.
"""

from firmware_bridge.errors import (
    BluetoothUnavailable,
    BridgeError,
    DecodeError,
    DeviceNotFound,
    LinkLost,
    SourceStateError,
    UnknownSource,
)
from firmware_bridge.registry import SourceEntry, entries, open_source
from firmware_bridge.source import Source

__all__ = [
    "BluetoothUnavailable",
    "BridgeError",
    "DecodeError",
    "DeviceNotFound",
    "LinkLost",
    "Source",
    "SourceEntry",
    "SourceStateError",
    "UnknownSource",
    "entries",
    "open_source",
]
