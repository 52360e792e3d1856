"""The live session: sources, pipeline and recorder on one acquisition thread.

:class:`LiveSession` runs one or more :class:`~firmware_bridge.source.Source` objects on
a thread with its own asyncio loop (DESIGN.md, "Threads"). Each frame is put on the
session clock, recorded (when a recording is open), written to the ring buffers and
analysed by the stream's :class:`~analysis.pipeline.Pipeline`; events go to a bounded
queue. Views (Qt window, terminal view) read the buffers and drain the events on their
own timer, so a slow view never makes acquisition wait.

The session clock
-----------------
Seconds since :meth:`LiveSession.start`, on the monotonic clock. Every source's frames
are shifted onto it when its first frame arrives (its newest sample is "now"), so a pad
and a phone that connect at different moments share one time axis. A source that plays
a recording (it has a ``session_clock()`` method, like
:class:`~sessions.replay.ReplaySource`) keeps its recorded times, and the session clock
follows its playback position instead.

Examples
--------
>>> from firmware_bridge import open_source
>>> session = LiveSession(open_source("sim", realtime=False, duration_s=3.0, seed=1))
>>> with session:
...     session.wait(timeout=30.0)
True
>>> len(session.pressure), session.status()[0].link
(300, 'closed')
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import numpy as np

from analysis.calibration import Calibrator
from analysis.pipeline import Block, Pipeline, PipelineConfig
from analysis.stream import Event, EventKind, Frame, StreamInfo
from analysis.strokes import STROKES
from firmware_bridge.source import Source
from sessions.calibrations import calibration_event, calibration_for
from sessions.ringbuffer import RingBuffer
from sessions.settings import config_to_dict
from sessions.summaries import merge_summaries

__all__ = ["LINK_STATES", "LiveSession", "SourceStatus"]

LINK_STATES: Final = ("connecting", "streaming", "reconnecting", "closed", "failed")
"""What :attr:`SourceStatus.link` can say."""

COMMIT_INTERVAL_S: Final = 0.2
"""How often the recording is committed, seconds (a crash loses at most about this much)."""

SUMMARY_INTERVAL_S: Final = 1.0
"""How often the running summary is refreshed (and written into the recording), seconds."""

RATE_WINDOW_S: Final = 2.0
"""Span of stream time over which the sample rate is measured, seconds."""

TARE_S: Final = 0.5
"""Tare takes the median force of this many seconds of the newest samples."""

MAX_EVENTS: Final = 100_000
"""Events kept for :meth:`LiveSession.poll_events` when nobody drains them."""

_STROKE_INDEX: Final = {name: i for i, name in enumerate(STROKES)}
_DEFAULT_RATE_HZ: Final = 100.0  # buffers are sized with it until a source says its rate
RAW_HISTORY_S: Final = 60.0
"""Seconds of raw device values kept per stream: enough for a tare (0.5 s) and a
calibration capture (1-2 s), not the session's whole history."""


@dataclass(frozen=True)
class SourceStatus:
    """How one source is doing; see :meth:`LiveSession.status`.

    Parameters
    ----------
    name : str
        Stream name (the source's registry name, made unique in the session).
    device : str
        Device name as the source reports it.
    link : str
        One of :data:`LINK_STATES`.
    rate_hz : float
        Sample rate measured over the last ~2 s of stream time, Hz (NaN before known).
    data_age_s : float
        Session clock now minus the time of the newest sample, seconds (inf before any).
    too_slow : bool
        The rate is below ``PipelineConfig.min_rate_hz``: ramp numbers must not be shown.
    message : str
        The last problem, told plainly (``""`` when fine).
    """

    name: str
    device: str
    link: str
    rate_hz: float
    data_age_s: float
    too_slow: bool
    message: str


