"""The session file: one SQLite database per session (``*.palpate``).

:class:`SessionWriter` records on the acquisition thread: frames are gathered per
stream and written as blocks in one transaction every
:data:`~sessions.live.COMMIT_INTERVAL_S` (at least twice a second), in WAL mode with
``synchronous=FULL``, so a crash or power cut loses only the last fraction of a second.
:class:`SessionFile` reads a session: metadata, streams, blocks by time (a seek is one
index lookup), events and annotations. The schema is documented in the README
("Session files"); :data:`SCHEMA_VERSION` and :data:`MIGRATIONS` give its history.

What goes wrong, and what is said
---------------------------------
- Not an SQLite file, or an SQLite file that is no palpate session:
  :class:`NotASessionError`.
- A session written by a newer palpate: :class:`NewerSessionError`.
- Truncated or damaged: :class:`CorruptSessionError`, which says how much could still
  be read (:func:`salvage`) and that ``palpate export FILE --csv OUT --salvage`` saves it.
- A recording that was interrupted (crash, ``kill -9``, power cut) is *not* an error: it
  opens with everything committed, and :attr:`SessionFile.interrupted` is ``True``.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> import numpy as np
>>> from analysis.stream import Channel, Frame, StreamInfo
>>> info = StreamInfo("sim", "pad", 100.0, (Channel("force", "N", "force"),))
>>> with tempfile.TemporaryDirectory() as folder:
...     path = Path(folder) / "s.palpate"
...     w = SessionWriter.create(path, started_at_unix=1.7e9)
...     w.add_stream("sim", info)
...     w.add_frame("sim", Frame.from_arrays(np.arange(50) / 100.0, np.ones(50)))
...     w.close()
...     with SessionFile.open(path) as f:
...         f.streams[0].samples, f.read("sim").n, f.interrupted
(50, 50, False)
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import sqlite3
import stat
import threading
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import numpy as np

from analysis.pipeline import PipelineConfig
from analysis.stream import Channel, Event, EventKind, Frame, StreamInfo, concat_frames
from sessions.errors import SessionError
from sessions.settings import config_from_dict, config_to_dict

__all__ = [
    "APPLICATION_ID",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SUFFIX",
    "Annotation",
    "CorruptSessionError",
    "NewerSessionError",
    "NotASessionError",
    "RecordedEvent",
    "SessionFile",
    "SessionWriter",
    "StreamRecord",
    "default_folder",
    "json_finite",
    "new_session_path",
    "salvage",
    "session_files",
]

SUFFIX: Final = ".palpate"
APPLICATION_ID: Final = 0x50414C50  # "PALP" in the SQLite header (PRAGMA application_id)
FORMAT_NAME: Final = "palpate session"
SQLITE_MAGIC: Final = b"SQLite format 3\x00"
DATA_DIR_ENV: Final = "PALPATE_DATA_DIR"
"""Environment variable that overrides the default folder (tests, portable installs)."""

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    # 0 -> 1: the first schema
    (
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        "INSERT INTO schema_version (version) VALUES (0)",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE streams (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            device TEXT NOT NULL,
            rate_hz REAL NOT NULL,
            info TEXT NOT NULL)""",
        """CREATE TABLE blocks (
            id INTEGER PRIMARY KEY,
            stream_id INTEGER NOT NULL REFERENCES streams (id),
            t0 REAL NOT NULL,
            t1 REAL NOT NULL,
            index0 INTEGER NOT NULL,
            n INTEGER NOT NULL,
            channels INTEGER NOT NULL,
            t_dtype TEXT NOT NULL,
            x_dtype TEXT NOT NULL,
            crc32 INTEGER NOT NULL,
            t BLOB NOT NULL,
            x BLOB NOT NULL)""",
        "CREATE INDEX blocks_by_time ON blocks (stream_id, t1, t0, index0, n)",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            t REAL NOT NULL,
            kind TEXT NOT NULL,
            stream_id INTEGER REFERENCES streams (id),
            anchor_index INTEGER,
            data TEXT NOT NULL)""",
        "CREATE INDEX events_by_time ON events (t)",
        """CREATE TABLE annotations (
            id INTEGER PRIMARY KEY,
            t_start REAL NOT NULL,
            t_end REAL,
            text TEXT NOT NULL,
            created_unix REAL NOT NULL)""",
    ),
)
"""``MIGRATIONS[v]`` takes a file from schema version ``v`` to ``v + 1``; a new file is
migrated from 0. A later schema adds a step here and never edits an earlier one."""

SCHEMA_VERSION: Final = len(MIGRATIONS)
"""The schema this palpate writes, and the newest it reads."""

_T_DTYPE: Final = "<f8"
_X_DTYPE: Final = "<f4"


# -- errors ----------------------------------------------------------------------------------


class NotASessionError(SessionError):
    """The file is not a palpate session (another format, or another program's database)."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: not a palpate session: {reason}")


class NewerSessionError(SessionError):
    """The session was written by a newer palpate (schema ``version``)."""

    def __init__(self, path: Path, version: int) -> None:
        self.path = path
        self.version = version
        super().__init__(
            f"{path}: written by a newer palpate (session schema {version}; this one reads up "
            f"to {SCHEMA_VERSION}); update palpate to open it"
        )


class CorruptSessionError(SessionError):
    """The file is truncated or damaged; ``recoverable`` says what could still be read."""

    def __init__(self, path: Path, problem: str, recoverable: str) -> None:
        self.path = path
        self.problem = problem
        self.recoverable = recoverable
        super().__init__(f"{path}: {problem}; {recoverable}")


# -- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamRecord:
    """One recorded stream.

    Parameters
    ----------
    name : str
        Stream name in this session (unique).
    info : StreamInfo
        What the source said it produces.
    samples, blocks : int
        Samples and stored blocks.
    t_first, t_last : float
        Times of the first and last sample, seconds on the session clock (NaN when empty).
    gaps : int
        Places where sample indices jump (samples were lost on the way).
    missing : int
        Samples lost in those gaps.
    """

    name: str
    info: StreamInfo
    samples: int
    blocks: int
    t_first: float
    t_last: float
    gaps: int
    missing: int

    @property
    def rate_hz(self) -> float:
        """Measured mean rate, Hz: ``(samples - 1 + missing) / (t_last - t_first)``."""
        span = self.t_last - self.t_first
        return (self.samples - 1 + self.missing) / span if span > 0 else math.nan


@dataclass(frozen=True)
class RecordedEvent:
    """An event as stored: with the stream it belongs to and, for the person's actions
    (pain marks, markers, tare, settings), ``anchor``: the stream's sample index of the last
    sample analysed when it happened, so a replay repeats it at the same point."""

    event: Event
    stream: str | None
    anchor: int | None


@dataclass(frozen=True)
class Annotation:
    """A note attached to a stretch of a session after the fact (``t_end`` may be None)."""

    id: int
    t_start: float
    t_end: float | None
    text: str
    created_unix: float


# -- where sessions live ---------------------------------------------------------------------


def default_folder() -> Path:
    """The sessions folder: ``$PALPATE_DATA_DIR/sessions`` if set, else the platform's user
    data dir (``~/.local/share/palpate/sessions`` on Linux)."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser() / "sessions"
    import platformdirs

    return Path(platformdirs.user_data_dir("palpate", appauthor=False)) / "sessions"


def new_session_path(folder: Path | None = None, now: float | None = None) -> Path:
    """A fresh file name in ``folder`` (default :func:`default_folder`) from the local time,
    e.g. ``2026-11-23_221530.palpate``."""
    folder = default_folder() if folder is None else Path(folder)
    stamp = datetime.fromtimestamp(time.time() if now is None else now).strftime("%Y-%m-%d_%H%M%S")
    path = folder / f"{stamp}{SUFFIX}"
    k = 2
    while path.exists():
        path = folder / f"{stamp}-{k}{SUFFIX}"
        k += 1
    return path


def session_files(folder: Path | None = None) -> list[Path]:
    """The ``*.palpate`` files in ``folder`` (default :func:`default_folder`), oldest name
    first; an absent folder has none."""
    folder = default_folder() if folder is None else Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == SUFFIX and p.is_file())


def _software_version() -> str:
    try:
        return metadata.version("palpate")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _timezone() -> tuple[str, float]:
    local = datetime.now().astimezone()
    offset = local.utcoffset()
    return local.tzname() or "", offset.total_seconds() if offset is not None else 0.0


def _info_to_json(info: StreamInfo) -> str:
    return json.dumps(
        {
            "source": info.source,
            "device": info.device,
            "rate_hz": info.rate_hz,
            "channels": [[c.name, c.unit, c.kind] for c in info.channels],
            "meta": dict(info.meta),
        },
        default=_json_default,
    )


def _info_from_json(text: str) -> StreamInfo:
    d = json.loads(text)
    return StreamInfo(
        d["source"],
        d["device"],
        float(d["rate_hz"]),
        tuple(Channel(*c) for c in d["channels"]),
        d.get("meta", {}),
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)  # Paths, enums, anything else a driver put in its meta: kept as text


def json_finite(value: Any) -> Any:
    """``value`` (nested dicts, lists, floats, numpy values) with NaN and infinities as
    ``None``: JSON has no such numbers, and strict readers refuse them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: json_finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_finite(v) for v in value]
    if isinstance(value, np.floating | np.ndarray):
        return json_finite(value.tolist())
    return value


