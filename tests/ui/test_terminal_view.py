"""The terminal view: what it prints for each state, and a live run on the simulator."""

from __future__ import annotations

import asyncio
import io

import numpy as np

from analysis.pipeline import Pipeline, PipelineConfig
from analysis.stream import Event, EventKind, StreamInfo
from analysis.warning_level import Level
from firmware_bridge import open_source
from ui.terminal_view import LiveState, TerminalView, format_event, format_status, run_live


def _state(**kw: object) -> LiveState:
    s = LiveState(
        device="pad",
        pressure_kpa=64.2,
        rate_kpa_s=12.3,
        stroke="kneading",
        confidence=0.93,
        peak_kpa=88.0,
        rate_hz=100.0,
        age_s=0.012,
    )
    for k, v in kw.items():
        setattr(s, k, v)
    return s


def test_plain_line_has_every_figure() -> None:
    line = format_status(_state(), color=False, lines=False)
    for needle in (
        "pressure=64.2 kPa",
        "rate=+12.3 kPa/s",
        "level=ok",
        "stroke=kneading 0.93",
        "rate_hz=100 Hz",
        "age=12 ms",
    ):
        assert needle in line


def test_too_fast_shows_a_red_banner() -> None:
    block = format_status(_state(level=Level.TOO_FAST, rate_kpa_s=72.0), color=True, lines=True)
    assert "SLOW DOWN: +72 kPa/s" in block and "\x1b[41" in block
    calm = format_status(_state(), color=True, lines=True)
    assert "SLOW DOWN" not in calm


def test_never_shows_a_rate_the_sensor_cannot_support() -> None:
    slow = format_status(_state(rate_hz=8.0), color=False, lines=False)
    assert "too slow to judge" in slow and "+12.3" not in slow and "level=unknown" in slow
    stale = format_status(_state(age_s=2.0), color=False, lines=False)
    assert "stale" in stale and "level=unknown" in stale


def test_events_are_told_in_words() -> None:
    warn = Event(3.0, EventKind.WARNING, {"level": "too fast", "rate_kpa_s": 61.0})
    assert format_event(warn) == "    3.00s ramp too fast at +61 kPa/s"
    ceiling = Event(
        4.0,
        EventKind.CEILING,
        {"on": True, "ceiling_kpa": 300.0, "which": "absolute", "level_kpa": 301.0},
    )
    assert "above the absolute ceiling of 300 kPa" in (format_event(ceiling) or "")
    assert format_event(Event(1.0, EventKind.MARKER, {"label": "x"})) is None


def test_live_run_on_the_simulator_prints_updates_and_warnings() -> None:
    out = io.StringIO()
    view = TerminalView(out, interactive=False)
    source = open_source("sim", realtime=False, duration_s=40.0, seed=11, rate_hz=200.0)

    def make(info: StreamInfo) -> Pipeline:
        return Pipeline(info, PipelineConfig())

    pipeline = asyncio.run(run_live(source, make, view, seconds=None, redraw_hz=50.0))
    text = out.getvalue()
    assert "t=" in text and "pressure=" in text
    summary = pipeline.result()
    assert summary["duration_s"] == np.float64(40.0)
    told = [line for line in text.splitlines() if line.startswith("event ")]
    assert len(told) >= summary["warnings"]


def test_interactive_view_redraws_in_place() -> None:
    out = io.StringIO()
    view = TerminalView(out, interactive=True)
    view.draw(_state())
    view.draw(_state(pressure_kpa=70.0))
    text = out.getvalue()
    assert "\x1b[5F" in text  # second draw moves up over the 5-line block


def test_pulse_gets_its_own_calm_banner() -> None:
    block = format_status(_state(pulse_bpm=72.0), color=False, lines=True)
    assert "Pulse under your hand (72 bpm): move a little off it" in block
    assert "pulse=72bpm" in format_status(_state(pulse_bpm=72.0), color=False, lines=False)
