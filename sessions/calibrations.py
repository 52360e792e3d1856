"""Saved device calibrations: one JSON file per device in the person's config folder.

The calibration wizard fits readings under known weights and saves the result here
(:func:`save_calibration`); a :class:`~sessions.live.LiveSession` given the folder
applies a device's calibration as the device connects (:func:`load_calibration`), so
its readings become newtons before tare, recording and analysis.

Files are named after the device as it names itself (its advertised name or
address), which stays the same from one connection to the next.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from analysis.calibration import DeviceCalibration, LinearCalibration
>>> folder = Path(tempfile.mkdtemp())
>>> cal = DeviceCalibration("pad-01", (LinearCalibration(0.5, -1.0),), created_unix=0.0)
>>> save_calibration(cal, folder).name
'pad-01.json'
>>> load_calibration("pad-01", folder) == cal, load_calibration("other", folder)
(True, None)
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from analysis.calibration import Calibrator, DeviceCalibration
from analysis.stream import Channel, Event, EventKind, StreamInfo
from firmware_bridge.userdirs import config_dir
from sessions.files import write_atomic

__all__ = [
    "calibration_dir",
    "calibration_event",
    "calibration_for",
    "calibration_path",
    "load_calibration",
    "save_calibration",
]


def calibration_dir() -> Path:
    """Where device calibrations are kept: ``<config dir>/calibrations``."""
    return config_dir() / "calibrations"


def calibration_path(device_id: str, folder: Path | None = None) -> Path:
    """The file of one device's calibration (characters unsafe in file names replaced)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in device_id)
    return (folder or calibration_dir()) / f"{safe}.json"


def save_calibration(cal: DeviceCalibration, folder: Path | None = None) -> Path:
    """Write a calibration (replacing the device's earlier one atomically); the file."""
    path = calibration_path(cal.device_id, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, [json.dumps(cal.to_dict(), indent=2)])
    return path


def load_calibration(device_id: str, folder: Path | None = None) -> DeviceCalibration | None:
    """The saved calibration of a device, or ``None`` if it has none.

    Raises
    ------
    ValueError
        The file exists but does not read as a calibration of this device; the message
        names the file and says what to do.
    """
    path = calibration_path(device_id, folder)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ValueError(f"cannot read the calibration {path}: {err}") from err
    try:
        cal = DeviceCalibration.from_dict(json.loads(text))
    except ValueError as err:  # json.JSONDecodeError is a ValueError
        raise ValueError(
            f"the calibration {path} is damaged ({err}); calibrate the device again "
            "or delete the file"
        ) from err
    if cal.device_id != device_id:
        raise ValueError(
            f"the calibration {path} belongs to {cal.device_id!r}, not {device_id!r}; "
            "calibrate this device again"
        )
    return cal


def calibration_for(
    info: StreamInfo, folder: Path | None = None
) -> tuple[StreamInfo, Calibrator | None, str]:
    """A connected device's saved calibration, ready for its frames.

    Returns
    -------
    info : StreamInfo
        The stream as calibrated (every channel force, in N), or unchanged.
    calibrator : Calibrator or None
        Turns the device's frames into newtons; ``None`` when nothing is applied.
    note : str
        What happened, for the person: ``""`` when the device has no calibration,
        else that it was applied or why not (a damaged file, a channel count that
        does not match); the device then reads as it is.
    """
    if not info.device:
        return info, None, ""
    try:
        cal = load_calibration(info.device, folder)
        if cal is None:
            return info, None, ""
        if cal.n_channels != info.n_channels:
            raise ValueError(
                f"the calibration of {info.device} has {cal.n_channels} channels, the device "
                f"sends {info.n_channels}; calibrate it again"
            )
    except ValueError as err:
        return info, None, f"calibration not applied: {err}"
    channels = tuple(Channel(c.name, "N", "force") for c in info.channels)
    note = f"calibration of {info.device} applied" + (f" ({cal.notes})" if cal.notes else "")
    return replace(info, channels=channels), Calibrator(cal), note


def calibration_event(t: float, note: str, applied: bool) -> Event:
    """How a session tells a :func:`calibration_for` note: a ``calibration`` marker when
    applied, a ``sensor`` event (a problem with the device's data) when not."""
    if applied:
        return Event(t, EventKind.MARKER, {"label": "calibration", "note": note})
    return Event(t, EventKind.SENSOR, {"reason": note})