def _dumps(value: Any) -> str:
    return json.dumps(json_finite(value), default=_json_default, allow_nan=False)


def _connect(path: Path, *, read_only: bool) -> sqlite3.Connection:
    if read_only:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


# -- writing ---------------------------------------------------------------------------------


class SessionWriter:
    """Writes one session file.

    Frames and events are gathered in memory (call from one thread: the acquisition
    thread) and written by :meth:`commit`, one transaction per call; the live session
    commits every 0.2 s. Consecutive frames of a stream become one block; a jump in sample
    indices starts a new block, so gaps stay visible. With ``background=True`` (see
    :meth:`create`) the transactions run on a writer thread, in order; a write error is
    raised by the next :meth:`commit` or :meth:`close`.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, *, background: bool = False) -> None:
        self.path = path
        self._conn = conn
        self._stream_ids: dict[str, int] = {}
        self._new_streams: list[tuple[Any, ...]] = []
        self._frames: dict[str, list[Frame]] = {}
        self._events: list[tuple[float, str, int | None, int | None, str]] = []
        self._summary: str | None = None
        self._closed = False
        self._error: BaseException | None = None
        self._queue: queue.SimpleQueue[_Batch | None] | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(
                target=self._work, name=f"palpate-writer {path.name}", daemon=True
            )
            self._thread.start()

    @classmethod
    def create(
        cls,
        path: Path,
        *,
        started_at_unix: float,
        config: PipelineConfig | None = None,
        tool: str | None = None,
        extra: Mapping[str, Any] | None = None,
        background: bool = False,
    ) -> SessionWriter:
        """Create a new session file, readable and writable by its owner only.

        Parameters
        ----------
        path : Path
            The new file; it must not exist. Missing folders are created (owner-only).
        started_at_unix : float
            Wall-clock time (Unix seconds) of the session clock's zero.
        config : PipelineConfig, optional
            The analysis settings (contact area, thresholds) to keep with the session.
        tool : str, optional
            The tool name the person chose (``thumb``, ``elbow``...).
        extra : mapping, optional
            More metadata, JSON-serialisable.
        background : bool
            Write on a writer thread of its own: :meth:`commit` hands the batch over and
            returns at once, so a slow disk never holds up the caller (the live session's
            acquisition thread).

        Raises
        ------
        SessionError
            The file exists or cannot be created (says where and why).
        """
        path = Path(path)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise SessionError(
                f"{path} already exists; choose another --out file (sessions are never overwritten)"
            ) from None
        except OSError as err:
            raise SessionError(
                f"cannot create session file {path}: {err.strerror}; choose a folder you can "
                "write with --out"
            ) from err
        os.close(fd)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        try:
            conn = _connect(path, read_only=False)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            _migrate(conn, 0)
            zone, offset = _timezone()
            meta: dict[str, Any] = {
                "format": FORMAT_NAME,
                "software_version": _software_version(),
                "started_at_unix": float(started_at_unix),
                "timezone": zone,
                "utc_offset_s": offset,
                "created_unix": time.time(),
                "config": config_to_dict(config) if config is not None else None,
                "tool": tool,
                **(dict(extra) if extra else {}),
            }
            with _transaction(conn):
                conn.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [(k, _dumps(v)) for k, v in meta.items()],
                )
        except sqlite3.Error as err:
            raise SessionError(f"cannot set up session file {path}: {err}") from err
        return cls(conn, path, background=background)

    def add_stream(self, name: str, info: StreamInfo) -> None:
        """Declare a stream (once per name) before its frames."""
        if name in self._stream_ids:
            return
        sid = len(self._stream_ids) + 1
        self._stream_ids[name] = sid
        self._frames[name] = []
        self._new_streams.append(
            (sid, name, info.source, info.device, float(info.rate_hz), _info_to_json(info))
        )

    def add_frame(self, name: str, frame: Frame) -> None:
        """Queue one frame of stream ``name`` (written at the next :meth:`commit`)."""
        if name not in self._stream_ids:
            raise ValueError(f"stream {name!r} was not declared with add_stream")
        self._frames[name].append(frame)

    def add_event(self, event: Event, stream: str | None = None, anchor: int | None = None) -> None:
        """Queue an event; ``anchor`` for the person's actions (see :class:`RecordedEvent`)."""
        sid = self._stream_ids.get(stream) if stream is not None else None
        self._events.append((event.t, event.kind.value, sid, anchor, _dumps(dict(event.data))))

    def set_summary(self, summary: Mapping[str, Any]) -> None:
        """Keep the running summary (written at the next :meth:`commit`)."""
        self._summary = _dumps(dict(summary))

    def commit(self) -> None:
        """Write everything queued in one transaction (on the writer thread, if any)."""
        if self._error is not None:
            raise SessionError(f"writing {self.path} failed: {self._error}") from self._error
        batch = self._take()
        if batch is None:
            return
        if self._queue is not None:
            self._queue.put(batch)
        else:
            self._write(batch)

    def close(self, summary: Mapping[str, Any] | None = None) -> None:
        """Commit, mark the session as ended, fold the WAL into the file and close it."""
        if self._closed:
            return
        if summary is not None:
            self.set_summary(summary)
        try:
            batch = self._take()
            if self._queue is not None and self._thread is not None:
                if batch is not None:
                    self._queue.put(batch)
                self._queue.put(None)
                self._thread.join()
            elif batch is not None:
                self._write(batch)
            if self._error is not None:
                raise SessionError(f"writing {self.path} failed: {self._error}") from self._error
            with _transaction(self._conn):
                self._conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('ended_unix', ?)",
                    (_dumps(time.time()),),
                )
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._closed = True
            self._conn.close()

    def _take(self) -> _Batch | None:
        """Everything queued since the last commit, ready to write (cheap: no I/O)."""
        rows = []
        for name, frames in self._frames.items():
            if frames:
                sid = self._stream_ids[name]
                rows += [_block_row(sid, block) for block in _runs(frames)]
                frames.clear()
        batch = _Batch(self._new_streams, rows, self._events, self._summary)
        self._new_streams, self._events, self._summary = [], [], None
        return None if batch.empty else batch

    def _write(self, batch: _Batch) -> None:
        with _transaction(self._conn):
            if batch.streams:
                self._conn.executemany(
                    "INSERT INTO streams (id, name, source, device, rate_hz, info) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    batch.streams,
                )
            if batch.blocks:
                self._conn.executemany(
                    "INSERT INTO blocks (stream_id, t0, t1, index0, n, channels, t_dtype, "
                    "x_dtype, crc32, t, x) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    batch.blocks,
                )
            if batch.events:
                self._conn.executemany(
                    "INSERT INTO events (t, kind, stream_id, anchor_index, data) "
                    "VALUES (?, ?, ?, ?, ?)",
                    batch.events,
                )
            if batch.summary is not None:
                self._conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('summary', ?)",
                    (batch.summary,),
                )

    def _work(self) -> None:
        assert self._queue is not None
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            if self._error is not None:
                continue  # after a failure, nothing more is written; commit() says why
            try:
                self._write(batch)
            except Exception as err:  # handed to the caller at its next commit or close
                self._error = err


