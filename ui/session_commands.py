"""The session commands of the ``palpate`` CLI: record, replay, sessions, export, and
``analyze`` of a ``.palpate`` file.

:func:`add_commands` adds the sub-commands to the parser built in :mod:`ui.cli`;
:func:`run` runs one of them. Errors are raised as ``SessionError``, ``BridgeError``,
``OSError`` or ``ValueError`` and told as one line by :func:`ui.cli.main`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from analysis.pipeline import PipelineConfig
from analysis.strokes import STROKES
from firmware_bridge import open_source
from firmware_bridge.registry import resolve
from sessions.calibrations import calibration_dir
from sessions.csv_io import write_csv, write_csv_frames
from sessions.history import history, list_sessions, streak_days
from sessions.live import LiveSession
from sessions.replay import ReplaySource, analyze_session
from sessions.store import SQLITE_MAGIC, SUFFIX, SessionFile, default_folder, salvage
from ui.report import json_lines, text_report
from ui.session_view import watch
from ui.terminal_view import TerminalView

__all__ = ["COMMANDS", "add_commands", "analyze_session_file", "is_session_file", "run"]

COMMANDS = ("record", "replay", "sessions", "export")


def _speed(text: str) -> float:
    if text.strip().lower() in ("inf", "max", "fast"):
        return math.inf
    try:
        value = float(text.rstrip("xX"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"speed must be a number like 0.5, 2 or 16 (or 'max'), got {text!r}"
        ) from None
    return value


def add_commands(
    sub: Any,
    add_analysis_options: Callable[[argparse.ArgumentParser], None],
    positive: Callable[[str], Any],
) -> None:
    """Add ``record``, ``replay``, ``sessions`` and ``export`` to the CLI's sub-parsers."""
    rec = sub.add_parser(
        "record",
        help="record a session (terminal view while recording)",
        description="Stream a device through the live analysis and record everything into "
        "a session file (.palpate, SQLite), committed twice a second so a crash loses "
        "under half a second. Default folder: the sessions folder (see 'palpate sessions').",
    )
    rec.add_argument("--device", metavar="D", required=True, help="device to read, e.g. sim")
    rec.add_argument(
        "--seconds",
        metavar="N",
        type=positive("--seconds"),
        help="stop after N seconds of data (default: until Ctrl-C)",
    )
    rec.add_argument("--out", metavar="FILE", type=Path, help="session file to write")
    rec.add_argument(
        "--headless", action="store_true", help="terminal view even where a display exists"
    )
    rec.add_argument(
        "--rate-hz", metavar="HZ", type=positive("--rate-hz"), default=100.0,
        help="sample rate of the simulated pad, 50-1000 Hz (default: 100)",
    )  # fmt: skip
    rec.add_argument("--channels", type=int, choices=(1, 4), default=1, help="simulated pad")
    rec.add_argument("--seed", type=int, default=None, help="seed of the simulated session")
    add_analysis_options(rec)

    rep = sub.add_parser(
        "replay",
        help="replay a recorded session",
        description="Play a session file back through the analysis, with its recorded timing "
        "(gaps stay gaps). With --headless --json: print the 'analyze --json' lines of the "
        "replay (as fast as possible).",
    )
    rep.add_argument("file", metavar="FILE", type=Path, help="the session (.palpate)")
    rep.add_argument(
        "--speed",
        metavar="X",
        type=_speed,
        default=1.0,
        help="0.25-16 times real time, or 'max' for as fast as possible (default: 1)",
    )
    rep.add_argument(
        "--from", dest="start_s", metavar="S", type=float, default=None,
        help="start at S seconds on the session clock",
    )  # fmt: skip
    rep.add_argument("--marker", metavar="LABEL", help="start at the marker with this label")
    rep.add_argument("--loop", action="store_true", help="start again at the end")
    rep.add_argument(
        "--headless", action="store_true", help="terminal view even where a display exists"
    )
    rep.add_argument("--json", action="store_true", help="print the analyze --json lines")

    ses = sub.add_parser(
        "sessions",
        help="list recorded sessions, or the history per day/week",
        description="List recorded sessions with date, duration, device, peak pressure and "
        "warnings; --summary shows how regularly you practised, per week (or day).",
    )
    ses.add_argument("--dir", metavar="DIR", type=Path, help="sessions folder to read")
    ses.add_argument("--summary", action="store_true", help="history per week (or --by day)")
    ses.add_argument("--by", choices=("day", "week"), default="week", help="history period")
    ses.add_argument("--json", action="store_true", help="one JSON object per line")
    ses_sub = ses.add_subparsers(dest="sessions_command", metavar="info")
    info = ses_sub.add_parser(
        "info", help="everything about one session", description="Show one session file."
    )
    info.add_argument("file", metavar="FILE", type=Path)
    info.add_argument("--json", action="store_true", help="one JSON object (see CONTRACTS.md)")

    exp = sub.add_parser(
        "export",
        help="export a session as palpate CSV",
        description="Write each recorded stream as palpate CSV ('time (s),force (N),...'): "
        "OUT for a one-stream session, OUT_<stream>.csv for each stream otherwise.",
    )
    exp.add_argument("file", metavar="FILE", type=Path, help="the session (.palpate)")
    exp.add_argument("--csv", metavar="OUT", type=Path, required=True, help="CSV file to write")
    exp.add_argument(
        "--salvage",
        action="store_true",
        help="from a damaged session, write every sample that can still be read",
    )


