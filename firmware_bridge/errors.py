"""Errors of the device bridge: one base class, subclasses that carry the facts."""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BluetoothUnavailable",
    "BridgeError",
    "DecodeError",
    "DeviceNotFound",
    "LinkLost",
    "SourceStateError",
    "UnknownSource",
]


class BridgeError(Exception):
    """Base of every error raised by ``firmware_bridge``."""


class UnknownSource(BridgeError, ValueError):
    """A device spec names no registered source."""

    def __init__(self, spec: str, known: list[str]) -> None:
        self.spec = spec
        self.known = known
        super().__init__(
            f"no source called {spec!r}; known sources: {', '.join(known)} "
            "(run `palpate devices` to list them)"
        )


class DeviceNotFound(BridgeError):
    """The device named by ``identifier`` could not be found or reached."""

    def __init__(self, identifier: str, reason: str = "") -> None:
        self.identifier = identifier
        self.reason = reason
        detail = f": {reason}" if reason else ""
        super().__init__(f"device {identifier!r} not found{detail}")


class DecodeError(BridgeError):
    """A packet could not be decoded; ``payload`` is the offending bytes."""

    def __init__(self, payload: bytes, reason: str) -> None:
        self.payload = bytes(payload)
        self.reason = reason
        preview = self.payload[:32].hex(" ")
        more = " ..." if len(self.payload) > 32 else ""
        super().__init__(
            f"cannot decode {len(self.payload)}-byte packet ({reason}): {preview}{more}"
        )


class SourceStateError(BridgeError, RuntimeError):
    """A source was used in the wrong state, e.g. ``frames()`` before ``async with``."""


class BluetoothUnavailable(BridgeError):
    """Bluetooth cannot be used on this machine; ``reason`` says why.

    ``reason`` is one of ``"missing"`` (no adapter or no Bluetooth service),
    ``"off"`` (the radio is powered off), ``"denied"`` (palpate is not permitted
    to use it) or ``"unknown"``; ``detail`` is what the system said.
    """

    ADVICE: ClassVar[dict[str, str]] = {
        "missing": "no Bluetooth adapter or Bluetooth service was found on this machine; "
        "plug in an adapter or start the Bluetooth service (Linux: bluetoothd), or use "
        "--device sim / virtual:tindeq / phyphox:HOST to go on without one",
        "off": "Bluetooth is turned off; turn it on in the system settings and try again",
        "denied": "palpate is not permitted to use Bluetooth; allow it in the system's privacy "
        "settings (macOS/Windows) or add your user to the 'bluetooth' group (Linux)",
        "unknown": "Bluetooth is not available; check that it is on and that palpate may use it",
    }

    def __init__(self, reason: str, detail: str = "") -> None:
        if reason not in self.ADVICE:
            reason = "unknown"
        self.reason = reason
        self.detail = detail
        extra = f" ({detail})" if detail else ""
        super().__init__(f"Bluetooth unavailable: {self.ADVICE[reason]}{extra}")


class LinkLost(BridgeError):
    """A device link dropped and did not come back within ``waited_s`` seconds."""

    def __init__(self, identifier: str, waited_s: float, attempts: int) -> None:
        self.identifier = identifier
        self.waited_s = waited_s
        self.attempts = attempts
        super().__init__(
            f"lost the link to {identifier!r} and could not reconnect in {waited_s:.0f} s "
            f"({attempts} attempts); check that the device is on, charged and within reach, "
            "then start again (everything received so far is kept)"
        )
