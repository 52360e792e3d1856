"""The ``palpate`` command line.

Every command runs without hardware: ``demo`` streams the built-in simulated
pad, ``analyze`` reads recordings. Errors are caught here, at the boundary, and
told as one line that says what happened and what to do; the exit status is 1
for a failed command and 2 for a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from analysis.pipeline import Pipeline, PipelineConfig, analyze
from analysis.stream import StreamInfo
from analysis.tools import TOOLS, custom_tool, tool
from analysis.warning_level import WarningConfig
from firmware_bridge import BridgeError, entries, open_source
from firmware_bridge.registry import resolve
from sessions import SessionError
from sessions.calibrations import calibration_dir
from sessions.csv_io import read_csv
from sessions.thresholds import apply_thresholds
from ui.gui_commands import (
    add_screenshot_command,
    run_live_window,
    run_replay,
    run_screenshot,
    window_or_note,
)
from ui.report import json_lines, text_report
from ui.session_commands import COMMANDS as SESSION_COMMANDS
from ui.session_commands import add_commands as add_session_commands
from ui.session_commands import analyze_session_file, is_session_file
from ui.session_commands import run as run_session_command
from ui.terminal_view import TerminalView, run_live

__all__ = ["build_parser", "main"]

DEFAULT_RAMP_LIMIT_KPA_S = 50.0
"""Too fast without --ramp-limit or saved thresholds: a standard pain-threshold test's rate."""

DEFAULT_CEILING_KPA = 300.0
"""Absolute ceiling without --ceiling-kpa or saved thresholds, kPa."""


def _version() -> str:
    try:
        return metadata.version("palpate")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _positive(kind: str) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{kind} must be a number, got {text!r}") from None
        if not value > 0 or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{kind} must be a positive number, got {text!r}")
        return value

    return parse


def _add_analysis_options(p: argparse.ArgumentParser) -> None:
    area = p.add_mutually_exclusive_group()
    area.add_argument(
        "--tool",
        metavar="NAME",
        help="tool pressing on the tissue, sets the contact area: "
        + ", ".join(f"{t.name} ({t.area_cm2:g} cm²)" for t in TOOLS.values())
        + " (default: thumb)",
    )
    area.add_argument(
        "--area-cm2",
        metavar="A",
        type=_positive("contact area"),
        help="contact area in cm² instead of a tool (pressure kPa = force N / area cm² x 10)",
    )
    p.add_argument(
        "--ramp-limit",
        metavar="KPA_PER_S",
        type=_positive("ramp limit"),
        default=None,
        help="ramp rate of the working pressure level that counts as too fast, kPa/s; "
        "caution starts at half of it (default: 50, the rate of a standard pain-threshold "
        "test; live, demo and record use your saved thresholds for the tool)",
    )
    p.add_argument(
        "--ceiling-kpa",
        metavar="KPA",
        type=float,
        default=None,
        help="absolute ceiling on the working pressure level, kPa; 0 turns it off (default: "
        "300; live, demo and record use your saved ceiling for the tool)",
    )


def _config(args: argparse.Namespace) -> PipelineConfig:
    if args.area_cm2 is not None:
        area = custom_tool(args.area_cm2).area_cm2
    else:
        area = tool(args.tool or "thumb").area_cm2
    limit = DEFAULT_RAMP_LIMIT_KPA_S if args.ramp_limit is None else args.ramp_limit
    ceiling = DEFAULT_CEILING_KPA if args.ceiling_kpa is None else args.ceiling_kpa
    if ceiling < 0:
        raise ValueError(f"--ceiling-kpa must be >= 0, got {ceiling}")
    warnings = WarningConfig(
        caution_kpa_s=limit / 2,
        limit_kpa_s=limit,
        ceiling_kpa=ceiling or None,
    )
    return PipelineConfig(area_cm2=area, warnings=warnings)


