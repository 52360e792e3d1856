"""The windowed side of the CLI: ``demo``/``live`` in a Qt window, ``replay``, ``screenshot``.

Kept apart from :mod:`ui.cli` so the terminal commands never import Qt: this module
imports it only inside the functions that open a window.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analysis.pipeline import PipelineConfig

__all__ = [
    "add_screenshot_command",
    "run_live_window",
    "run_replay",
    "run_screenshot",
    "window_or_note",
]


def window_or_note(headless: bool) -> tuple[bool, str]:
    """Whether a Qt window can open, and if not, why (one line; "" for ``--headless``)."""
    if headless:
        return False, ""
    from ui.gui import display_problem

    problem = display_problem()
    return not problem, problem


def _quiet_qt() -> None:
    """Route Qt's messages to stderr, minus the offscreen plugin's size-hint notice."""
    from PySide6 import QtCore

    def handler(mode: Any, context: Any, message: str) -> None:
        if "propagateSizeHints" in message:
            return
        print(f"qt: {message}", file=sys.stderr)

    QtCore.qInstallMessageHandler(handler)


def run_live_window(
    spec: str,
    config: PipelineConfig,
    source_options: Callable[[str], dict[str, Any]],
    seconds: float | None,
    note: str = "",
    given: tuple[str, ...] = (),
) -> int:
    """Open the live window on device ``spec`` until it is closed (or ``seconds`` of data).

    ``note`` is told in the window's status row first (the saved thresholds in use); the
    window saves the person's thresholds for the tool as they change them. ``given``: the
    threshold fields set on the command line, which win over saved ones on a tool change.
    """
    from firmware_bridge import open_source
    from sessions.calibrations import calibration_dir
    from sessions.live import LiveSession
    from sessions.thresholds import thresholds_path

    def make_session(device: str, cfg: PipelineConfig) -> LiveSession:
        source = open_source(device, **source_options(device))
        return LiveSession(source, cfg, calibrations=calibration_dir())

    session = make_session(spec, config)  # an unknown device fails here, before any window
    from ui.gui import qt_app, run_window
    from ui.live_window import LiveWindow

    _quiet_qt()
    qt_app()
    window = LiveWindow(
        session,
        device=spec,
        make_session=make_session,
        seconds=seconds,
        thresholds=thresholds_path(),
        given_thresholds=given,
    )
    if note:
        window.tell(note, 10.0)
    run_window(window)
    summary = window.session.summary()
    if summary:
        print(
            f"summary: {summary.get('duration_s', 0):.1f} s, peak {summary.get('peak_kpa')} kPa, "
            f"{summary.get('warnings', 0)} too-fast warnings"
        )
    return 0


def run_replay(path: Path, speed: float, start_s: float | None, marker: str | None) -> int:
    """Open the replay window on ``path`` (``palpate replay FILE`` where a display exists).

    ``speed`` 0.25-16 (``inf``, "max", plays at 16x); ``start_s`` or the marker labelled
    ``marker`` sets where the cursor starts.
    """
    from sessions.replay import ReplaySource

    # a missing or damaged file, or a speed out of range, fails here, before any window
    replay = ReplaySource(path, speed=speed)
    start = start_s
    if marker is not None:
        start = replay.seek_marker(marker).t
    from ui.gui import qt_app, run_window
    from ui.replay_window import ReplayWindow

    _quiet_qt()
    qt_app()
    window = ReplayWindow(path, speed=min(speed, 16.0), start_s=start)
    return run_window(window)


def add_screenshot_command(sub: Any) -> argparse.ArgumentParser:
    """The ``screenshot`` sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "screenshot",
        help="render a window offscreen after simulated data, as PNG",
        description="Feed the live (or replay) window SECONDS of simulated data as fast as "
        "possible, draw it frame by frame offscreen and save it as PNG. Used by the tests and "
        "for the README screenshots.",
    )
    p.add_argument("--device", default="sim", help="only sim: the built-in simulated pad")
    p.add_argument("--seconds", type=float, default=20.0, help="seconds of data (default: 20)")
    p.add_argument("--out", type=Path, required=True, help="PNG file to write")
    p.add_argument("--window", choices=("live", "replay", "partner"), default="live")
    p.add_argument("--channels", type=int, choices=(1, 4), default=1)
    p.add_argument("--rate-hz", type=float, default=100.0)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--theme", choices=("dark", "light"), default="dark")
    p.add_argument("--size", default="1400x860", help="window size WxH in pixels")
    return p


def run_screenshot(args: argparse.Namespace, config: PipelineConfig | None = None) -> int:
    """Render the chosen window offscreen and save it."""
    if args.device != "sim":
        raise ValueError("screenshot renders the built-in simulator only: use --device sim")
    if not 1 <= args.seconds <= 3600:
        raise ValueError(f"--seconds must be 1-3600, got {args.seconds:g}")
    if args.out.suffix.lower() != ".png":
        raise ValueError(f"--out must be a .png file, got {args.out}")
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size must look like 1400x860, got {args.size!r}") from None
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ui import gui

    _quiet_qt()
    gui.qt_app()
    common = {
        "config": config,
        "rate_hz": args.rate_hz,
        "channels": args.channels,
        "seed": args.seed,
        "size": (w, h),
        "theme_name": args.theme,
    }
    try:
        if args.window == "replay":
            gui.render_replay_screenshot(args.out, args.seconds, **common)
        else:
            gui.render_live_screenshot(
                args.out, args.seconds, partner=args.window == "partner", **common
            )
    except RuntimeError as err:
        print(f"palpate: screenshot failed: {err}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}")
    return 0