@dataclass(eq=False)
class _Stream:
    """Acquisition-thread state of one source."""

    source: Source
    name: str
    device: str = ""
    link: str = "connecting"
    message: str = ""
    info: StreamInfo | None = None
    pipeline: Pipeline | None = None
    offset_s: float | None = None
    newest_t: float = -math.inf
    next_index: int | None = None
    tare_n: np.ndarray | None = None
    calibrator: Calibrator | None = None  # the device's saved calibration, applied first
    epoch: int = 0
    earlier: list[dict[str, Any]] = field(
        default_factory=list
    )  # summaries before a settings change
    arrivals: collections.deque[tuple[float, float, int]] = field(
        default_factory=lambda: collections.deque(maxlen=2000)
    )
    rate_hz: float = math.nan

    def measure_rate(self, frame: Frame) -> None:
        self.arrivals.append((float(frame.t[0]), float(frame.t[-1]), frame.n))
        while len(self.arrivals) > 2 and self.arrivals[-1][1] - self.arrivals[1][0] > RATE_WINDOW_S:
            self.arrivals.popleft()
        first, last = self.arrivals[0][0], self.arrivals[-1][1]
        n = sum(a[2] for a in self.arrivals)
        self.rate_hz = (n - 1) / (last - first) if last > first else math.nan


