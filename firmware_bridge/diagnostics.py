"""What to put in a bug report about a device link: versions, Bluetooth status, recent
devices and the last link events (``palpate devices --diagnostics``)."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from typing import Any

from firmware_bridge.errors import BluetoothUnavailable, BridgeError
from firmware_bridge.linklog import FILE_NAME, load_saved
from firmware_bridge.recent import recent_devices
from firmware_bridge.userdirs import config_dir, state_dir

__all__ = ["bluetooth_status", "diagnostics"]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


async def bluetooth_status(probe_s: float = 0.5) -> dict[str, Any]:
    """Try a short scan: ``{"available": bool, "reason": ..., "message": ...}``."""
    from firmware_bridge.scan import scan

    try:
        found = await scan(probe_s)
    except BluetoothUnavailable as err:
        return {"available": False, "reason": err.reason, "message": str(err)}
    except BridgeError as err:
        return {"available": False, "reason": "unknown", "message": str(err)}
    return {"available": True, "reason": None, "message": f"{len(found)} supported devices seen"}


async def diagnostics(probe_s: float = 0.5) -> dict[str, Any]:
    """Everything ``palpate devices --diagnostics`` shows, as JSON-ready data."""
    return {
        "versions": {
            "palpate": _version("palpate"),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "bleak": _version("bleak"),
            "bumble": _version("bumble"),
        },
        "bluetooth": await bluetooth_status(probe_s),
        "config_dir": str(config_dir()),
        "recent_devices": [
            {
                "kind": d.kind,
                "address": d.address,
                "name": d.name,
                "last_used_unix": d.last_used_unix,
            }
            for d in recent_devices()
        ],
        "link_log": str(state_dir() / FILE_NAME),
        "link_events": load_saved(),
    }