def _given_thresholds(args: argparse.Namespace) -> tuple[str, ...]:
    """The WarningConfig fields the command line sets: they win over the saved ones."""
    keep: list[str] = []
    if args.ramp_limit is not None:
        keep += ["caution_kpa_s", "limit_kpa_s"]
    if args.ceiling_kpa is not None:
        keep.append("ceiling_kpa")
    return tuple(keep)


def _live_config(args: argparse.Namespace) -> tuple[PipelineConfig, str]:
    """Settings of a live command (demo, live, record): the options, with the person's
    saved thresholds for the tool where no option sets them; and a note to tell."""
    return apply_thresholds(_config(args), keep=_given_thresholds(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="palpate",
        description="Live pressure feedback for self-massage: reads a force pad, phone or "
        "wearable, shows pressure (kPa), names the stroke and warns when pressure ramps up "
        "too fast. Start gentle, deepen gradually, stop at sharp pain.",
    )
    parser.add_argument("--version", action="version", version=f"palpate {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = sub.add_parser(
        "demo",
        help="live view of the built-in simulated pad (no hardware needed)",
        description="Stream the built-in simulated pad through the live analysis and show "
        "pressure, ramp rate, warning level, stroke, sample rate and data age. Runs until "
        "Ctrl-C or for --seconds.",
    )
    live = sub.add_parser(
        "live",
        help="live view of a device",
        description="Stream a device through the live analysis and show it.",
    )
    live.add_argument(
        "--device",
        metavar="D",
        required=True,
        help="device to read: " + ", ".join(e.name for e in entries()),
    )
    for p in (demo, live):
        p.add_argument(
            "--seconds",
            metavar="N",
            type=_positive("--seconds"),
            help="stop after N seconds of data (default: run until Ctrl-C)",
        )
        p.add_argument(
            "--headless",
            action="store_true",
            help="use the terminal view even where a display exists",
        )
        _add_analysis_options(p)
    demo.add_argument(
        "--rate-hz",
        metavar="HZ",
        type=_positive("--rate-hz"),
        default=100.0,
        help="sample rate of the simulated pad, 50-1000 Hz (default: 100)",
    )
    demo.add_argument(
        "--channels",
        type=int,
        choices=(1, 4),
        default=1,
        help="force channels of the simulated pad: 1, or 4 at the corners (default: 1)",
    )
    demo.add_argument(
        "--seed", type=int, default=None, help="seed of the simulated session (default: random)"
    )

    an = sub.add_parser(
        "analyze",
        help="analyse a recording (CSV)",
        description="Analyse a recording: pressure, ramp warnings, stroke per 2 s window "
        "(every 0.25 s) and a summary. Reads palpate CSV (header 'time (s),force (N),...'; "
        "units N, kg, kPa, m/s^2, g), Tindeq Progressor app exports and phyphox exports.",
    )
    an.add_argument(
        "file", metavar="FILE", type=Path, help="the recording (.csv, or a .palpate session)"
    )
    _add_analysis_options(an)
    an.add_argument(
        "--allow-truncated",
        action="store_true",
        help="drop a last row cut off mid-row (a recording interrupted by a crash) instead of "
        "refusing the file",
    )
    an.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per line: window lines, warning lines, a summary line "
        "(times in seconds on the file's own clock)",
    )

    devices = sub.add_parser(
        "devices",
        help="list the device kinds palpate can read; --diagnostics for a bug report",
        description="List the sources palpate knows, by the name --device takes. With "
        "--diagnostics: versions, whether Bluetooth works, remembered devices and the last "
        "100 link events (connects, drops, reconnects, bad packets), for a bug report.",
    )
    devices.add_argument(
        "--diagnostics", action="store_true", help="show link diagnostics for a bug report"
    )
    devices.add_argument("--json", action="store_true", help="diagnostics as one JSON object")
    _add_bridge_commands(sub)
    add_session_commands(sub, _add_analysis_options, _positive)
    screenshot = add_screenshot_command(sub)
    _add_analysis_options(screenshot)
    return parser


