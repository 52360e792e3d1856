"""The link diagnostics: a ring buffer of the last link events, kept for bug reports.

Every BLE or network source records what happens to its link (scan, connect,
subscribe, drop, reconnect attempt, stall, malformed packet) in one process-wide
:class:`LinkLog` of the last :data:`CAPACITY` events. The log is saved to
``<state dir>/link_events.jsonl`` on every link change, so ``palpate devices
--diagnostics`` can show it after the session ended or crashed.

Examples
--------
>>> log = LinkLog(path=None)
>>> log.record("tindeq", "Progressor_1234", "connected", "mtu 247")
>>> [e["event"] for e in log.events()]
['connected']
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import deque
from pathlib import Path
from typing import Any, Final

from firmware_bridge.userdirs import state_dir

__all__ = ["CAPACITY", "LinkLog", "link_log", "load_saved"]

CAPACITY: Final = 100
"""Link events kept."""

FILE_NAME: Final = "link_events.jsonl"


class LinkLog:
    """A ring buffer of link events, optionally mirrored to a JSON-lines file.

    Parameters
    ----------
    path : Path or None
        File the buffer is saved to by :meth:`save`; None keeps it in memory only.
    capacity : int
        Events kept (oldest dropped first).
    """

    def __init__(self, path: Path | None, capacity: int = CAPACITY) -> None:
        self.path = path
        self._events: deque[dict[str, Any]] = deque(maxlen=capacity)
        if path is not None:
            self._events.extend(load_saved(path)[-capacity:])

    def record(
        self, source: str, device: str, event: str, detail: str = "", *, save: bool = False
    ) -> None:
        """Add one event (``event`` a short key such as ``"connected"``, ``"link_lost"``)."""
        self._events.append(
            {
                "t_unix": round(time.time(), 3),
                "source": source,
                "device": device,
                "event": event,
                "detail": detail,
            }
        )
        if save:
            self.save()

    def events(self) -> list[dict[str, Any]]:
        """The kept events, oldest first."""
        return list(self._events)

    def save(self) -> None:
        """Write the buffer to :attr:`path` (never raises: diagnostics must not stop a session)."""
        if self.path is None:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text("".join(json.dumps(e) + "\n" for e in self._events), "utf-8")
            tmp.replace(self.path)


def load_saved(path: Path | None = None) -> list[dict[str, Any]]:
    """Events saved by earlier sessions (oldest first); unreadable lines are skipped."""
    path = state_dir() / FILE_NAME if path is None else path
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        with contextlib.suppress(ValueError):
            item = json.loads(line)
            if isinstance(item, dict) and "event" in item:
                out.append(item)
    return out


_LOG: LinkLog | None = None


def link_log() -> LinkLog:
    """The process-wide link log (created on first use, loading the saved one)."""
    global _LOG
    path = state_dir() / FILE_NAME
    if _LOG is None or _LOG.path != path:
        _LOG = LinkLog(path)
    return _LOG
