"""Replay a recorded session as a live source.

:class:`ReplaySource` is a :class:`~firmware_bridge.source.Source` that plays one stream
of a ``.palpate`` file with its recorded timing: in real time, slower or faster
(0.25x-16x) or as fast as possible (``speed=math.inf``). It can seek, jump back, start
at a marker, pause and loop; gaps in the recording stay gaps (playback waits them out
and the sample indices jump as they did). Frames keep their recorded times, so a
:class:`~sessions.live.LiveSession` running a replay shows the recorded clock, and its
pipeline, fed the very samples the live pipeline saw, gives the same events. What the
person did (pain marks, markers, tare, settings changes) is handed back at the sample
it happened after (:meth:`ReplaySource.actions_through`), so a pain mark lowers the
personal ceiling at the same moment as it did live.

Control methods (:meth:`seek`, :meth:`set_speed`, :meth:`pause`...) may be called from
any thread; they take effect before the next frame.

Examples
--------
>>> import asyncio, math, tempfile
>>> from pathlib import Path
>>> from firmware_bridge import open_source
>>> from sessions.live import LiveSession
>>> with tempfile.TemporaryDirectory() as folder:
...     path = Path(folder) / "s.palpate"
...     with LiveSession(open_source("sim", realtime=False, duration_s=3.0), record_to=path) as s:
...         s.wait(30.0)
...     replay = ReplaySource(path, speed=math.inf)
...     with LiveSession(replay) as again:
...         again.wait(30.0)
...     round(replay.duration_s, 2), len(again.pressure)
True
True
(3.0, 300)
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Final

import numpy as np

from analysis.pipeline import Analysis, Pipeline, PipelineConfig
from analysis.stream import Event, EventKind, Frame, StreamInfo
from firmware_bridge.source import Source
from sessions.errors import SessionError
from sessions.settings import config_from_dict
from sessions.store import RecordedEvent, SessionFile
from sessions.summaries import merge_summaries

__all__ = ["MAX_SPEED", "MIN_SPEED", "ReplaySource", "analyze_session"]

MIN_SPEED: Final = 0.25
MAX_SPEED: Final = 16.0
PIECE_WALL_S: Final = 0.02
"""Real-time playback hands out about this much wall-clock time per frame, seconds."""
_POLL_S: Final = 0.05  # longest sleep before looking at seek / pause / speed again


def _check_speed(speed: float) -> float:
    speed = float(speed)
    if speed == math.inf or MIN_SPEED <= speed <= MAX_SPEED:
        return speed
    raise ValueError(
        f"replay speed must be {MIN_SPEED:g}-{MAX_SPEED:g}x, or inf for as fast as possible; "
        f"got {speed:g}"
    )


class ReplaySource(Source):
    """A recorded stream played as a live source.

    Parameters
    ----------
    path : Path
        The ``.palpate`` file.
    speed : float
        0.25-16 times real time, or ``math.inf`` for as fast as possible.
    start_s : float
        Where to start, seconds on the session clock (clamped into the recording).
    loop : bool
        Start again from the beginning at the end (the analysis restarts too).
    stream : str, optional
        Which recorded stream to play; default the main one (the first with force or
        pressure).
    hold_at_end : bool
        At the end (without ``loop``), wait for a seek instead of ending the stream, so a
        replay window can still jump back.

    Attributes
    ----------
    duration_s : float
        Length of the played stream, seconds.
    t_first, t_last : float
        Times of its first and last sample, seconds on the session clock.
    events : list of Event
        Every recorded event of the session (for a timeline).
    markers : list of Event
        The recorded markers (bookmarks, tare, settings changes).
    recorded_config : PipelineConfig or None
        The settings the session was recorded with; a LiveSession replaying it uses them.
    epoch : int
        Goes up by one at every seek, jump or loop; a consumer restarts its analysis.

    Raises
    ------
    SessionError
        The file cannot be read (see :class:`~sessions.store.SessionFile`) or holds no
        samples of the stream.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        speed: float = 1.0,
        start_s: float = 0.0,
        loop: bool = False,
        stream: str | None = None,
        hold_at_end: bool = False,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self._speed = _check_speed(speed)
        with SessionFile.open(self.path) as f:
            record = f.stream(stream)
            if record.samples == 0:
                raise SessionError(f"{self.path}: stream {record.name!r} holds no samples")
            recorded = f.events()
            self.recorded_config: PipelineConfig | None = f.config
            self.started_at_unix = f.started_at_unix
        self.stream_name = record.name
        self.recorded_info: StreamInfo = record.info
        self.t_first = record.t_first
        self.t_last = record.t_last
        self.duration_s = record.t_last - record.t_first + 1.0 / record.info.rate_hz
        self.events: list[Event] = [r.event for r in recorded]
        self.markers: list[Event] = [e for e in self.events if e.kind == EventKind.MARKER]
        self._actions: list[RecordedEvent] = [
            r
            for r in recorded
            if r.event.kind in (EventKind.PAIN, EventKind.MARKER)
            and (r.stream == record.name or r.stream is None)
        ]
        self._loop_play = bool(loop)
        self._hold = bool(hold_at_end)
        self._lock = threading.Lock()
        self._paused = False
        self._seek_to: float | None = self._clamp(start_s)
        self._position = self._seek_to
        self._base_media = self._seek_to
        self._base_wall = time.monotonic()
        self._started = False
        self.epoch = 0

    # -- control (any thread) -----------------------------------------------------------------

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def loop(self) -> bool:
        return self._loop_play

    @property
    def position_s(self) -> float:
        """Playback position, seconds on the session clock."""
        return self.session_clock()

    def session_clock(self) -> float:
        """Where playback is now: the recorded time being shown (follows speed and pauses)."""
        with self._lock:
            if self._seek_to is not None:
                return self._seek_to
            if self._speed == math.inf or self._paused:
                return self._position
            return self._media_now()

    def seek(self, t: float) -> None:
        """Continue from time ``t`` (seconds, clamped into the recording)."""
        with self._lock:
            self._seek_to = self._clamp(t)
            self._position = self._seek_to

    def jump_back(self, seconds: float) -> None:
        """Go back ``seconds`` from the current position."""
        if not seconds >= 0:
            raise ValueError(f"jump_back needs seconds >= 0, got {seconds!r}")
        self.seek(self.session_clock() - seconds)

    def seek_marker(self, which: int | str) -> Event:
        """Seek to a recorded marker: by number (0 = first) or by its label; returns it."""
        if isinstance(which, int):
            if not 0 <= which < len(self.markers):
                raise ValueError(
                    f"marker {which} does not exist; the session has {len(self.markers)}"
                )
            marker = self.markers[which]
        else:
            found = [m for m in self.markers if m.data.get("label") == which]
            if not found:
                labels = ", ".join(repr(m.data.get("label", "")) for m in self.markers) or "none"
                raise ValueError(f"no marker labelled {which!r}; markers: {labels}")
            marker = found[0]
        self.seek(marker.t)
        return marker

    def set_speed(self, speed: float) -> None:
        """Change the speed (0.25-16, or inf) without a jump."""
        speed = _check_speed(speed)
        with self._lock:
            self._rebase()
            self._speed = speed

    def set_loop(self, loop: bool) -> None:
        self._loop_play = bool(loop)

    def pause(self) -> None:
        with self._lock:
            if not self._paused:
                self._position = self._media_now() if self._speed != math.inf else self._position
                self._paused = True

    def resume(self) -> None:
        with self._lock:
            if self._paused:
                self._paused = False
                self._base_media = self._position
                self._base_wall = time.monotonic()

    # -- what the live session asks -----------------------------------------------------------

    def actions_through(self, frame: Frame) -> list[Event]:
        """Recorded actions (pain marks, markers) that happened right after a sample of
        ``frame``: the live session repeats them after analysing it."""
        lo, hi = frame.index, frame.next_index
        first = lo == self._first_index
        return [
            r.event
            for r in self._actions
            if (r.anchor is not None and lo <= r.anchor < hi) or (r.anchor is None and first)
        ]

    # -- the Source hooks ---------------------------------------------------------------------

    async def _open(self) -> StreamInfo:
        return self.recorded_info

    async def _frames(self) -> AsyncIterator[Frame]:
        reader = SessionFile.open(self.path)  # this thread's own connection
        self._first_index = next(reader.blocks(self.stream_name)).index
        try:
            while True:
                if self._seek_to is None and not self._loop_play:  # came to the end
                    if not self._hold:
                        return
                    while self._seek_to is None and not self._loop_play:
                        await asyncio.sleep(_POLL_S)
                with self._lock:
                    start, self._seek_to = self._seek_to, None
                    if start is None:  # looping back to the beginning
                        start = self.t_first
                    self._base_media, self._base_wall = start, time.monotonic()
                    self._position = start
                if self._started:
                    self.epoch += 1
                    self._last_t = -math.inf  # the base class checks order within one run
                    self._next_index = 0
                async for piece in self._play(reader, start):
                    self._started = True
                    yield piece
        finally:
            reader.close()

    async def _play(self, reader: SessionFile, start: float) -> AsyncIterator[Frame]:
        """Pieces from ``start`` until the end or a seek."""
        for block in reader.blocks(self.stream_name, t_from=start):
            for piece in self._pieces(block):
                while True:  # wait until the piece is due (or a seek / pause)
                    with self._lock:
                        if self._seek_to is not None:
                            return
                        if self._paused:
                            wait = _POLL_S
                        elif self._speed == math.inf:
                            wait = 0.0
                        else:
                            wait = (float(piece.t[-1]) - self._media_now()) / self._speed
                    if wait <= 0:
                        break
                    await asyncio.sleep(min(wait, _POLL_S))
                with self._lock:
                    if self._seek_to is not None:
                        return
                    self._position = float(piece.t[-1])
                if self._speed == math.inf:
                    await asyncio.sleep(0)  # let the loop breathe between blocks
                yield piece

    def _pieces(self, block: Frame) -> Iterator[Frame]:
        """Cut a stored block into frames: at recorded actions (so they replay after the
        same sample) and, in real time, into about :data:`PIECE_WALL_S` of wall time each."""
        cuts = {block.n}
        for r in self._actions:
            if r.anchor is not None and block.index <= r.anchor < block.next_index - 1:
                cuts.add(r.anchor - block.index + 1)
        if self._speed != math.inf:
            step_s = PIECE_WALL_S * self._speed
            edges = np.searchsorted(
                block.t, np.arange(block.t[0] + step_s, block.t[-1], step_s), side="right"
            )
            cuts.update(int(e) for e in edges if 0 < e < block.n)
        start = 0
        for stop in sorted(cuts):
            yield block.slice(start, stop)
            start = stop

    # -- helpers (call with the lock held) -----------------------------------------------------

    def _media_now(self) -> float:
        return self._base_media + (time.monotonic() - self._base_wall) * self._speed

    def _rebase(self) -> None:
        if self._speed != math.inf and not self._paused and self._seek_to is None:
            self._position = self._media_now()
        self._base_media = self._position
        self._base_wall = time.monotonic()

    def _clamp(self, t: float) -> float:
        if not math.isfinite(t):
            raise ValueError(f"cannot seek to {t!r}")
        return min(max(float(t), self.t_first), self.t_last)

    _first_index: int = 0