def run(args: argparse.Namespace, config: Callable[[argparse.Namespace], PipelineConfig]) -> int:
    """Run a session command; ``config`` builds the analysis settings from the options."""
    if args.command == "record":
        return _record(args, config(args))
    if args.command == "replay":
        return _replay(args)
    if args.command == "sessions":
        if getattr(args, "sessions_command", None) == "info":
            return _info(args)
        return _summary(args) if args.summary else _list(args)
    if args.command == "export":
        return _export(args)
    raise ValueError(f"not a session command: {args.command}")


# -- record / replay ---------------------------------------------------------------------------


def _record(args: argparse.Namespace, config: PipelineConfig) -> int:
    spec = args.device
    options: dict[str, Any] = {}
    if resolve(spec)[0].name == "sim":
        options = {
            "rate_hz": args.rate_hz,
            "channels": args.channels,
            "seed": args.seed,
            "area_cm2": config.area_cm2,
            "realtime": True,
            "block_s": 0.02,
        }
        if args.seconds is not None:
            options["duration_s"] = args.seconds
    source = open_source(spec, **options)
    session = LiveSession(
        source,
        config,
        recording_meta={"tool": args.tool or ("custom" if args.area_cm2 else "thumb")},
        calibrations=calibration_dir(),
    )
    path = session.start_recording(args.out)  # the file exists before the device streams
    interactive = sys.stdout.isatty()
    print(f"recording into {path}")
    try:
        session.start()
        watch(
            session,
            TerminalView(sys.stdout, interactive=interactive),
            seconds=args.seconds,
            redraw_hz=10.0 if interactive else 1.0,
        )
    except KeyboardInterrupt:
        session.stop()
        print("\nstopped")
    failed = [s for s in session.status() if s.link == "failed"]
    with SessionFile.open(path) as f:
        s = f.summary or {}
        peak = s.get("peak_kpa")
        print(
            f"saved {path}: {f.duration_s:.1f} s, "
            f"{sum(x.samples for x in f.streams)} samples, peak "
            f"{'n/a' if peak is None else f'{peak:.0f} kPa'}, {s.get('warnings', 0)} too-fast "
            "warnings"
        )
    if session.error or failed:
        why = session.error or failed[0].message
        print(f"palpate: {why}", file=sys.stderr)
        return 1
    return 0