@dataclass(frozen=True)
class _Batch:
    """One transaction's worth of rows."""

    streams: list[tuple[Any, ...]]
    blocks: list[tuple[Any, ...]]
    events: list[tuple[Any, ...]]
    summary: str | None

    @property
    def empty(self) -> bool:
        return not (self.streams or self.blocks or self.events or self.summary is not None)


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _runs(frames: Sequence[Frame]) -> Iterator[Frame]:
    """Join consecutive frames into blocks; a jump in sample index starts a new block."""
    run = [frames[0]]
    for f in frames[1:]:
        if f.index == run[-1].next_index and f.x.shape[1] == run[-1].x.shape[1]:
            run.append(f)
        else:
            yield concat_frames(run)
            run = [f]
    yield concat_frames(run)


def _block_row(stream_id: int, f: Frame) -> tuple[Any, ...]:
    tb = np.ascontiguousarray(f.t, dtype=_T_DTYPE).tobytes()
    xb = np.ascontiguousarray(f.x, dtype=_X_DTYPE).tobytes()
    return (
        stream_id,
        float(f.t[0]),
        float(f.t[-1]),
        f.index,
        f.n,
        f.x.shape[1],
        _T_DTYPE,
        _X_DTYPE,
        zlib.crc32(xb, zlib.crc32(tb)),
        tb,
        xb,
    )


