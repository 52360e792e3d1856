"""The registry of sources: one row per driver, imported only when used.

A device spec is what a person types after ``--device``: a registered name
(``sim``), or a name with an argument after a colon (``phyphox:192.168.1.20:8080``
picks the ``phyphox`` row and hands it ``"192.168.1.20:8080"``).

Examples
--------
>>> [e.name for e in entries()][:1]
['sim']
>>> entry, argument = resolve("sim")
>>> entry.summary
'built-in simulated pad (no hardware needed)'
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from firmware_bridge.errors import UnknownSource
from firmware_bridge.source import Source

__all__ = ["SourceEntry", "entries", "open_source", "resolve"]


@dataclass(frozen=True, slots=True)
class SourceEntry:
    """One registered source.

    Parameters
    ----------
    name : str
        What a person types after ``--device``.
    target : str
        ``"module:Class"`` of the :class:`~firmware_bridge.source.Source` subclass.
    summary : str
        One line for ``palpate devices``.
    takes_argument : bool
        Whether the spec carries an argument after ``name:`` (host, address).
    contract_options : mapping
        Options that make the source run in a test without hardware and end by
        itself; the shared contract test opens every source with them.
    """

    name: str
    target: str
    summary: str
    takes_argument: bool = False
    contract_options: Mapping[str, Any] = field(default_factory=dict)

    def load(self) -> type[Source]:
        """Import the driver module and return its Source class."""
        module_name, _, class_name = self.target.partition(":")
        module = importlib.import_module(module_name)
        cls = getattr(module, class_name)
        if not (isinstance(cls, type) and issubclass(cls, Source)):
            raise TypeError(f"{self.target} is not a Source subclass")
        return cls


_ENTRIES: Mapping[str, SourceEntry] = MappingProxyType(
    {
        "sim": SourceEntry(
            "sim",
            "firmware_bridge.devices.simulator:SimulatedPad",
            "built-in simulated pad (no hardware needed)",
            contract_options={"realtime": False, "duration_s": 3.0},
        ),
        # -- device bridge (BLE drivers, phone stream, virtual peripherals) --
        "pad": SourceEntry(
            "pad",
            "firmware_bridge.devices.pad:PadSource",
            "palpate pad, the open force pad (hardware/PROTOCOL.md) over BLE (pad[:ADDRESS|NAME])",
            takes_argument=True,
            contract_options={"virtual": True, "duration_s": 1.0},
        ),
        "tindeq": SourceEntry(
            "tindeq",
            "firmware_bridge.devices.tindeq:TindeqSource",
            "Tindeq Progressor force gauge over BLE (tindeq[:ADDRESS|NAME])",
            takes_argument=True,
            contract_options={"virtual": True, "duration_s": 1.0},
        ),
        "microbit": SourceEntry(
            "microbit",
            "firmware_bridge.devices.microbit:MicrobitSource",
            "BBC micro:bit accelerometer over BLE (microbit[:ADDRESS|NAME])",
            takes_argument=True,
            contract_options={"virtual": True, "duration_s": 1.0},
        ),
        "polar": SourceEntry(
            "polar",
            "firmware_bridge.devices.polar:PolarSource",
            "Polar H10 / Verity Sense accelerometer (PMD) over BLE (polar[:ADDRESS|NAME])",
            takes_argument=True,
            contract_options={"virtual": True, "duration_s": 1.0},
        ),
        "scale": SourceEntry(
            "scale",
            "firmware_bridge.devices.weight_scale:WeightScaleSource",
            "Bluetooth SIG weight scale, 0x181D (scale[:ADDRESS|NAME]; slow: force only)",
            takes_argument=True,
            contract_options={"virtual": True, "duration_s": 2.0},
        ),
        "nus": SourceEntry(
            "nus",
            "firmware_bridge.devices.nus:NusSource",
            "DIY board printing lines over the Nordic UART Service (nus[:ADDRESS|NAME]; "
            "line format, unit and calibration from settings.toml [nus])",
            takes_argument=True,
            contract_options={"virtual": True, "duration_s": 1.0},
        ),
        "phyphox": SourceEntry(
            "phyphox",
            "firmware_bridge.devices.phyphox:PhyphoxSource",
            "phone accelerometer via phyphox remote access (phyphox:HOST[:PORT])",
            takes_argument=True,
            contract_options={"virtual": True, "duration_s": 1.0},
        ),
        "ble": SourceEntry(
            "ble",
            "firmware_bridge.scan:AnyBle",
            "any supported BLE device: ble (the first one seen), ble:NAME, or a bare address",
            takes_argument=True,
            contract_options={"virtual": True, "duration_s": 1.0},
        ),
        "virtual": SourceEntry(
            "virtual",
            "firmware_bridge.virtual.source:VirtualDevice",
            "virtual BLE device, no radio needed (virtual:tindeq|pad|microbit|nus|polar|scale)",
            takes_argument=True,
            contract_options={"kind": "tindeq", "duration_s": 1.0},
        ),
    }
)


_BLE_ADDRESS = re.compile(
    r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$"
)


def entries() -> list[SourceEntry]:
    """Every registered source, in registry order."""
    return list(_ENTRIES.values())


def resolve(spec: str) -> tuple[SourceEntry, str | None]:
    """Find the registry row for a device spec; return it with the spec's argument."""
    spec = spec.strip()
    if spec in _ENTRIES:
        return _ENTRIES[spec], None
    name, sep, argument = spec.partition(":")
    entry = _ENTRIES.get(name)
    if entry is not None and sep and entry.takes_argument and argument:
        return entry, argument
    if _BLE_ADDRESS.match(spec):  # a bare Bluetooth address (or macOS device UUID)
        return _ENTRIES["ble"], spec
    raise UnknownSource(spec, sorted(_ENTRIES))


def open_source(spec: str, **options: Any) -> Source:
    """Create (not yet open) the source named by ``spec`` with driver ``options``.

    Raises :class:`~firmware_bridge.errors.UnknownSource` for an unknown spec and
    ``ValueError`` for options the driver rejects.
    """
    entry, argument = resolve(spec)
    cls = entry.load()
    if argument is not None:
        return cls(argument, **options)  # type: ignore[call-arg]
    return cls(**options)