def _replay(args: argparse.Namespace) -> int:
    if args.json:
        start = args.start_s
        if args.marker is not None:
            start = ReplaySource(args.file).seek_marker(args.marker).t
        return _print_analysis(args.file, None, json_out=True, start_s=start)
    start = args.start_s if args.start_s is not None else -math.inf
    replay = ReplaySource(args.file, speed=args.speed, loop=args.loop)
    if math.isfinite(start):
        replay.seek(start)
    if args.marker is not None:
        replay.seek_marker(args.marker)
    session = LiveSession(replay)
    interactive = sys.stdout.isatty()
    print(
        f"replaying {args.file} from {replay.position_s:.1f} s of {replay.t_last:.1f} s "
        f"at {'max' if math.isinf(replay.speed) else f'{replay.speed:g}x'} speed"
    )
    view = TerminalView(sys.stdout, interactive=interactive)
    warnings = None  # as shown, when the replay ran to its end
    try:
        session.start()
        watcher = watch(session, view, seconds=None, redraw_hz=10.0 if interactive else 1.0)
        warnings = watcher.state.warnings
    except KeyboardInterrupt:
        session.stop()
        print("\nstopped")
    summary = session.summary()
    if warnings is None:
        warnings = summary.get("warnings", 0)
    print(
        f"summary: {summary.get('duration_s', 0):.1f} s, peak {summary.get('peak_kpa')} kPa, "
        f"{warnings} too-fast warnings"
    )
    if session.error:
        print(f"palpate: {session.error}", file=sys.stderr)
        return 1
    return 0


# -- analyze -----------------------------------------------------------------------------------


def is_session_file(path: Path) -> bool:
    """A ``.palpate`` name, or an SQLite file (read its first bytes)."""
    if path.suffix == SUFFIX:
        return True
    try:
        with path.open("rb") as fh:
            return fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def analyze_session_file(args: argparse.Namespace, config: PipelineConfig | None) -> int:
    """``palpate analyze FILE.palpate``: ``config`` None means the recorded settings."""
    return _print_analysis(args.file, config, json_out=args.json, start_s=None)


def _print_analysis(
    path: Path, config: PipelineConfig | None, *, json_out: bool, start_s: float | None
) -> int:
    with SessionFile.open(path) as f:
        record = f.stream()
        used = config or f.config or PipelineConfig()
        notes = ["interrupted recording: analysed up to the crash"] if f.interrupted else []
    result = analyze_session(path, config, start_s=start_s)
    source = {
        "file": str(path),
        "format": "palpate",
        "device": record.info.device,
        "area_cm2": used.area_cm2,
        "ramp_limit_kpa_s": used.warnings.limit_kpa_s,
    }
    if json_out:
        for line in json_lines(result, {"input": source}):
            print(line)
        return 0
    channels = ", ".join(f"{c.name} ({c.unit})" for c in record.info.channels)
    header = [
        f"{path}  [palpate session: {record.info.device}, stream {record.name}]",
        f"channels: {channels}",
        f"contact area {used.area_cm2:g} cm², too fast at {used.warnings.limit_kpa_s:g} kPa/s, "
        f"caution at {used.warnings.caution_kpa_s:g} kPa/s"
        + (" (as recorded)" if config is None else ""),
        *(f"note: {n}" for n in notes),
    ]
    print(text_report(result, header))
    return 0


# -- sessions ----------------------------------------------------------------------------------


