"""Join the summaries of consecutive parts of one session.

When the person changes the tool or the thresholds mid-session, the analysis restarts
with the new settings; the session summary is then the join of the parts' summaries
(:class:`analysis.summary.SummaryBuilder` results): times and counts add up, peaks take
the highest, the mean pressure is weighted by time in contact.

Examples
--------
>>> a = {"duration_s": 10.0, "samples": 1000, "peak_kpa": 50.0, "contact_s": 8.0,
...      "mean_kpa": 30.0, "stroke_s": {"hold": 8.0}, "notes": []}
>>> b = {"duration_s": 5.0, "samples": 500, "peak_kpa": 80.0, "contact_s": 2.0,
...      "mean_kpa": 60.0, "stroke_s": {"hold": 1.0}, "notes": ["x"]}
>>> m = merge_summaries([a, b])
>>> m["duration_s"], m["peak_kpa"], m["mean_kpa"], m["stroke_s"], m["notes"]
(15.0, 80.0, 36.0, {'hold': 9.0}, ['x'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = ["merge_summaries"]

_SUM: Final = frozenset(
    {
        "duration_s",
        "samples",
        "gaps",
        "contact_s",
        "pressure_time_integral_kpa_s",
        "caution_s",
        "warnings",
        "warning_s",
        "ceiling_crossings",
        "pulses_felt",
        "pain_marks",
    }
)
_MAX: Final = frozenset({"peak_kpa", "max_rate_kpa_s", "longest_hold_s"})
_SUM_BY_KEY: Final = frozenset({"stroke_s", "zone_s"})


def _add(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return round(a + b, 3) if isinstance(a, float) or isinstance(b, float) else a + b


def merge_summaries(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One summary for consecutive parts (oldest first); keys this module does not know
    are taken from the last part."""
    if not parts:
        raise ValueError("merge_summaries needs at least one summary")
    if len(parts) == 1:
        return dict(parts[0])
    out: dict[str, Any] = dict(parts[-1])
    for key in _SUM:
        if any(key in p for p in parts):
            total: Any = None
            for p in parts:
                total = _add(total, p.get(key))
            out[key] = total
    for key in _MAX:
        values = [p[key] for p in parts if p.get(key) is not None]
        if any(key in p for p in parts):
            out[key] = max(values) if values else None
    for key in _SUM_BY_KEY:
        dicts = [p[key] for p in parts if isinstance(p.get(key), Mapping)]
        if dicts:
            merged: dict[str, Any] = {}
            for d in dicts:
                for k, v in d.items():
                    merged[k] = _add(merged.get(k), v)
            out[key] = merged
    weighted = [
        (p["mean_kpa"], p["contact_s"])
        for p in parts
        if p.get("mean_kpa") is not None and p.get("contact_s")
    ]
    if weighted:
        contact = sum(w for _, w in weighted)
        out["mean_kpa"] = round(sum(m * w for m, w in weighted) / contact, 3)
    spans = [
        (p["rate_hz"], p["duration_s"]) for p in parts if p.get("rate_hz") and p.get("duration_s")
    ]
    if spans:
        out["rate_hz"] = round(sum(r * d for r, d in spans) / sum(d for _, d in spans), 3)
    notes: list[str] = []
    for p in parts:
        notes += [n for n in p.get("notes", []) if n not in notes]
    out["notes"] = notes
    return out
