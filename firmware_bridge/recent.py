"""Recently used devices, remembered in ``<config dir>/devices.toml``.

So a person can reconnect to "my Progressor" without scanning through the
neighbours' devices: :func:`remember` is called on every successful connection,
:func:`recent_devices` lists them, newest first.

The file is TOML, one ``[[device]]`` table per device::

    [[device]]
    kind = "tindeq"
    address = "C0:FF:EE:00:00:01"
    name = "Progressor_1234"
    last_used_unix = 1764000000.0
"""

from __future__ import annotations

import contextlib
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from firmware_bridge.userdirs import config_dir

__all__ = ["KEEP", "RecentDevice", "recent_devices", "remember"]

KEEP: Final = 20
"""Devices remembered."""

FILE_NAME: Final = "devices.toml"


@dataclass(frozen=True, slots=True)
class RecentDevice:
    """A device palpate connected to."""

    kind: str
    address: str
    name: str
    last_used_unix: float


def _path() -> Path:
    return config_dir() / FILE_NAME


def recent_devices(path: Path | None = None) -> list[RecentDevice]:
    """Remembered devices, most recently used first (an unreadable file reads as none)."""
    try:
        data = tomllib.loads((path or _path()).read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return []
    out = []
    for item in data.get("device", []):
        with contextlib.suppress(KeyError, TypeError, ValueError):
            out.append(
                RecentDevice(
                    str(item["kind"]),
                    str(item["address"]),
                    str(item.get("name", "")),
                    float(item.get("last_used_unix", 0.0)),
                )
            )
    return sorted(out, key=lambda d: -d.last_used_unix)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped) + '"'


def remember(kind: str, address: str, name: str, path: Path | None = None) -> None:
    """Note a successful connection (never raises: remembering is a convenience)."""
    path = path or _path()
    now = time.time()
    others = [d for d in recent_devices(path) if (d.kind, d.address) != (kind, address)]
    devices = [RecentDevice(kind, address, name, now), *others][:KEEP]
    text = "# devices palpate connected to, newest first (written by palpate)\n"
    for d in devices:
        text += (
            f"\n[[device]]\nkind = {_quote(d.kind)}\naddress = {_quote(d.address)}\n"
            f"name = {_quote(d.name)}\nlast_used_unix = {d.last_used_unix!r}\n"
        )
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, "utf-8")
        tmp.replace(path)