def analyze_session(
    path: str | Path,
    config: PipelineConfig | None = None,
    *,
    stream: str | None = None,
    start_s: float | None = None,
) -> Analysis:
    """Re-run the pipeline over a recorded session, as fast as possible.

    The same path as a replay: a :class:`ReplaySource` feeds the pipeline, and recorded
    pain marks and settings changes are repeated after the sample they followed, so the
    result matches what the person saw live. ``config`` overrides the recorded settings
    (and then recorded settings changes are not applied). Must not be called from a
    running event loop.

    Returns
    -------
    Analysis
        Windows, warning episodes, events (pipeline events plus the recorded markers and
        pain marks) and the summary of the main stream.
    """
    source = ReplaySource(path, speed=math.inf, stream=stream)
    if start_s is not None:
        source.seek(start_s)
    keep_recorded = config is None
    first_config = config or source.recorded_config or PipelineConfig()

    async def run() -> Analysis:
        async with source:
            info = source.info
            pipe = Pipeline(info, first_config)
            earlier: list[Pipeline] = []
            windows = []
            events: list[Event] = []
            async for frame in source.frames():
                block = pipe.process(frame)
                windows += block.windows
                events += block.events
                for action in source.actions_through(frame):
                    label = action.data.get("label")
                    if (
                        action.kind == EventKind.PAIN
                        and action.data.get("pressure_kpa") is not None
                    ):
                        events.append(pipe.mark_pain(action.t))
                        continue
                    if action.kind == EventKind.MARKER and label == "settings" and keep_recorded:
                        block = pipe.flush()  # the rows it held, before the new settings
                        windows += block.windows
                        events += block.events
                        earlier.append(pipe)
                        pipe = Pipeline(info, config_from_dict(action.data["config"]))
                    events.append(action)
            block = pipe.flush()
            windows += block.windows
            events += block.events
            episodes = [e for p in [*earlier, pipe] for e in p.episodes()]
            summary = merge_summaries([p.result() for p in [*earlier, pipe]])
            return Analysis(windows, episodes, sorted(events, key=lambda e: e.t), summary)

    return asyncio.run(run())
