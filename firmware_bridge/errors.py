"""Errors of the device bridge: one base class, subclasses that carry the facts."""

from __future__ import annotations

__all__ = ["BridgeError", "DecodeError", "DeviceNotFound", "SourceStateError", "UnknownSource"]


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