def _add_bridge_commands(sub: Any) -> None:
    """``palpate scan`` (the device bridge's own command)."""
    scan = sub.add_parser(
        "scan",
        help="list nearby devices palpate can read, with signal strength",
        description="Listen for Bluetooth LE devices palpate can read (palpate pad, Tindeq "
        "Progressor, micro:bit, Nordic UART boards) and print what to pass to --device. "
        "Says clearly when Bluetooth is missing, off or not permitted.",
    )
    scan.add_argument(
        "--seconds", metavar="N", type=_positive("--seconds"), default=5.0,
        help="how long to listen (default: 5)",
    )  # fmt: skip
    scan.add_argument(
        "--virtual",
        action="store_true",
        help="scan a virtual radio with one of each virtual device (no Bluetooth needed)",
    )
    scan.add_argument("--json", action="store_true", help="one JSON object per device")


def _cmd_scan(args: argparse.Namespace) -> int:
    from firmware_bridge.scan import scan, virtual_neighbourhood

    async def run() -> list[Any]:
        if not args.virtual:
            return await scan(args.seconds)
        air, peers = await virtual_neighbourhood()
        try:
            return await scan(args.seconds, air=air)
        finally:
            for peer in peers:
                await peer.stop()

    if not args.json:
        print(f"listening for {args.seconds:g} s ...", flush=True)
    found = asyncio.run(run())
    if args.json:
        for f in found:
            print(json.dumps({"kind": f.kind, "name": f.name, "address": f.address,
                              "rssi_dbm": f.rssi, "device": f.spec}))  # fmt: skip
        return 0
    if not found:
        print(
            "no supported device found: wake the device (press its button or start "
            "streaming), bring it closer and scan again; phones: use phyphox:HOST"
        )
        return 0
    print(f"{'RSSI':>5}  {'device':<24} {'kind':<24} use")
    for f in found:
        print(f"{f.rssi:>5}  {f.name or '(no name)':<24} {f.label:<24} --device {f.spec}")
    return 0


def _cmd_diagnostics(args: argparse.Namespace) -> int:
    import time

    from firmware_bridge.diagnostics import diagnostics

    report = asyncio.run(diagnostics())
    if args.json:
        print(json.dumps(report))
        return 0
    v = report["versions"]
    print(
        f"palpate {v['palpate']} · Python {v['python']} · {v['platform']} · "
        f"bleak {v['bleak']} · bumble {v['bumble']}"
    )
    bt = report["bluetooth"]
    message = str(bt["message"]).removeprefix("Bluetooth unavailable: ")
    print("Bluetooth: " + ("available, " if bt["available"] else "NOT available: ") + message)
    print(f"recent devices ({report['config_dir']}):")
    for d in report["recent_devices"] or []:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(d["last_used_unix"]))
        print(f"  {d['kind']:<9} {d['address']:<20} {d['name']:<24} {when}")
    if not report["recent_devices"]:
        print("  none yet")
    events = report["link_events"]
    print(f"link events, last {len(events)} ({report['link_log']}):")
    for e in events:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.get("t_unix", 0)))
        print(
            f"  {stamp}  {e.get('source', ''):<8} {e.get('device', ''):<22} "
            f"{e.get('event', ''):<16} {e.get('detail', '')}"
        )
    if not events:
        print("  none yet")
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    config = _config(args)
    if is_session_file(args.file):  # a .palpate session: recorded settings unless overridden
        given = (args.tool, args.area_cm2, args.ramp_limit, args.ceiling_kpa)
        overridden = any(v is not None for v in given)
        return analyze_session_file(args, config if overridden else None)
    recording = read_csv(args.file, allow_truncated_tail=args.allow_truncated)
    result = analyze(recording.info, recording.frame, config)
    source = {
        "file": str(args.file),
        "format": recording.format,
        "device": recording.info.device,
        "area_cm2": config.area_cm2,
        "ramp_limit_kpa_s": config.warnings.limit_kpa_s,
    }
    if args.json:
        for line in json_lines(result, {"input": source}):
            print(line)
        return 0
    channels = ", ".join(f"{c.name} ({c.unit})" for c in recording.info.channels)
    header = [
        f"{args.file}  [{recording.format}: {recording.info.device}]",
        f"channels: {channels}",
        f"contact area {config.area_cm2:g} cm², too fast at {config.warnings.limit_kpa_s:g} "
        f"kPa/s, caution at {config.warnings.caution_kpa_s:g} kPa/s",
    ]
    header += [f"note: {n}" for n in recording.notes]
    print(text_report(result, header))
    return 0


