"""Read and write palpate CSV files; import Tindeq Progressor app and phyphox exports.

:func:`read_csv` recognises three formats and returns a :class:`Recording` (one stream):

- ``palpate``: palpate's own CSV (see CONTRACTS.md): a header row of ``name (unit)``
  cells, first column ``time (s)``, e.g. ``time (s),force1 (N),force2 (N)``. Units
  ``N``, ``kg``, ``kPa``, ``m/s^2``, ``g`` and ``adc``; kg and g are converted to N and
  m/s^2 (see :data:`analysis.stream.UNIT_TO_SI`).
- ``tindeq``: a Tindeq Progressor app export: optional summary rows, a blank line, then
  ``time,weight`` in s and kg. The weight becomes one ``force`` channel in N; the summary
  fields are kept in :attr:`Recording.summary`.
- ``phyphox``: a phyphox accelerometer export, ``"Time (s)","Linear Acceleration x
  (m/s^2)",...`` (``Acceleration x`` when gravity is included). The axes become ``acc x``,
  ``acc y``, ``acc z``; the derived ``Absolute acceleration`` column is dropped.

:func:`write_csv` writes palpate's CSV atomically, with enough digits that reading it
back gives the same float64 times and float32 samples.

Policies
--------
- A missing file raises the plain :class:`FileNotFoundError` (any ``OSError`` from
  opening the file passes through unchanged); everything wrong *inside* a file raises
  :class:`~sessions.errors.CsvFormatError` with the 1-based line number and what to do.
- Times must strictly increase. In Tindeq and phyphox exports a row that exactly repeats
  the row before it (same time, same values) is dropped with a note; any other repeated or
  backwards time is an error. In a palpate CSV every repeated or backwards time is an error.
- A last row with fewer cells than the header (or, when the file does not end with a
  newline, a last row that does not parse) means the file was cut off mid-row; that is an
  error unless ``allow_truncated_tail=True``, which drops that one row with a note.
- NaN or inf in a time is an error; in a sample value it is kept, with a note.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> import numpy as np
>>> from analysis.stream import Channel, Frame, StreamInfo
>>> info = StreamInfo("sim", "simulated pad", 100.0, (Channel("force", "N", "force"),))
>>> frame = Frame.from_arrays(np.arange(4) / 100.0, [0.0, 1.5, 3.0, 2.0])
>>> with tempfile.TemporaryDirectory() as folder:
...     rec = read_csv(write_csv(Path(folder) / "hold.csv", info, frame))
>>> rec.format, rec.info.rate_hz, rec.frame.x[:, 0].tolist()
('palpate', 100.0, [0.0, 1.5, 3.0, 2.0])
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from analysis.stream import G_STANDARD, UNIT_TO_SI, Channel, Frame, StreamInfo
from sessions.errors import CsvFormatError
from sessions.files import write_atomic

__all__ = ["FORMATS", "CsvFormat", "Recording", "read_csv", "write_csv", "write_csv_frames"]

CsvFormat = Literal["palpate", "tindeq", "phyphox"]
FORMATS: Final[tuple[CsvFormat, ...]] = ("palpate", "tindeq", "phyphox")
"""The formats :func:`read_csv` understands."""

_UNDERSTOOD: Final = (
    "palpate understands a palpate CSV (header 'time (s),force (N),...'), a Tindeq "
    "Progressor app export ('time,weight' after the summary lines) and a phyphox "
    'accelerometer export (\'"Time (s)","Linear Acceleration x (m/s^2)",...\')'
)
_ACCEPTED_UNITS: Final = ", ".join(UNIT_TO_SI)
_HEADER_CELL: Final = re.compile(r"^(?P<name>[^()]*?)\s*\((?P<unit>[^()]*)\)$")
_PHYPHOX_ACC: Final = re.compile(r"^(?P<which>Linear Acceleration|Acceleration) (?P<axis>[xyz])$")
_PHYPHOX_DERIVED: Final = ("Absolute acceleration",)
_PHYPHOX_NAME: Final = re.compile(
    r"^(Linear Acceleration|Acceleration|Absolute|Magnetic field|Gyroscope|Pressure|"
    r"Illuminance|Sound|Proximity|Latitude|Longitude|Height|Velocity|Direction|Tilt|"
    r"Inclination|Distance)\b"
)
_LOADTXT_WHERE: Final = re.compile(r"at row (\d+), column (\d+)")
_SCAN_LINES: Final = 64  # how far to look for a Tindeq 'time,weight' header
_TINDEQ_KG_UNITS: Final = ("", "SI", "kg")
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Recording:
    """One stream read from a CSV file.

    Parameters
    ----------
    info : StreamInfo
        The stream: ``rate_hz`` is the measured median rate (1 / median time step);
        ``meta`` holds ``file``, ``format``, ``samples``, ``duration_s``,
        ``rate_hz_mean`` ((n - 1) / duration), ``rate_jitter`` (median absolute deviation
        of the time step over the median step), ``long_steps`` (steps over 1.5 × the
        median, i.e. likely lost samples) and ``notes``; phyphox adds
        ``gravity_included``, Tindeq adds ``summary``.
    frame : Frame
        Every sample of the file: ``t`` shape (n,), seconds on the file's own clock;
        ``x`` shape (n, channels), float32, in each channel's palpate unit; index 0.
    path : Path
        The file read.
    format : {"palpate", "tindeq", "phyphox"}
        The format detected.
    notes : tuple of str
        What the reader changed or noticed, e.g. ``"converted 'weight' from kg to N"``.
    summary : mapping
        The Tindeq app's summary fields (strings, as in the file; a table of rows such as
        ``Avg`` and ``Peak`` becomes a mapping per row); empty for other formats.
    """

    info: StreamInfo
    frame: Frame
    path: Path
    format: CsvFormat
    notes: tuple[str, ...] = ()
    summary: Mapping[str, Any] = field(default_factory=dict)


def read_csv(path: str | os.PathLike[str], *, allow_truncated_tail: bool = False) -> Recording:
    """Read a palpate CSV, Tindeq app export or phyphox export.

    Parameters
    ----------
    path : str or path-like
        The file. Line endings may be LF or CRLF; a UTF-8 byte-order mark is ignored.
    allow_truncated_tail : bool
        Drop a last row that was cut off mid-row (e.g. by a crash) with a note, instead
        of raising.

    Returns
    -------
    Recording
        The stream, all its samples (see :class:`Recording`), the format and notes.

    Raises
    ------
    FileNotFoundError
        The file does not exist (other ``OSError`` from opening it pass through too).
    CsvFormatError
        The content is not something palpate can read; ``line`` says where (1-based) and
        the message says what to do.
    """
    path = Path(path)
    raw = path.read_bytes()
    lines = _decode(path, raw).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise CsvFormatError(path, None, f"the file is empty; {_UNDERSTOOD}")
    fmt, header = _detect(path, lines, first)
    if fmt == "tindeq":
        return _read_tindeq(path, lines, header, allow_truncated_tail)
    if fmt == "phyphox":
        return _read_phyphox(path, lines, header, allow_truncated_tail)
    return _read_palpate(path, lines, header, allow_truncated_tail)


def write_csv(path: str | os.PathLike[str], info: StreamInfo, frame: Frame) -> Path:
    """Write one stream as a palpate CSV, atomically.

    The header is ``time (s)`` then ``name (unit)`` per channel; times are written with
    the shortest text that reads back as the same float64 (``0.011391``, not
    ``0.011391000000000001``) and values with ``%.9g``, which reads back as the same
    float32. The file is written to a temporary file in the same folder and moved over
    ``path`` with :func:`os.replace`, so a reader never sees half a file. Only the
    channels and samples are kept: ``info.source``, ``device`` and ``meta`` are not part
    of the CSV format.

    Parameters
    ----------
    path : str or path-like
        Target file; its folder must exist. An existing file is replaced.
    info : StreamInfo
        The stream; gives the channel names and units.
    frame : Frame
        The samples: ``t`` shape (n,), seconds; ``x`` shape (n, channels).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        ``frame`` does not fit ``info``, or a channel name cannot be written in a
        ``name (unit)`` header cell (it holds a comma, parenthesis, quote or line break,
        or starts or ends with a space).
    """
    info.check(frame)
    write_csv_frames(path, info, [frame])
    return Path(path)


def write_csv_frames(
    path: str | os.PathLike[str], info: StreamInfo, frames: Iterable[Frame]
) -> int:
    """Write a stream given as consecutive frames as one palpate CSV, atomically.

    Like :func:`write_csv`, but frame by frame, so an hour-long session is never held
    in memory as text at once. Returns the number of samples written.
    """
    for channel in info.channels:
        if re.search(r"[,()\"\r\n]", channel.name) or channel.name != channel.name.strip():
            raise ValueError(
                f"channel name {channel.name!r} cannot be written to a CSV header cell "
                "'name (unit)'; use a name without commas, parentheses, quotes, line breaks "
                "or surrounding spaces"
            )
    header = ",".join(["time (s)", *(f"{c.name} ({c.unit})" for c in info.channels)])
    value_fmt = ",".join(["%.9g"] * info.n_channels)
    written = 0

    def chunks() -> Iterator[str]:
        nonlocal written
        yield header + "\n"
        for frame in frames:
            info.check(frame)
            rows = zip(frame.t.tolist(), frame.x.astype(np.float64).tolist(), strict=True)
            yield "".join(f"{t!r},{value_fmt % tuple(x)}\n" for t, x in rows)
            written += frame.n

    write_atomic(Path(path), chunks())
    return written


# --- detection --------------------------------------------------------------------------


def _decode(path: Path, raw: bytes) -> str:
    if raw.startswith(_SQLITE_MAGIC):
        raise CsvFormatError(
            path,
            None,
            "this is an SQLite database (a .palpate session?), not a CSV; open it with "
            "'palpate replay' or 'palpate sessions info', or export it with 'palpate export'",
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvFormatError(
            path, 1, "the file is UTF-16 text; save it as UTF-8 (or plain) CSV and try again"
        )
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise CsvFormatError(
            path, line, f"the file holds binary data (a NUL byte); it is not a CSV. {_UNDERSTOOD}"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise CsvFormatError(
            path,
            line,
            f"the file is not UTF-8 text (byte 0x{raw[err.start]:02x}); if it is a CSV, "
            f"save it as UTF-8. {_UNDERSTOOD}",
        ) from err


def _detect(path: Path, lines: Sequence[str], first: int) -> tuple[CsvFormat, int]:
    """The format and the 0-based index of the header line."""
    for i, line in enumerate(lines[:_SCAN_LINES]):
        if line.strip().lower() == "time,weight":
            return "tindeq", i
    head = lines[first].strip()
    if head.lower().startswith("date,tag,"):
        raise CsvFormatError(
            path,
            None,
            "this looks like a Tindeq app summary (info) file: it has no 'time,weight' "
            "header and no samples; read the data_set file recorded with it",
        )
    if _phyphox_header(head) is not None:
        return "phyphox", first
    cells = _split(head, ",")
    if cells[0].strip().lower().startswith("time") or any(_HEADER_CELL.match(c) for c in cells):
        return "palpate", first
    raise CsvFormatError(path, first + 1, f"unknown format, header {head[:80]!r}; {_UNDERSTOOD}")


def _phyphox_header(line: str) -> tuple[list[str], str] | None:
    """The header cells and delimiter when ``line`` is a phyphox header, else None."""
    for delimiter in (",", ";", "\t"):
        cells = [c.strip() for c in _split(line, delimiter)]
        if len(cells) > 1 and cells[0] == "Time (s)":
            names = (_cell_name(c) for c in cells[1:])
            if line.startswith('"') or any(_PHYPHOX_NAME.match(n) for n in names):
                return cells, delimiter
    return None


def _split(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter))


def _cell_name(cell: str) -> str:
    match = _HEADER_CELL.match(cell.strip())
    return match["name"] if match else cell.strip()


# --- the three readers ------------------------------------------------------------------


def _read_palpate(path: Path, lines: Sequence[str], header: int, allow_tail: bool) -> Recording:
    cells = [c.strip() for c in _split(lines[header], ",")]
    line = header + 1
    parsed: list[tuple[str, str]] = []
    for col, cell in enumerate(cells, start=1):
        match = _HEADER_CELL.match(cell)
        if match is None or not match["name"]:
            raise CsvFormatError(
                path,
                line,
                f"header cell {col} {cell!r} is not of the form 'name (unit)', e.g. "
                "'force (N)'; a palpate CSV header reads 'time (s),force (N),...'",
            )
        parsed.append((match["name"], match["unit"]))
    if parsed[0][0].lower() != "time" or parsed[0][1] != "s":
        raise CsvFormatError(
            path,
            line,
            f"the first column must be the time in seconds, 'time (s)', not {cells[0]!r}; "
            "put the times first and convert them to seconds",
        )
    if len(cells) < 2:
        raise CsvFormatError(
            path, line, "the header has a time column but no channels, e.g. 'force (N)'"
        )
    channels: list[Channel] = []
    factors: list[float] = []
    notes: list[str] = []
    for col, ((name, unit), cell) in enumerate(zip(parsed[1:], cells[1:], strict=True), 2):
        if unit not in UNIT_TO_SI:
            raise CsvFormatError(
                path,
                line,
                f"column {col} {cell!r}: unit {unit!r} is not one palpate reads; "
                f"accepted units: {_ACCEPTED_UNITS}",
            )
        if any(c.name == name for c in channels):
            raise CsvFormatError(
                path, line, f"column {col} {cell!r} repeats the channel name {name!r}"
            )
        kind, si_unit, factor = UNIT_TO_SI[unit]
        channels.append(Channel(name, si_unit, kind))
        factors.append(factor)
        if si_unit != unit:
            notes.append(f"converted {cell!r} from {unit} to {si_unit} (times {factor})")
    table = _parse_body(path, lines, header, cells, ",", allow_tail, notes)
    return _finish(
        path, "palpate", "csv", path.name, table, cells, channels, factors, notes, {}, {}
    )


def _read_tindeq(path: Path, lines: Sequence[str], header: int, allow_tail: bool) -> Recording:
    notes: list[str] = []
    summary, unit_line = _tindeq_summary(lines[:header], notes)
    unit = summary.get("unit", "")
    if isinstance(unit, str) and unit.strip() not in _TINDEQ_KG_UNITS:
        raise CsvFormatError(
            path,
            unit_line,
            f"the Tindeq summary says unit {unit!r}; palpate reads Tindeq exports in SI "
            "units (kg) only: set the app to kg and export again",
        )
    cells = ["time", "weight"]
    table = _parse_body(path, lines, header, cells, ",", allow_tail, notes, foreign=True)
    notes.append(f"converted 'weight' from kg to N (times {G_STANDARD})")
    channels = [Channel("force", "N", "force")]
    device = "Tindeq Progressor (app export)"
    return _finish(
        path,
        "tindeq",
        "tindeq-app",
        device,
        table,
        cells,
        channels,
        [G_STANDARD],
        notes,
        {"summary": summary},
        summary,
    )


def _tindeq_summary(lines: Sequence[str], notes: list[str]) -> tuple[dict[str, Any], int | None]:
    """The summary fields above ``time,weight`` and the line of the ``unit`` value.

    Two layouts occur: pairs of rows (field names, then values), e.g.
    ``date,tag,...,unit,max`` / ``2023-...,SI,9.35``; and a table whose first row starts
    with an empty cell (``,Avg,Rep 1`` / ``Avg,6.93,6.93`` / ``Peak,7.93,7.93``).
    """
    rows = [
        (i + 1, [c.strip() for c in _split(line, ",")])
        for i, line in enumerate(lines)
        if line.strip(" ,\t")
    ]
    summary: dict[str, Any] = {}
    unit_line: int | None = None
    if not rows:
        return summary, unit_line
    if rows[0][1][0] == "":
        columns = rows[0][1][1:]
        for _, row in rows[1:]:
            summary[row[0]] = dict(zip(columns, row[1:], strict=False))
        return summary, unit_line
    for (_, keys), (values_line, values) in zip(rows[::2], rows[1::2], strict=False):
        summary.update(zip(keys, values, strict=False))
        if "unit" in keys:
            unit_line = values_line
    if len(rows) % 2:
        notes.append(f"ignored a summary line without values (line {rows[-1][0]})")
    return summary, unit_line


def _read_phyphox(path: Path, lines: Sequence[str], header: int, allow_tail: bool) -> Recording:
    found = _phyphox_header(lines[header].strip())
    assert found is not None  # _detect checked it
    cells, delimiter = found
    line = header + 1
    notes: list[str] = []
    keep: list[int] = []
    channels: list[Channel] = []
    factors: list[float] = []
    gravity: set[bool] = set()
    for col, cell in enumerate(cells[1:], start=2):
        match = _HEADER_CELL.match(cell)
        name, unit = (match["name"], match["unit"]) if match else (cell, "")
        if name in _PHYPHOX_DERIVED:
            notes.append(f"dropped derived column {cell!r}")
            continue
        if unit not in UNIT_TO_SI:
            raise CsvFormatError(
                path,
                line,
                f"column {col} {cell!r}: unit {unit!r} is not one palpate reads; accepted "
                f"units: {_ACCEPTED_UNITS}. Export only the accelerometer from phyphox",
            )
        acc = _PHYPHOX_ACC.match(name)
        if acc is None or UNIT_TO_SI[unit][0] != "accel":
            raise CsvFormatError(
                path,
                line,
                f"column {col} {cell!r} is not a phyphox column palpate reads; it reads "
                "'Linear Acceleration x/y/z (m/s^2)' or 'Acceleration x/y/z (m/s^2)'",
            )
        channel_name = f"acc {acc['axis']}"
        if any(c.name == channel_name for c in channels):
            raise CsvFormatError(
                path,
                line,
                f"column {col} {cell!r} gives a second {channel_name!r}; export either "
                "acceleration with g or without g, not both",
            )
        kind, si_unit, factor = UNIT_TO_SI[unit]
        channels.append(Channel(channel_name, si_unit, kind))
        factors.append(factor)
        keep.append(col - 1)
        gravity.add(acc["which"] == "Acceleration")
    if not channels:
        raise CsvFormatError(path, line, "no acceleration axis to read (x, y or z)")
    if len(gravity) > 1:
        raise CsvFormatError(
            path,
            line,
            "the header mixes 'Acceleration' (with g) and 'Linear Acceleration' (without g) "
            "axes; export one kind only",
        )
    table = _parse_body(
        path, lines, header, cells, delimiter, allow_tail, notes, foreign=True, decimal=True
    )
    table = _Table(table.data[:, [0, *keep]], table.line)
    include_g = gravity.pop()
    which = "Acceleration includes" if include_g else "Linear Acceleration excludes"
    notes.append(f"phyphox {which} gravity")
    used = [cells[0], *(cells[i] for i in keep)]
    meta = {"gravity_included": include_g}
    return _finish(
        path,
        "phyphox",
        "phyphox",
        "phone (phyphox export)",
        table,
        used,
        channels,
        factors,
        notes,
        meta,
        {},
    )


# --- the body: shared by all formats -------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    data: NDArray[np.float64]  # (n, columns) as in the file
    line: NDArray[np.int64]  # (n,) 1-based line number of each row


def _parse_body(
    path: Path,
    lines: Sequence[str],
    header: int,
    cells: Sequence[str],
    delimiter: str,
    allow_tail: bool,
    notes: list[str],
    *,
    foreign: bool = False,
    decimal: bool = False,
) -> _Table:
    """Parse the rows below ``lines[header]`` (0-based) into a numeric table.

    Checks the cell count of every row, parses with :func:`numpy.loadtxt`, handles a
    truncated last row, then checks the time column (column 0). ``foreign`` drops exact
    duplicate rows with a note; ``decimal`` turns decimal commas into points when the
    delimiter is not a comma.
    """
    end = len(lines)
    while end > header + 1 and not lines[end - 1].strip():
        end -= 1
    body = list(lines[header + 1 : end])
    terminated = end < len(lines)  # the last row ends with a line break
    first_line = header + 2
    n_cols = len(cells)
    if not body:
        raise CsvFormatError(
            path, header + 1, "the file has a header but no samples below it (nothing to read)"
        )

    counts = np.fromiter((s.count(delimiter) for s in body), np.int64, len(body)) + 1
    wrong = np.flatnonzero(counts != n_cols)
    if wrong.size:
        i = int(wrong[0])
        what = f"has {counts[i]} cell(s), expected {n_cols} as in the header (line {header + 1})"
        if i == len(body) - 1 and counts[i] < n_cols:
            _truncated(path, first_line + i, what, allow_tail, notes)
            body.pop()
            terminated = True  # the row now last was followed by the dropped one
        else:
            raise CsvFormatError(path, first_line + i, f"{what}; fix or delete that row")
    if decimal and delimiter != "," and any("," in s for s in body):
        body = [s.replace(",", ".") for s in body]
        notes.append("read decimal commas")

    data = _loadtxt(path, body, cells, delimiter, first_line, terminated, allow_tail, notes)
    line = np.arange(first_line, first_line + data.shape[0], dtype=np.int64)
    if data.shape[0] == 0:
        raise CsvFormatError(
            path, header + 1, "the file has a header but no complete samples below it"
        )

    t = data[:, 0]
    finite = np.isfinite(t)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise CsvFormatError(
            path,
            int(line[i]),
            f"the time ({cells[0]!r}) is {float(t[i])!r}; every row needs a finite time: fix or "
            "delete that row",
        )
    if foreign and data.shape[0] > 1:
        same = np.all(data[1:] == data[:-1], axis=1)
        if same.any():
            notes.append(
                f"dropped {int(same.sum())} row(s) exactly repeating the row before "
                f"(first on line {int(line[1:][same][0])})"
            )
            keep = np.concatenate(([True], ~same))
            data, line = data[keep], line[keep]
            t = data[:, 0]
    steps = np.diff(t)
    bad = np.flatnonzero(steps <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        how = "repeats" if steps[i - 1] == 0 else "goes back from"
        raise CsvFormatError(
            path,
            int(line[i]),
            f"the time {float(t[i])!r} s {how} {float(t[i - 1])!r} s on line "
            f"{int(line[i - 1])}; times must strictly increase: sort the rows or remove the "
            "repeated one",
        )
    if data.shape[0] < 2:
        raise CsvFormatError(
            path,
            int(line[0]),
            "the file holds a single sample; palpate needs at least two to measure the sample rate",
        )
    return _Table(data, line)


def _loadtxt(
    path: Path,
    body: list[str],
    cells: Sequence[str],
    delimiter: str,
    first_line: int,
    terminated: bool,
    allow_tail: bool,
    notes: list[str],
) -> NDArray[np.float64]:
    """``body`` (every row has the right cell count) as a float64 array (n, columns)."""
    if not body:
        return np.empty((0, len(cells)))
    try:
        return _loadtxt_raw(body, delimiter)
    except ValueError as err:
        row, col = _locate_bad_cell(body, delimiter, err)
        if row is None or col is None:
            raise CsvFormatError(path, None, f"a cell is not a number: {err}") from err
        value = body[row].split(delimiter)[col].strip()
        what = (
            f"column {col + 1} ({cells[col]!r}) is empty"
            if not value
            else f"column {col + 1} ({cells[col]!r}) holds {value!r}, which is not a number"
        )
        if row == len(body) - 1 and not terminated:
            _truncated(path, first_line + row, what, allow_tail, notes)
            return _loadtxt(path, body[:-1], cells, delimiter, first_line, True, allow_tail, notes)
        raise CsvFormatError(path, first_line + row, f"{what}; fix or delete that row") from err


def _loadtxt_raw(body: list[str], delimiter: str) -> NDArray[np.float64]:
    return np.loadtxt(
        body, delimiter=delimiter, dtype=np.float64, comments=None, quotechar='"', ndmin=2
    )


def _locate_bad_cell(
    body: Sequence[str], delimiter: str, err: ValueError
) -> tuple[int | None, int | None]:
    """0-based row and column of the cell :func:`numpy.loadtxt` could not parse."""
    match = _LOADTXT_WHERE.search(str(err))
    if match:
        return int(match[1]), int(match[2]) - 1
    for row, text in enumerate(body):  # numpy changed its message: find the cell ourselves
        for col, cell in enumerate(text.split(delimiter)):
            try:
                _loadtxt_raw([cell.strip() or "x"], delimiter)
            except ValueError:
                return row, col
    return None, None


def _truncated(path: Path, line: int, what: str, allow: bool, notes: list[str]) -> None:
    if not allow:
        raise CsvFormatError(
            path,
            line,
            f"the last row {what}: the file looks truncated (cut off mid-row, e.g. by a "
            "crash); read it with allow_truncated_tail=True (palpate analyze --allow-truncated) "
            "to drop that row and keep the rest",
        )
    notes.append(f"dropped the truncated last row (line {line})")


def _finish(
    path: Path,
    fmt: CsvFormat,
    source: str,
    device: str,
    table: _Table,
    cells: Sequence[str],
    channels: Sequence[Channel],
    factors: Sequence[float],
    notes: list[str],
    extra_meta: Mapping[str, Any],
    summary: Mapping[str, Any],
) -> Recording:
    """Convert to palpate units and build the :class:`Recording`."""
    t = np.ascontiguousarray(table.data[:, 0])
    x64 = table.data[:, 1:] * np.asarray(factors, dtype=np.float64)
    with np.errstate(over="ignore"):
        x = x64.astype(np.float32)
    overflow = np.isinf(x) & np.isfinite(x64)
    if overflow.any():
        row, col = (int(v) for v in np.argwhere(overflow)[0])
        raise CsvFormatError(
            path,
            int(table.line[row]),
            f"column {col + 2} ({cells[col + 1]!r}) holds {float(x64[row, col])!r}, too "
            "large for a float32 sample",
        )
    non_finite = ~np.isfinite(x)
    for bad_col in np.flatnonzero(non_finite.any(axis=0)).tolist():
        rows = np.flatnonzero(non_finite[:, bad_col])
        notes.append(
            f"column {cells[bad_col + 1]!r} holds {rows.size} NaN or inf value(s), first on "
            f"line {int(table.line[rows[0]])}"
        )
    steps = np.diff(t)
    step = float(np.median(steps))
    duration = float(t[-1] - t[0])
    meta: dict[str, Any] = {
        "file": path.name,
        "format": fmt,
        "samples": int(t.size),
        "duration_s": duration,
        "rate_hz_mean": (t.size - 1) / duration,
        "rate_jitter": float(np.median(np.abs(steps - step)) / step),
        "long_steps": int(np.count_nonzero(steps > 1.5 * step)),
        **extra_meta,
        "notes": list(notes),
    }
    info = StreamInfo(source, device, 1.0 / step, tuple(channels), meta)
    frame = Frame(t, np.ascontiguousarray(x), 0)
    return Recording(info, frame, path, fmt, tuple(notes), summary)