def _decode_block(row: Sequence[Any], n_channels: int) -> Frame:
    """A stored block back as a frame; ``ValueError`` when it does not check out."""
    index0, n, channels, t_dtype, x_dtype, crc, tb, xb = row
    if zlib.crc32(xb, zlib.crc32(tb)) != crc:
        raise ValueError("its checksum does not match (the bytes on disk changed)")
    if channels != n_channels:
        raise ValueError(f"it holds {channels} channels, its stream {n_channels}")
    t = np.frombuffer(tb, dtype=np.dtype(t_dtype)).astype(np.float64)
    x = np.frombuffer(xb, dtype=np.dtype(x_dtype)).astype(np.float32).reshape(n, channels)
    if t.shape != (n,):
        raise ValueError(f"it holds {t.size} times for {n} samples")
    return Frame(t, x, int(index0))


def _migrate(conn: sqlite3.Connection, version: int) -> None:
    """Bring a file from schema ``version`` to :data:`SCHEMA_VERSION`, one step per
    transaction."""
    for v in range(version, SCHEMA_VERSION):
        with _transaction(conn):
            for statement in MIGRATIONS[v]:
                conn.execute(statement)
            conn.execute("UPDATE schema_version SET version = ?", (v + 1,))


# -- reading ---------------------------------------------------------------------------------