class LiveSession:
    """Sources, pipeline and recorder on an acquisition thread; buffers and events for views.

    Parameters
    ----------
    sources : Source or sequence of Source
        Not yet opened; the session opens and closes them.
    config : PipelineConfig, optional
        Analysis settings. Default: the settings a replayed recording was made with, else
        :class:`~analysis.pipeline.PipelineConfig` defaults.
    record_to : Path, optional
        Record from the start into this ``.palpate`` file (see :meth:`start_recording`).
    history_s : float
        Seconds of data the ring buffers keep.
    recording_meta : mapping, optional
        Extra metadata for recordings (``{"tool": "thumb"}``), JSON-serialisable.
    calibrations : Path, optional
        A folder of saved device calibrations (:mod:`sessions.calibrations`): a device
        that has one there reads in newtons through it from the moment it connects
        (its channels become force channels, in N), before tare, recording and
        analysis. A damaged file is told as a ``sensor`` event and not applied. Leave
        it out for replays: recorded frames are calibrated already.

    Attributes
    ----------
    pressure, level, rate, warning : RingBuffer
        ``(t, kPa)``, ``(t, working level kPa)``, ``(t, ramp rate kPa/s, NaN when not
        judged)``, ``(t, analysis.warning_level.Level)`` of the main stream (the first
        source that measures force or pressure). Pressure has a row per sample; level,
        rate and warning change once per block of the pipeline (20 ms) and have a row
        at the end of each block.
    strokes : RingBuffer
        ``(t_end, t_start, label index into analysis.strokes.STROKES, confidence)``.
    cop : RingBuffer
        ``(t, x, y)`` centre of pressure in the pad's position unit (multi-channel pads).
    raw : dict of str to RingBuffer
        Per stream name: ``(t, ch0, ch1, ...)`` as the device sent them (on the
        session clock, before calibration and tare): what a calibration is fitted to.
        The last :data:`RAW_HISTORY_S` seconds only.
    error : str or None
        Why the session stopped, if it failed.
    """

    def __init__(
        self,
        sources: Source | Sequence[Source],
        config: PipelineConfig | None = None,
        *,
        record_to: Path | None = None,
        history_s: float = 3600.0,
        recording_meta: Mapping[str, Any] | None = None,
        calibrations: Path | None = None,
    ) -> None:
        items = [sources] if isinstance(sources, Source) else list(sources)
        if not items:
            raise ValueError("a live session needs at least one source")
        for s in items:
            if not isinstance(s, Source):
                raise ValueError(f"not a Source: {s!r}")
        if not (history_s > 0 and math.isfinite(history_s)):
            raise ValueError(f"history_s must be a positive number of seconds, got {history_s!r}")
        if config is None:
            recorded = getattr(items[0], "recorded_config", None)
            config = recorded if isinstance(recorded, PipelineConfig) else PipelineConfig()
        self._config = config
        self._history_s = float(history_s)
        self._record_to = Path(record_to) if record_to is not None else None
        self._recording_meta = dict(recording_meta or {})
        self._calibrations = Path(calibrations) if calibrations is not None else None
        self._streams = [_Stream(s, f"source{i + 1}") for i, s in enumerate(items)]
        self._follow = next((s for s in items if callable(getattr(s, "session_clock", None))), None)
        cap = self._capacity(_DEFAULT_RATE_HZ)
        self.pressure = RingBuffer(cap, 2, ("t", "kPa"))
        self.level = RingBuffer(cap, 2, ("t", "level kPa"))
        self.rate = RingBuffer(cap, 2, ("t", "kPa/s"))
        self.warning = RingBuffer(cap, 2, ("t", "level"))
        self.cop = RingBuffer(cap, 3, ("t", "x", "y"))
        hops = int(self._history_s / config.hop_s) + 16
        self.strokes = RingBuffer(hops, 4, ("t_end", "t_start", "stroke", "confidence"))
        self.raw: dict[str, RingBuffer] = {}
        self.error: str | None = None
        self.started_at_unix: float | None = None
        self._events: collections.deque[Event] = collections.deque(maxlen=MAX_EVENTS)
        self._main: _Stream | None = None
        self._summary: dict[str, Any] = {}
        self._t0: float | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_flag: asyncio.Event | None = None
        self._pending: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._writer: Any = None  # sessions.store.SessionWriter, only touched on the thread
        self._recording: Path | None = None
        self._last_summary = -math.inf

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the acquisition thread (its own asyncio loop); returns at once."""
        if self._thread is not None:
            raise RuntimeError("a live session can be started once")
        self._t0 = time.monotonic()
        self.started_at_unix = time.time()
        if self._record_to is not None:
            self.start_recording(self._record_to)
        self._thread = threading.Thread(target=self._run, name="palpate-acquisition", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the sources, flush and close the recording; wait up to ``timeout`` seconds."""
        if self._thread is None:
            self._done.set()
            return
        self._call(self._request_stop)
        self._thread.join(timeout)
        if self._thread.is_alive() and self.error is None:
            self.error = f"the acquisition thread did not stop within {timeout:g} s"

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the session stops by itself (every source ended); ``True`` if it did."""
        return self._done.wait(timeout)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def stopped(self) -> bool:
        """Whether the acquisition thread has ended."""
        return self._done.is_set()

    @property
    def recording(self) -> Path | None:
        """The file being recorded into, or ``None``."""
        return self._recording

    @property
    def main_stream(self) -> str | None:
        """Name of the stream that feeds the pressure, rate and stroke buffers (``None``
        until a source is open)."""
        main = self._main
        return main.name if main is not None else None

    @property
    def config(self) -> PipelineConfig:
        """The analysis settings in force."""
        return self._config

    def clock(self) -> float:
        """Session clock now, seconds (the clock of every recorded ``Frame.t``)."""
        if self._follow is not None:
            follow: Any = self._follow
            return float(follow.session_clock())
        if self._t0 is None:
            return 0.0
        return time.monotonic() - self._t0

    # -- reading --------------------------------------------------------------------------------

    def poll_events(self) -> list[Event]:
        """Drain the events that arrived since the last call, oldest first; never blocks."""
        out: list[Event] = []
        with contextlib.suppress(IndexError):
            while True:
                out.append(self._events.popleft())
        return out

    def status(self) -> list[SourceStatus]:
        """One :class:`SourceStatus` per source, in the order given."""
        now = self.clock()
        out = []
        for s in self._streams:
            age = now - s.newest_t if math.isfinite(s.newest_t) else math.inf
            rate = s.rate_hz
            out.append(
                SourceStatus(
                    name=s.name,
                    device=s.device,
                    link=self._link(s),
                    rate_hz=rate,
                    data_age_s=max(0.0, age),
                    too_slow=math.isfinite(rate) and rate < self._config.min_rate_hz,
                    message=s.message,
                )
            )
        return out

    @staticmethod
    def _link(s: _Stream) -> str:
        """The link as the source tells it (connecting, reconnecting...) while it streams."""
        if s.link == "streaming":
            told = s.source.link_state
            if told in ("connecting", "reconnecting", "stalled", "streaming"):
                return told
        return s.link

    def summary(self) -> dict[str, Any]:
        """The running session summary of the main stream (see ``analysis.summary``)."""
        with self._lock:
            return dict(self._summary)

    # -- actions (thread-safe, run on the acquisition thread) -----------------------------------

    def mark_pain(self) -> None:
        """Pain mark at :meth:`clock`: a ``pain`` event and a personal ceiling below it."""
        self._call(self._do_mark_pain)

    def add_marker(self, note: str = "") -> None:
        """A bookmark at :meth:`clock` (a ``marker`` event with ``{"label": note}``)."""
        self._call(lambda: self._do_marker(str(note)))

    def tare(self) -> None:
        """Zero the force channels on the newest half second of samples."""
        self._call(self._do_tare)

    def set_config(self, config: PipelineConfig) -> None:
        """Change the analysis settings (tool, thresholds): the analysis restarts from here
        with them, and the session summary joins the parts before and after."""
        if not isinstance(config, PipelineConfig):
            raise ValueError(f"set_config needs a PipelineConfig, got {type(config).__name__}")
        self._call(lambda: self._do_set_config(config))

    def start_recording(self, path: Path | None = None) -> Path:
        """Record into ``path`` (default: a new file in the sessions folder); returns the path.

        The file is created here, so a folder that cannot be written fails at once with a
        :class:`~sessions.errors.SessionError`; writing happens on the acquisition thread.
        """
        from sessions.store import SessionWriter, new_session_path

        if self._recording is not None:
            raise RuntimeError(f"already recording into {self._recording}")
        target = Path(path) if path is not None else new_session_path()
        meta = dict(self._recording_meta)
        tool = meta.pop("tool", None)
        writer = SessionWriter.create(
            target,
            started_at_unix=self.started_at_unix or time.time(),
            config=self._config,
            tool=tool,
            extra=meta,
            background=True,
        )
        self._recording = target
        self._call(lambda: self._attach(writer))
        return target

    def stop_recording(self) -> None:
        """Flush and close the recording; the sources keep streaming."""
        self._recording = None
        self._call(self._detach)

    # -- the acquisition thread -----------------------------------------------------------------

    def _call(self, fn: Callable[[], None]) -> None:
        with self._lock:
            loop = self._loop
            if loop is None:
                if not self._done.is_set():
                    self._pending.append(fn)
                return
        with contextlib.suppress(RuntimeError):  # the loop has just closed: nothing to do
            loop.call_soon_threadsafe(fn)

    def _run(self) -> None:
        try:
            asyncio.run(self._main_loop())
        except Exception as err:  # report why the thread ended; the view shows it
            self.error = f"{type(err).__name__}: {err}"
        finally:
            with self._lock:
                self._loop = None
            self._done.set()

    async def _main_loop(self) -> None:
        self._stop_flag = asyncio.Event()
        with self._lock:
            self._loop = asyncio.get_running_loop()
            pending, self._pending = self._pending, []
        for fn in pending:
            fn()
        tasks = [asyncio.create_task(self._run_source(s)) for s in self._streams]
        ticker = asyncio.create_task(self._tick())
        stopper = asyncio.create_task(self._stop_flag.wait())
        sources = asyncio.gather(*tasks, return_exceptions=True)
        try:
            waiters: list[asyncio.Future[Any]] = [stopper, sources]
            await asyncio.wait(waiters, return_when="FIRST_COMPLETED")
        finally:
            for task in (*tasks, ticker, stopper):
                task.cancel()
            await asyncio.gather(sources, ticker, stopper, return_exceptions=True)
            self._refresh_summary()
            self._detach()

    def _request_stop(self) -> None:
        if self._stop_flag is not None:
            self._stop_flag.set()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(COMMIT_INTERVAL_S)
            if time.monotonic() - self._last_summary >= SUMMARY_INTERVAL_S:
                self._refresh_summary()
            self._commit()

    def _commit(self) -> None:
        if self._writer is None:
            return
        try:
            self._writer.commit()
        except Exception as err:  # keep streaming; say plainly that recording stopped
            self._recording_failed(err)

    def _recording_failed(self, err: Exception) -> None:
        writer, self._writer = self._writer, None
        self._recording = None
        message = f"recording stopped: {err}"
        self.error = message
        if self._main is not None:
            self._main.message = message
        self._emit(Event(self.clock(), EventKind.SENSOR, {"reason": message}))
        with contextlib.suppress(Exception):
            writer.close()

    def _refresh_summary(self) -> None:
        self._last_summary = time.monotonic()
        main = self._main
        if main is None or main.pipeline is None:
            return
        result = merge_summaries([*main.earlier, main.pipeline.result()])
        with self._lock:
            self._summary = result
        if self._writer is not None:
            self._writer.set_summary(result)

    async def _run_source(self, s: _Stream) -> None:
        try:
            async with s.source:
                self._opened(s, s.source.info)
                async for frame in s.source.frames():
                    self._take(s, frame)
                self._flush(s)
            s.link = "closed"
        except asyncio.CancelledError:
            s.link = "closed"
            raise
        except Exception as err:  # a failed source is told in its status, not a traceback
            s.link = "failed"
            s.message = str(err) or type(err).__name__
            self._emit(Event(max(self.clock(), 0.0), EventKind.SENSOR, {"reason": s.message}))

    def _opened(self, s: _Stream, info: StreamInfo) -> None:
        info = self._calibrated(s, info)
        taken = {x.name for x in self._streams if x is not s and x.info is not None}
        name, k = info.source, 2
        while name in taken:
            name, k = f"{info.source}-{k}", k + 1
        s.name, s.device, s.info, s.link = name, info.device, info, "streaming"
        s.epoch = int(getattr(s.source, "epoch", 0))
        try:
            s.pipeline = Pipeline(info, self._config)
        except ValueError as err:  # e.g. raw channels without a calibration: record only
            s.message = str(err)
        cols = ("t", *(c.name for c in info.channels))
        raw_s = min(self._history_s, RAW_HISTORY_S)
        ring = RingBuffer(int(raw_s * info.rate_hz) + 64, len(cols), cols)
        self.raw = {**self.raw, name: ring}  # a new dict: a view iterating the old one is safe
        has_pressure = s.pipeline is not None and s.pipeline.map.has_pressure
        main = self._main
        if main is None or (
            has_pressure and not (main.pipeline is not None and main.pipeline.map.has_pressure)
        ):
            self._make_main(s)
        if self._writer is not None:
            self._writer.add_stream(name, info)

    def _make_main(self, s: _Stream) -> None:
        self._main = s
        assert s.info is not None
        cap = self._capacity(s.info.rate_hz)
        for ring in (self.pressure, self.cop):
            ring.reallocate(cap)
        q = s.pipeline.block_size if s.pipeline is not None else 1
        for ring in (self.level, self.rate, self.warning):  # a row per block
            ring.reallocate(cap // q + 64)
        self.strokes.clear()

    def _capacity(self, rate_hz: float) -> int:
        return int(self._history_s * rate_hz) + 64

    def _take(self, s: _Stream, frame: Frame) -> None:
        epoch = int(getattr(s.source, "epoch", 0))
        if epoch != s.epoch:  # a replay jumped: the analysis starts afresh from here
            s.epoch = epoch
            self._restart(s)
        if s.offset_s is None:
            s.offset_s = 0.0 if s.source is self._follow else self.clock() - float(frame.t[-1])
        frame = self._on_clock(s, frame)
        self.raw[s.name].append(np.column_stack((frame.t, frame.x)))
        frame = self._in_newtons(s, frame)
        if self._writer is not None:
            try:
                self._writer.add_frame(s.name, frame)
            except Exception as err:
                self._recording_failed(err)
        s.newest_t = float(frame.t[-1])
        s.next_index = frame.next_index
        s.measure_rate(frame)
        if s.pipeline is not None:
            self._take_block(s, s.pipeline.process(frame))
            if s is self._main:
                cop = s.pipeline.map.cop(frame.x)  # of the frame (the block may lag it)
                if cop is not None:
                    self.cop.append(np.column_stack((frame.t, cop)))
        for event in s.source.drain_events():  # link events: a dropped device came back
            shift = s.offset_s or 0.0
            self._emit(Event(event.t + shift, event.kind, event.data) if shift else event, s)
        replayed = getattr(s.source, "actions_through", None)
        if callable(replayed):
            for event in replayed(frame):
                self._replay_action(s, event)

    def _take_block(self, s: _Stream, block: Block) -> None:
        """Rows, stroke windows and events the pipeline analysed: into the rings and out."""
        if s is self._main:
            t = block.t
            self.pressure.append(np.column_stack((t, block.pressure_kpa)))
            # level, rate and warning change once per block of the working level (20 ms):
            # one row at each block's end is the whole step function, at a 20th of the
            # memory at 1 kHz (blocks start on block boundaries; a final flush of fewer
            # rows than a block completes none)
            q = s.pipeline.block_size if s.pipeline is not None else 1
            ends = slice(q - 1, None, q)
            t_end = t[ends]
            self.level.append(np.column_stack((t_end, block.level_kpa[ends])))
            self.rate.append(np.column_stack((t_end, block.rate_kpa_s[ends])))
            self.warning.append(np.column_stack((t_end, block.warning[ends].astype(np.float64))))
            if block.windows:
                self.strokes.append(
                    [
                        (w.end, w.start, _STROKE_INDEX.get(w.stroke, -1), w.confidence)
                        for w in block.windows
                    ]
                )
        for event in block.events:
            self._emit(event, s)

    def _flush(self, s: _Stream) -> None:
        """The stream ended or its analysis restarts: analyse the rows its pipeline holds."""
        if s.pipeline is not None:
            self._take_block(s, s.pipeline.flush())

    def _on_clock(self, s: _Stream, frame: Frame) -> Frame:
        if not s.offset_s:
            return frame
        return Frame(frame.t + s.offset_s, frame.x, frame.index)

    def _in_newtons(self, s: _Stream, frame: Frame) -> Frame:
        """The device's calibration, then the tare."""
        x = frame.x
        if s.calibrator is not None:
            x = s.calibrator.update(x).astype(np.float32)
        if s.tare_n is not None and s.info is not None:
            idx = list(s.info.indices("force"))
            x = x.copy() if x is frame.x else x
            x[:, idx] -= s.tare_n.astype(np.float32)
        return frame if x is frame.x else Frame(frame.t, x, frame.index)

    def _calibrated(self, s: _Stream, info: StreamInfo) -> StreamInfo:
        """Apply the device's saved calibration, if it has one: its channels read in N."""
        if self._calibrations is None:
            return info
        info, s.calibrator, note = calibration_for(info, self._calibrations)
        if note:
            if s.calibrator is None:  # a damaged or mismatched file: told; reads as it is
                s.message = note
            self._emit(calibration_event(max(self.clock(), 0.0), note, s.calibrator is not None))
        return info

    def _restart(self, s: _Stream) -> None:
        if s.info is not None and s.pipeline is not None:
            s.pipeline = Pipeline(s.info, self._config)
        s.earlier.clear()
        s.arrivals.clear()
        s.rate_hz = math.nan
        self.raw[s.name].clear()
        if s is self._main:
            for ring in (
                self.pressure,
                self.level,
                self.rate,
                self.warning,
                self.cop,
                self.strokes,
            ):
                ring.clear()

    def _emit(self, event: Event, s: _Stream | None = None, anchor: int | None = None) -> None:
        self._events.append(event)
        if self._writer is not None:
            try:
                self._writer.add_event(event, s.name if s is not None else None, anchor)
            except Exception as err:
                self._recording_failed(err)

    def _anchor(self, s: _Stream | None) -> int | None:
        return None if s is None or s.next_index is None else s.next_index - 1

    def _do_mark_pain(self) -> None:
        s = self._main
        t = self.clock()
        event = self._pain_event(s, t)
        self._emit(event, s, self._anchor(s))

    def _pain_event(self, s: _Stream | None, t: float) -> Event:
        if s is not None and s.pipeline is not None:
            with contextlib.suppress(ValueError):  # no pressure yet: a plain mark
                return s.pipeline.mark_pain(t)
        return Event(t, EventKind.PAIN, {"pressure_kpa": None})

    def _do_marker(self, note: str) -> None:
        s = self._main
        self._emit(Event(self.clock(), EventKind.MARKER, {"label": note}), s, self._anchor(s))

    def _do_tare(self) -> None:
        s = self._main
        if s is None or s.info is None or s.name not in self.raw:
            return
        idx = s.info.indices("force")
        recent = self.raw[s.name].since(s.newest_t - TARE_S)
        if not idx or recent.shape[0] == 0:
            return
        values = recent[:, 1:]  # as the device sent them: calibrate, then take the median
        if s.calibrator is not None:
            values = s.calibrator.device.apply(values)
        s.tare_n = np.median(values[:, list(idx)], axis=0)
        event = Event(
            self.clock(),
            EventKind.MARKER,
            {"label": "tare", "offset_n": [round(float(v), 6) for v in s.tare_n]},
        )
        self._emit(event, s, self._anchor(s))

    def _do_set_config(self, config: PipelineConfig) -> None:
        self._config = config
        for s in self._streams:
            self._switch_pipeline(s, config)
        main = self._main
        event = Event(
            self.clock(),
            EventKind.MARKER,
            {"label": "settings", "config": config_to_dict(config)},
        )
        self._emit(event, main, self._anchor(main))

    def _switch_pipeline(self, s: _Stream, config: PipelineConfig) -> None:
        """New settings: the analysis restarts; the summary so far is kept and joined."""
        if s.info is not None and s.pipeline is not None:
            self._flush(s)
            s.earlier.append(s.pipeline.result())
            s.pipeline = Pipeline(s.info, config)

    def _replay_action(self, s: _Stream, event: Event) -> None:
        """Do again what the person did at this point of a recorded session."""
        if event.kind == EventKind.PAIN and event.data.get("pressure_kpa") is not None:
            self._emit(self._pain_event(s, event.t), s)
        elif event.kind == EventKind.MARKER and event.data.get("label") == "settings":
            from sessions.settings import config_from_dict

            self._config = config_from_dict(event.data["config"])
            self._switch_pipeline(s, self._config)
            self._emit(event, s)
        else:
            self._emit(event, s)

    def _attach(self, writer: Any) -> None:
        self._writer = writer
        for s in self._streams:
            if s.info is not None:
                writer.add_stream(s.name, s.info)

    def _detach(self) -> None:
        if self._writer is not None:
            self._refresh_summary()
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            writer.close()
        except Exception as err:
            self.error = f"recording could not be closed cleanly: {err}"