def _when(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M") if math.isfinite(t) else "?"


def _duration(seconds: float) -> str:
    m, s = divmod(seconds, 60)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{s:04.1f}" if h else f"{m}:{s:04.1f}"


def _list(args: argparse.Namespace) -> int:
    folder = args.dir or default_folder()
    entries = list_sessions(folder)
    if args.json:
        for e in entries:
            print(json.dumps(e.to_json()))
        return 0
    if not entries:
        print(f"no sessions in {folder} (record one with 'palpate record --device sim')")
        return 0
    print(f"sessions in {folder}")
    print(f"{'date':<16}  {'duration':>9}  {'device':<28} {'peak kPa':>8}  {'warnings':>8}  file")
    for e in entries:
        if e.problem:
            print(f"{'?':<16}  {'':>9}  {'(unreadable)':<28} {'':>8}  {'':>8}  {e.path.name}")
            print(f"    {e.problem}")
            continue
        peak = "n/a" if e.peak_kpa is None else f"{e.peak_kpa:.0f}"
        device = ", ".join(e.devices)[:28] or "-"
        flag = "  (interrupted)" if e.interrupted else ""
        print(
            f"{_when(e.started_at_unix):<16}  {_duration(e.duration_s):>9}  {device:<28} "
            f"{peak:>8}  {e.warnings:>8}  {e.path.name}{flag}"
        )
    return 0


def _summary(args: argparse.Namespace) -> int:
    folder = args.dir or default_folder()
    entries = list_sessions(folder)
    periods = history(entries, by=args.by)
    if args.json:
        for p in periods:
            print(json.dumps(p.to_json()))
        return 0
    if not periods:
        print(f"no sessions in {folder} yet")
        return 0
    unit = "week" if args.by == "week" else "day"
    print(f"history per {unit} ({folder})")
    print(
        f"{unit:<10} {'sessions':>8} {'days':>4} {'time':>9}   {'gentle':>7} {'working':>7} "
        f"{'deep':>7}   {'warnings':>8} {'pain':>4} {'ceiling':>8}"
    )
    for p in periods:
        z = p.zone_s
        ceiling = "-" if p.personal_ceiling_kpa is None else f"{p.personal_ceiling_kpa:.0f}"
        print(
            f"{p.label:<10} {p.sessions:>8} {len(p.days):>4} {_duration(p.total_s):>9}   "
            f"{_duration(z.get('gentle', 0)):>7} {_duration(z.get('working', 0)):>7} "
            f"{_duration(z.get('deep', 0)):>7}   {p.warnings:>8} {p.pain_marks:>4} {ceiling:>8}"
        )
    streak = streak_days(entries, date.today())
    unreadable = sum(1 for e in entries if e.problem)
    print(f"current streak: {streak} day{'s' if streak != 1 else ''} in a row")
    if unreadable:
        print(f"{unreadable} unreadable session file(s) left out (see 'palpate sessions')")
    return 0


def _info(args: argparse.Namespace) -> int:
    with SessionFile.open(args.file) as f:
        info = f.info()
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"{info['file']}")
    started = _when(info["started_at_unix"])
    print(
        f"  started   {started} ({info['timezone']}), {_duration(info['duration_s'])} long"
        + ("  (interrupted: kept up to the crash)" if info["interrupted"] else "")
    )
    print(
        f"  recorded  palpate {info['software_version']}, session schema {info['schema_version']}"
    )
    if info["area_cm2"] is not None:
        print(f"  tool      {info['tool'] or 'custom'} ({info['area_cm2']:g} cm²)")
    for s in info["streams"]:
        rate = "n/a" if s["rate_hz"] is None else f"{s['rate_hz']:.1f} Hz"
        print(f"  stream    {s['name']}: {s['device']}, {s['samples']} samples at {rate}")
        print(f"            {', '.join(s['channels'])}")
    for g in info["gaps"]:
        print(f"  gap       {g['stream']} at {g['t']:.2f} s: {g['missing']} samples lost")
    shown = [e for e in info["events"] if e["kind"] in ("marker", "pain", "warning", "ceiling")]
    for e in shown:
        what = {k: v for k, v in e.items() if k not in ("t", "kind", "stream")}
        print(f"  {e['kind']:<9} {e['t']:9.2f} s  {json.dumps(what)}")
    s = info["summary"]
    if s:
        strokes = ", ".join(f"{k} {s['stroke_s'].get(k, 0):.0f} s" for k in STROKES)
        print(
            f"  summary   peak {s['peak_kpa']} kPa, {s['warnings']} too-fast warnings, "
            f"{s['ceiling_crossings']} ceiling crossings, {s['pain_marks']} pain marks"
        )
        print(f"            {strokes}")
    for a in info["annotations"]:
        print(f"  note      {a['t_start']:.2f} s: {a['text']}")
    return 0


# -- export ------------------------------------------------------------------------------------


def _export(args: argparse.Namespace) -> int:
    out: Path = args.csv

    def target(name: str, n_streams: int) -> Path:
        return out if n_streams == 1 else out.with_name(f"{out.stem}_{name}{out.suffix}")

    if args.salvage:
        found = salvage(args.file)
        if not found:
            raise OSError(f"no samples could be read from {args.file}")
        for name, (info, frame) in found.items():
            write_csv(target(name, len(found)), info, frame)
            print(f"wrote {target(name, len(found))}: {name}, {frame.n} samples")
        return 0
    with SessionFile.open(args.file) as f:  # block by block: an hour never sits in memory
        streams = [s for s in f.streams if s.samples]
        if not streams:
            print(f"{args.file} holds no samples; nothing written")
            return 0
        for s in streams:
            n = write_csv_frames(target(s.name, len(streams)), s.info, f.blocks(s.name))
            print(f"wrote {target(s.name, len(streams))}: {s.name}, {n} samples")
    return 0