class SessionFile:
    """A recorded session, open for reading (see :meth:`open`).

    Attributes
    ----------
    path : Path
    meta : dict
        Everything in the ``meta`` table (JSON-decoded).
    streams : list of StreamRecord
        In recording order.
    schema_version : int
    """

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self.schema_version = SCHEMA_VERSION
        self.meta: dict[str, Any] = {}
        self.streams: list[StreamRecord] = []
        self._ids: dict[str, int] = {}

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, migrate: bool = True) -> SessionFile:
        """Open a session file for reading.

        Opening reads only the metadata and the block index, so it takes about the same
        time for a one-minute and a one-hour session.

        Parameters
        ----------
        path : path-like
        migrate : bool
            Bring a file of an older schema up to date in place (it needs write access).

        Raises
        ------
        FileNotFoundError
            There is no such file.
        SessionError
            A :class:`NotASessionError`, :class:`NewerSessionError` or
            :class:`CorruptSessionError` that says what is wrong and what can be saved.
        """
        path = Path(path)
        _check_header(path)
        writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
        try:
            conn = _connect(path, read_only=not writable)
        except sqlite3.Error as err:
            raise _corrupt(path, f"SQLite cannot open it ({err})") from err
        session = cls(path, conn)
        try:
            session._load(migrate and writable)
        except SessionError:
            conn.close()
            raise
        except sqlite3.DatabaseError as err:
            conn.close()
            raise _corrupt(path, f"the database is damaged ({err})") from err
        return session

    def _load(self, migrate: bool) -> None:
        conn, path = self._conn, self.path
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "schema_version" not in tables:
            what = ", ".join(sorted(tables)) or "no tables"
            raise NotASessionError(path, f"an SQLite database of another program ({what})")
        (version,) = conn.execute("SELECT version FROM schema_version").fetchone() or (None,)
        if not isinstance(version, int):
            raise NotASessionError(path, "its schema_version table holds no version")
        if version > SCHEMA_VERSION:
            raise NewerSessionError(path, version)
        if app_id != APPLICATION_ID:
            raise NotASessionError(path, f"SQLite application id {app_id:#x}, not palpate's")
        if version < SCHEMA_VERSION:
            if not migrate:
                raise SessionError(
                    f"{path}: written with session schema {version}; it must be upgraded to "
                    f"{SCHEMA_VERSION} and the file is read-only; copy it somewhere writable"
                )
            _migrate(conn, version)
        self.schema_version = SCHEMA_VERSION
        try:
            self.meta = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}
        except (TypeError, ValueError) as err:  # a value no longer JSON: scribbled over
            raise _corrupt(path, f"its metadata is damaged ({err})") from err
        if self.meta.get("format") != FORMAT_NAME:
            raise NotASessionError(path, "its metadata does not name it a palpate session")
        self.streams = self._stream_records()
        self._ids = {
            name: sid for sid, name in conn.execute("SELECT id, name FROM streams ORDER BY id")
        }

    def _stream_records(self) -> list[StreamRecord]:
        out = []
        for sid, name, info_json in self._conn.execute(
            "SELECT id, name, info FROM streams ORDER BY id"
        ).fetchall():
            blocks, samples, t_first, t_last = self._conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(n), 0), MIN(t0), MAX(t1) FROM blocks "
                "WHERE stream_id = ?",
                (sid,),
            ).fetchone()
            gaps, missing = self._conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(index0 - prev), 0) FROM ("
                " SELECT index0, LAG(index0 + n) OVER (ORDER BY t1) AS prev"
                " FROM blocks WHERE stream_id = ?) WHERE index0 > prev",
                (sid,),
            ).fetchone()
            try:
                info = _info_from_json(info_json)
            except (ValueError, KeyError, TypeError) as err:
                raise _corrupt(self.path, f"stream {name!r} has an unreadable description") from err
            out.append(
                StreamRecord(
                    name,
                    info,
                    int(samples),
                    int(blocks),
                    math.nan if t_first is None else float(t_first),
                    math.nan if t_last is None else float(t_last),
                    int(gaps),
                    int(missing),
                )
            )
        return out

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- metadata -----------------------------------------------------------------------------

    @property
    def started_at_unix(self) -> float:
        """Wall-clock time (Unix seconds) of the session clock's zero."""
        return float(self.meta.get("started_at_unix", math.nan))

    @property
    def interrupted(self) -> bool:
        """The recording did not end cleanly (crash, kill, power cut)."""
        return "ended_unix" not in self.meta

    @property
    def t_first(self) -> float:
        """Time of the first sample of any stream, seconds (NaN when empty)."""
        firsts = [s.t_first for s in self.streams if s.samples]
        return min(firsts) if firsts else math.nan

    @property
    def t_last(self) -> float:
        """Time of the last sample of any stream, seconds (NaN when empty)."""
        lasts = [s.t_last for s in self.streams if s.samples]
        return max(lasts) if lasts else math.nan

    @property
    def duration_s(self) -> float:
        """From the first sample to the end of the last one (plus one sample period),
        seconds; 0 when nothing was recorded."""
        recorded = [s for s in self.streams if s.samples]
        if not recorded:
            return 0.0
        end = max(s.t_last + 1.0 / s.info.rate_hz for s in recorded)
        return end - min(s.t_first for s in recorded)

    @property
    def config(self) -> PipelineConfig | None:
        """The analysis settings recorded with the session (``None`` when not kept)."""
        data = self.meta.get("config")
        if data is None:
            return None
        try:
            return config_from_dict(data)
        except ValueError as err:
            raise SessionError(f"{self.path}: recorded settings are unreadable: {err}") from err

    @property
    def summary(self) -> dict[str, Any] | None:
        """The running summary as last written (``None`` before the first one)."""
        value = self.meta.get("summary")
        return dict(value) if isinstance(value, dict) else None

    def stream(self, name: str | None = None) -> StreamRecord:
        """A stream by name; ``None`` gives the main stream (the first with force or
        pressure, else the first)."""
        if not self.streams:
            raise SessionError(f"{self.path}: the session holds no streams (nothing was recorded)")
        if name is None:
            for s in self.streams:
                if s.info.indices("force") or s.info.indices("pressure"):
                    return s
            return self.streams[0]
        for s in self.streams:
            if s.name == name:
                return s
        names = ", ".join(s.name for s in self.streams)
        raise SessionError(f"{self.path}: no stream {name!r}; the session has {names}")

    # -- frames -------------------------------------------------------------------------------

    def blocks(
        self, stream: str | None = None, t_from: float = -math.inf, t_to: float = math.inf
    ) -> Iterator[Frame]:
        """Stored blocks of a stream in time order, streaming from the file.

        The first block is cut to start at the first sample ``>= t_from`` and the last to
        end at the last sample ``<= t_to``; memory does not grow with the session length.
        """
        record = self.stream(stream)
        sid = self._ids[record.name]
        try:
            cur = self._conn.execute(
                "SELECT t0, t1, index0, n, channels, t_dtype, x_dtype, crc32, t, x FROM blocks "
                "WHERE stream_id = ? AND t1 >= ? AND t0 <= ? ORDER BY t1",
                (sid, t_from, t_to),
            )
        except sqlite3.DatabaseError as err:
            raise _corrupt(self.path, f"the blocks of {record.name!r} are damaged ({err})") from err
        while True:
            try:
                row = cur.fetchone()
            except sqlite3.DatabaseError as err:
                raise _corrupt(self.path, f"a block of {record.name!r} is damaged ({err})") from err
            if row is None:
                return
            frame = self._frame(row, record)
            if frame.t[0] < t_from or frame.t[-1] > t_to:
                lo = int(np.searchsorted(frame.t, t_from, side="left"))
                hi = int(np.searchsorted(frame.t, t_to, side="right"))
                if lo >= hi:
                    continue
                frame = frame.slice(lo, hi)
            yield frame

    def _frame(self, row: tuple[Any, ...], record: StreamRecord) -> Frame:
        t0, t1, *stored = row
        try:
            return _decode_block(stored, record.info.n_channels)
        except (ValueError, TypeError) as err:
            raise _corrupt(
                self.path, f"the block of {record.name!r} at {t0:.3f}-{t1:.3f} s is damaged: {err}"
            ) from err

    def read(
        self, stream: str | None = None, t_from: float = -math.inf, t_to: float = math.inf
    ) -> Frame:
        """All samples of a stream between two times as one frame (``SessionError`` when
        there are none)."""
        frames = list(self.blocks(stream, t_from, t_to))
        if not frames:
            raise SessionError(f"{self.path}: no samples of {self.stream(stream).name!r} there")
        return _join(frames)

    # -- events and annotations ---------------------------------------------------------------

    def events(self, kinds: Sequence[EventKind | str] | None = None) -> list[RecordedEvent]:
        """Recorded events in time order (optionally only some kinds)."""
        names = {v: k for k, v in self._ids.items()}
        out = []
        rows = self._fetch(
            "the events", "SELECT t, kind, stream_id, anchor_index, data FROM events ORDER BY t, id"
        )
        wanted = None if kinds is None else {EventKind(k) for k in kinds}
        for t, kind, sid, anchor, data in rows:
            try:
                kind = EventKind(kind)
            except ValueError:  # a kind from a newer palpate: skip, it means nothing here
                continue
            try:
                event = Event(float(t), kind, json.loads(data))
            except (TypeError, ValueError) as err:
                raise _corrupt(self.path, f"the event at {t!r} s is damaged ({err})") from err
            if wanted is None or event.kind in wanted:
                out.append(RecordedEvent(event, names.get(sid), anchor))
        return out

    def annotations(self) -> list[Annotation]:
        """Notes attached after the fact, in time order."""
        rows = self._fetch(
            "the annotations",
            "SELECT id, t_start, t_end, text, created_unix FROM annotations ORDER BY t_start, id",
        )
        return [Annotation(*r) for r in rows]

    def _fetch(self, what: str, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """All rows of a query; a damaged file raises :class:`CorruptSessionError` that
        names ``what`` was being read."""
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as err:
            raise _corrupt(self.path, f"{what} are damaged ({err})") from err

    def add_annotation(self, t_start: float, text: str, t_end: float | None = None) -> Annotation:
        """Attach a note to ``t_start`` (to ``t_end``), seconds on the session clock."""
        if not math.isfinite(t_start) or (t_end is not None and not t_end >= t_start):
            raise ValueError("an annotation needs a finite start and an end not before it")
        now = time.time()
        try:
            with _transaction(self._conn):
                cur = self._conn.execute(
                    "INSERT INTO annotations (t_start, t_end, text, created_unix) "
                    "VALUES (?, ?, ?, ?)",
                    (t_start, t_end, str(text), now),
                )
        except sqlite3.OperationalError as err:
            raise SessionError(f"{self.path}: cannot add the annotation: {err}") from err
        assert cur.lastrowid is not None
        return Annotation(cur.lastrowid, t_start, t_end, str(text), now)

    def gaps(self, stream: str | None = None) -> list[dict[str, Any]]:
        """Where samples were lost: ``{"stream", "t", "missing", "duration_s"}`` per gap."""
        out = []
        records = self.streams if stream is None else [self.stream(stream)]
        for record in records:
            rows = self._fetch(
                f"the blocks of {record.name!r}",
                "SELECT t0, index0 - prev, t0 - prev_t1 FROM ("
                " SELECT t0, index0, LAG(index0 + n) OVER (ORDER BY t1) AS prev,"
                " LAG(t1) OVER (ORDER BY t1) AS prev_t1"
                " FROM blocks WHERE stream_id = ?) WHERE index0 > prev ORDER BY t0",
                (self._ids[record.name],),
            )
            out += [
                {"stream": record.name, "t": t, "missing": int(m), "duration_s": round(d, 6)}
                for t, m, d in rows
            ]
        return out

    def info(self) -> dict[str, Any]:
        """The ``sessions info --json`` object (CONTRACTS.md)."""
        zone = self.meta.get("timezone", "")
        return {
            "file": str(self.path),
            "started_at_unix": self.started_at_unix,
            "timezone": zone,
            "utc_offset_s": self.meta.get("utc_offset_s"),
            "duration_s": round(self.duration_s, 3),
            "t_first": None if math.isnan(self.t_first) else self.t_first,
            "interrupted": self.interrupted,
            "software_version": self.meta.get("software_version"),
            "schema_version": self.schema_version,
            "tool": self.meta.get("tool"),
            "area_cm2": (self.meta.get("config") or {}).get("area_cm2"),
            "streams": [
                {
                    "name": s.name,
                    "device": s.info.device,
                    "source": s.info.source,
                    "samples": s.samples,
                    "rate_hz": None if math.isnan(s.rate_hz) else round(s.rate_hz, 3),
                    "nominal_rate_hz": s.info.rate_hz,
                    "channels": [f"{c.name} ({c.unit})" for c in s.info.channels],
                }
                for s in self.streams
            ],
            "gaps": self.gaps(),
            "events": [
                {
                    "t": round(r.event.t, 4),
                    "kind": r.event.kind.value,
                    "stream": r.stream,
                    **dict(r.event.data),
                }
                for r in self.events()
            ],
            "annotations": [
                {"t_start": a.t_start, "t_end": a.t_end, "text": a.text} for a in self.annotations()
            ],
            "summary": self.summary,
        }


def _join(frames: list[Frame]) -> Frame:
    """Join blocks that may have gaps in their indices into one frame (index of the first)."""
    if len(frames) == 1:
        return frames[0]
    return Frame(
        np.concatenate([f.t for f in frames]),
        np.concatenate([f.x for f in frames]),
        frames[0].index,
    )


# -- damage ----------------------------------------------------------------------------------


def _check_header(path: Path) -> None:
    if path.is_dir():
        raise SessionError(f"{path} is a folder, not a session file")
    with path.open("rb") as fh:  # FileNotFoundError passes through
        head = fh.read(100)
        size = os.fstat(fh.fileno()).st_size
    if size == 0:
        raise NotASessionError(path, "the file is empty (a recording that never started?)")
    if not head.startswith(SQLITE_MAGIC):
        sample = head[:16].decode("utf-8", "replace").replace("\n", " ")
        if path.suffix == SUFFIX or len(head) < len(SQLITE_MAGIC):
            raise _corrupt(path, f"the SQLite header is missing (the file starts {sample!r})")
        raise NotASessionError(
            path, f"not an SQLite file (it starts {sample!r}); for CSV use 'palpate analyze'"
        )
    if len(head) < 100:
        raise _corrupt(path, f"the file is cut off after {size} bytes")
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    header_valid = head[24:28] == head[92:96]
    if header_valid and pages and size < pages * page_size:
        raise _corrupt(
            path, f"the file is truncated: it holds {size} of its {pages * page_size} bytes"
        )


def _corrupt(path: Path, problem: str) -> CorruptSessionError:
    try:
        found = salvage(path)
    except Exception as err:  # the estimate is best effort; say so
        recoverable = f"nothing could be read back ({type(err).__name__})"
    else:
        if not found:
            recoverable = "no samples could be read back"
        else:
            parts = [
                f"{s.n} samples of {name!r} ({s.t[0]:.1f}-{s.t[-1]:.1f} s)"
                for name, (_, s) in found.items()
            ]
            recoverable = (
                "these could be read back: "
                + ", ".join(parts)
                + f"; save them with 'palpate export {path} --csv OUT --salvage'"
            )
    return CorruptSessionError(path, problem, recoverable)


def salvage(path: str | os.PathLike[str]) -> dict[str, tuple[StreamInfo, Frame]]:
    """Read whatever samples of a damaged session can still be read, block by block.

    Blocks are probed one row at a time, so one damaged page loses only the blocks on it.
    Returns ``{stream name: (info, frame of every readable sample)}``; a stream whose
    description is lost is left out.
    """
    path = Path(path)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.Error:
        try:  # without the WAL (e.g. no write access for its index): the main file alone
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        except sqlite3.Error:
            return {}
    found: dict[str, tuple[StreamInfo, Frame]] = {}
    try:
        # a truncated file claims more pages than it has; SQLite refuses such a file unless
        # the schema is opened "writable" (nothing is written: the connection is read-only)
        conn.execute("PRAGMA writable_schema = ON")
        try:
            streams = conn.execute("SELECT id, name, info FROM streams").fetchall()
        except sqlite3.DatabaseError:
            return {}
        try:
            (top,) = conn.execute("SELECT MAX(id) FROM blocks").fetchone()
        except sqlite3.DatabaseError:
            top = None
        for sid, name, info_json in streams:
            try:
                info = _info_from_json(info_json)
            except (ValueError, KeyError, TypeError):
                continue
            frames: list[Frame] = []
            misses = 0
            rowid = 0
            while (rowid < top) if top is not None else (misses < 10_000):
                rowid += 1
                try:
                    row = conn.execute(
                        "SELECT stream_id, index0, n, channels, t_dtype, x_dtype, crc32, t, x "
                        "FROM blocks WHERE id = ?",
                        (rowid,),
                    ).fetchone()
                except sqlite3.DatabaseError:
                    misses += 1
                    continue
                if row is None:
                    misses += 1
                    continue
                misses = 0
                if row[0] != sid:
                    continue
                with contextlib.suppress(ValueError, TypeError):  # a damaged block is left out
                    frame = _decode_block(row[1:], info.n_channels)
                    if not frames or frame.t[0] > frames[-1].t[-1]:
                        frames.append(frame)
            if frames:
                found[name] = (info, _join(frames))
    finally:
        conn.close()
    return found