def _cmd_live(
    args: argparse.Namespace, spec: str, options: dict[str, Any], config: PipelineConfig
) -> int:
    interactive = sys.stdout.isatty()
    view = TerminalView(sys.stdout, interactive=interactive)

    holder: dict[str, Pipeline] = {}

    def make_pipeline(info: StreamInfo) -> Pipeline:
        # kept here as soon as it exists, so Ctrl-C still prints the summary
        holder["pipeline"] = Pipeline(info, config)
        return holder["pipeline"]

    source = open_source(spec, **options)

    async def run() -> None:
        await run_live(
            source,
            make_pipeline,
            view,
            seconds=args.seconds,
            redraw_hz=10.0 if interactive else 1.0,
            calibrations=calibration_dir(),
        )

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        print("\nstopped")
    pipeline = holder.get("pipeline")
    if pipeline is not None:
        summary = pipeline.result()
        print(
            f"summary: {summary['duration_s']:.1f} s, peak {summary['peak_kpa']} kPa, "
            f"{summary['warnings']} too-fast warnings, strokes " + json.dumps(summary["stroke_s"])
        )
    return 0


def _source_options(args: argparse.Namespace, spec: str) -> dict[str, Any]:
    """Driver options for a live command; the simulated pad presses with the chosen tool."""
    if resolve(spec)[0].name != "sim":
        return {}
    return {
        "rate_hz": getattr(args, "rate_hz", 100.0),
        "channels": getattr(args, "channels", 1),
        "seed": getattr(args, "seed", None),
        "area_cm2": _config(args).area_cm2,
        "realtime": True,
        "block_s": 0.02,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "analyze":
            return _cmd_analyze(args)
        if args.command == "scan":
            return _cmd_scan(args)
        if args.command == "devices" and args.diagnostics:
            return _cmd_diagnostics(args)
        if args.command == "devices":
            for e in entries():
                print(f"{e.name:<12} {e.summary}")
            return 0
        if args.command in ("demo", "live"):
            spec = "sim" if args.command == "demo" else args.device
            options = _source_options(args, spec)  # an unknown device fails before Qt starts
            config, saved = _live_config(args)
            window, note = window_or_note(args.headless)
            if window:
                return run_live_window(
                    spec,
                    config,
                    lambda d: _source_options(args, d),
                    args.seconds,
                    note=saved,
                    given=_given_thresholds(args),
                )
            if note:
                print(f"note: {note}; showing the terminal view")
            if saved:
                print(f"note: {saved}")
            return _cmd_live(args, spec, options, config)
        if args.command == "replay" and not (args.headless or args.json):
            window, note = window_or_note(False)
            if window:
                return run_replay(args.file, args.speed, args.start_s, args.marker)
            print(f"note: {note}; showing the terminal view")
        if args.command == "screenshot":
            return run_screenshot(args, _config(args))
        if args.command == "record":
            config, saved = _live_config(args)
            if saved:
                print(f"note: {saved}")
            return run_session_command(args, lambda _args: config)
        if args.command in SESSION_COMMANDS:
            return run_session_command(args, _config)
    except (SessionError, BridgeError) as err:
        print(f"palpate: {err}", file=sys.stderr)
        return 1
    except FileNotFoundError as err:
        print(f"palpate: no such file: {err.filename}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"palpate: cannot read {err.filename}: {err.strerror}", file=sys.stderr)
        return 1
    except ValueError as err:
        print(f"palpate: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C before a command had its own way to stop
        print("\nstopped")
        return 0
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
