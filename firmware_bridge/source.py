"""The Source base class: the one public API every device driver shares.

A driver fills three hooks: :meth:`Source._open` (connect, return the
:class:`~analysis.stream.StreamInfo`), :meth:`Source._frames` (yield frames) and
:meth:`Source._close` (disconnect). The base class owns the life cycle and checks
every frame against the stream's contract, so a driver bug surfaces as a clear
error at the edge, not as a wrong number in a plot.

Examples
--------
>>> import asyncio
>>> from firmware_bridge import open_source
>>> async def first_frame():
...     async with open_source("sim", realtime=False, duration_s=1.0) as source:
...         async for frame in source.frames():
...             return source.info.rate_hz, frame.index
>>> asyncio.run(first_frame())
(100.0, 0)
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

from analysis.stream import Event, Frame, StreamInfo
from firmware_bridge.errors import SourceStateError

__all__ = ["Source"]


class Source(abc.ABC):
    """A stream of :class:`~analysis.stream.Frame` blocks from one device.

    Use it as an async context manager, then iterate :meth:`frames`::

        async with source:
            async for frame in source.frames():
                ...

    Frames are checked on the way out: their channel count matches
    :attr:`info`, time strictly increases across frames and sample indices never
    go backwards (a forward jump marks lost samples).
    """

    def __init__(self) -> None:
        self._info: StreamInfo | None = None
        self._state = "new"  # new -> open -> closed
        self._last_t = float("-inf")
        self._next_index = 0

    # -- public API ---------------------------------------------------------------------------

    @property
    def info(self) -> StreamInfo:
        """What this source produces; available once the source is open."""
        if self._info is None:
            raise SourceStateError(
                f"{type(self).__name__}: info is known once the source is open (use `async with`)"
            )
        return self._info

    @property
    def is_open(self) -> bool:
        return self._state == "open"

    @property
    def link_state(self) -> str | None:
        """State of the device link (``streaming``, ``stalled``, ``reconnecting``, ...);
        None for sources without one (simulator, files)."""
        return None

    def drain_events(self) -> list[Event]:
        """Events the source saw since the last call (a link came back, ...), in time order.

        Lost samples are not reported here: they show as a jump of ``Frame.index``.
        """
        return []

    async def __aenter__(self) -> Self:
        if self._state != "new":
            raise SourceStateError(f"{type(self).__name__} can be opened once, it is {self._state}")
        self._info = await self._open()
        self._state = "open"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._state == "open":
            self._state = "closed"
            await self._close()

    async def frames(self) -> AsyncIterator[Frame]:
        """Yield frames until the source ends or is closed."""
        if self._state != "open":
            raise SourceStateError(
                f"{type(self).__name__}: frames() needs an open source (it is {self._state})"
            )
        info = self.info
        async for frame in self._frames():
            info.check(frame)
            if frame.t[0] <= self._last_t:
                raise SourceStateError(
                    f"{info.source}: frame starting at {frame.t[0]:.6f} s does not come after "
                    f"the previous one ending at {self._last_t:.6f} s"
                )
            if frame.index < self._next_index:
                raise SourceStateError(
                    f"{info.source}: sample index went back from {self._next_index} "
                    f"to {frame.index}"
                )
            self._last_t = float(frame.t[-1])
            self._next_index = frame.next_index
            yield frame
            if self._state != "open":
                return

    # -- driver hooks -------------------------------------------------------------------------

    @abc.abstractmethod
    async def _open(self) -> StreamInfo:
        """Connect and start streaming; return what the stream holds."""

    @abc.abstractmethod
    def _frames(self) -> AsyncIterator[Frame]:
        """Yield frames (an async generator)."""

    async def _close(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Stop streaming and disconnect."""
