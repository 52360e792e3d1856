"""What ``palpate analyze`` prints: the JSON-lines contract and a readable report.

The JSON lines (one object per line, times on the input's own clock) are an
outside contract (see CONTRACTS.md): ``window`` lines, then ``warning`` lines,
then one ``summary`` line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from analysis.pipeline import Analysis
from analysis.strokes import STROKES, StrokeLabel
from analysis.warning_level import Episode
from sessions.store import json_finite

__all__ = ["json_lines", "stroke_segments", "text_report"]


def _t(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def _line(obj: dict[str, Any]) -> str:
    """One line of strict JSON (a value that is not a number is ``null``)."""
    return json.dumps(json_finite(obj), allow_nan=False)


def json_lines(analysis: Analysis, extra_summary: dict[str, Any] | None = None) -> Iterator[str]:
    """The ``analyze --json`` lines, each a JSON object without a newline."""
    for w in analysis.windows:
        yield _line(
            {
                "type": "window",
                "start": _t(w.start),
                "end": _t(w.end),
                "stroke": w.stroke,
                "confidence": round(w.confidence, 3),
            }
        )
    for e in sorted(analysis.episodes, key=lambda e: e.start):
        yield _line(_warning_obj(e))
    summary = {"type": "summary", **analysis.summary, **(extra_summary or {})}
    yield _line(summary)


def _warning_obj(e: Episode) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "warning",
        "kind": e.kind,
        "start": _t(e.start),
        "end": _t(e.end),
    }
    if e.kind == "ramp":
        obj["peak_rate_kpa_s"] = round(e.peak, 1)
    else:
        obj["peak_kpa"] = round(e.peak, 1)
    return obj


def stroke_segments(windows: list[StrokeLabel]) -> list[tuple[float, float, str, float]]:
    """Merge consecutive windows of one stroke into ``(start, end, stroke, mean confidence)``.

    A segment runs from the centre of its first window to the centre of the
    window after its last, so segments tile the recording without overlap.
    """
    segments: list[tuple[float, float, str, float]] = []
    run: list[StrokeLabel] = []

    def centre(w: StrokeLabel) -> float:
        return (w.start + w.end) / 2

    def close(end: float) -> None:
        conf = sum(w.confidence for w in run) / len(run)
        segments.append((centre(run[0]), end, run[0].stroke, conf))

    for w in windows:
        if run and w.stroke != run[-1].stroke:
            close(centre(w))
            run = []
        run.append(w)
    if run:
        close(run[-1].end)
    return segments


def text_report(analysis: Analysis, header: list[str]) -> str:
    """A readable report: header lines, the stroke timeline, warnings and the summary."""
    s = analysis.summary
    out = list(header)
    out.append("")
    out.append("strokes")
    segments = stroke_segments(analysis.windows)
    if not segments:
        out.append("  (recording shorter than one analysis window)")
    for start, end, stroke, conf in segments:
        out.append(f"  {start:9.2f} - {end:9.2f} s  {stroke:<9} confidence {conf:.2f}")
    out.append("")
    out.append("warnings")
    if not analysis.episodes:
        out.append("  none")
    for e in sorted(analysis.episodes, key=lambda e: e.start):
        end = f"{e.end:9.2f}" if e.end is not None else "  (open)"
        what = (
            f"ramp too fast, peak {e.peak:+.0f} kPa/s"
            if e.kind == "ramp"
            else f"above the ceiling, peak {e.peak:.0f} kPa"
        )
        out.append(f"  {e.start:9.2f} - {end} s  {what}")
    out.append("")
    out.append("summary")

    def fig(value: Any, unit: str, fmt: str = ".1f") -> str:
        return "n/a" if value is None else f"{value:{fmt}} {unit}"

    out.append(
        f"  duration        {fig(s['duration_s'], 's')} ({s['samples']} samples, "
        f"{fig(s['rate_hz'], 'Hz')})"
    )
    times = ", ".join(f"{k} {s['stroke_s'][k]:.1f} s" for k in STROKES)
    out.append(f"  time per stroke {times}")
    out.append(
        f"  pressure        peak {fig(s['peak_kpa'], 'kPa')}, mean in contact "
        f"{fig(s['mean_kpa'], 'kPa')}, contact {fig(s['contact_s'], 's')}"
    )
    if s["zone_s"] is not None:
        zones = ", ".join(f"{k} {v:.1f} s" for k, v in s["zone_s"].items())
        out.append(f"  time in zones   {zones}")
    out.append(f"  longest hold    {fig(s['longest_hold_s'], 's')}")
    out.append(
        f"  ramp rate       max {fig(s['max_rate_kpa_s'], 'kPa/s')}, "
        f"{fig(s['caution_s'], 's')} at caution"
    )
    out.append(
        f"  warnings        {s['warnings']} too fast ({fig(s['warning_s'], 's')}), "
        f"{s['ceiling_crossings']} above the ceiling"
    )
    if s["gaps"]:
        out.append(f"  gaps            {s['gaps']}")
    for note in s["notes"]:
        out.append(f"  note: {note}")
    return "\n".join(out)
