"""History across sessions: what each one was, and consistency per day or week.

:func:`list_sessions` describes every session file in a folder (:class:`SessionEntry`:
date, duration, device, peak pressure, warnings); a damaged file is listed with what is
wrong instead of stopping the list. :func:`history` groups the entries per day or per
ISO week (:class:`Period`: session count, total time, time in each pressure zone,
warnings, pain marks and the personal ceiling learned from them), so a person sees how
regularly they practise and whether they stay gentle.

Examples
--------
>>> entries = [
...     SessionEntry(Path("a.palpate"), 1.7e9, 600.0, ("pad",), 80.0, 1, 0, 0, None,
...                  {"gentle": 100.0, "working": 200.0, "deep": 0.0}, False),
...     SessionEntry(Path("b.palpate"), 1.7e9 + 3600, 300.0, ("pad",), 120.0, 0, 1, 1, 96.0,
...                  {"gentle": 50.0, "working": 100.0, "deep": 10.0}, False),
... ]
>>> (day,) = history(entries, by="day", utc=True)
>>> day.sessions, day.total_s, day.warnings, day.personal_ceiling_kpa, day.zone_s["deep"]
(2, 900.0, 1, 96.0, 10.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from analysis.stream import EventKind
from analysis.summary import ZONES_KPA
from sessions.errors import SessionError
from sessions.store import SessionFile, session_files

__all__ = ["Period", "SessionEntry", "history", "list_sessions", "read_entry", "streak_days"]


@dataclass(frozen=True)
class SessionEntry:
    """One session in the list.

    Parameters
    ----------
    path : Path
    started_at_unix : float
        Wall-clock start (Unix seconds); NaN when unknown.
    duration_s : float
    devices : tuple of str
    peak_kpa : float or None
        Highest pressure of the main stream, kPa.
    warnings : int
        Too-fast ramp warnings.
    ceiling_crossings : int
    pain_marks : int
    personal_ceiling_kpa : float or None
        The lowest personal ceiling the session's pain marks set, kPa.
    zone_s : dict or None
        Seconds in contact per pressure zone (``gentle``, ``working``, ``deep``).
    interrupted : bool
        The recording did not end cleanly (it is kept up to the crash).
    problem : str
        Why the file could not be read (``""`` when it could); the other fields are empty.
    """

    path: Path
    started_at_unix: float
    duration_s: float
    devices: tuple[str, ...]
    peak_kpa: float | None
    warnings: int
    ceiling_crossings: int
    pain_marks: int
    personal_ceiling_kpa: float | None
    zone_s: dict[str, float] | None
    interrupted: bool
    problem: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "started_at_unix": None if math.isnan(self.started_at_unix) else self.started_at_unix,
            "duration_s": round(self.duration_s, 3),
            "devices": list(self.devices),
            "peak_kpa": self.peak_kpa,
            "warnings": self.warnings,
            "ceiling_crossings": self.ceiling_crossings,
            "pain_marks": self.pain_marks,
            "personal_ceiling_kpa": self.personal_ceiling_kpa,
            "zone_s": self.zone_s,
            "interrupted": self.interrupted,
            "problem": self.problem or None,
        }


def read_entry(path: Path) -> SessionEntry:
    """Describe one session file; an unreadable one gives an entry with ``problem`` set."""
    try:
        with SessionFile.open(path) as f:
            summary = f.summary or {}
            pains = [r.event for r in f.events([EventKind.PAIN])]
            ceilings = [
                float(e.data["personal_ceiling_kpa"])
                for e in pains
                if e.data.get("personal_ceiling_kpa") is not None
            ]
            return SessionEntry(
                path=path,
                started_at_unix=f.started_at_unix,
                duration_s=f.duration_s,
                devices=tuple(dict.fromkeys(s.info.device for s in f.streams)),
                peak_kpa=summary.get("peak_kpa"),
                warnings=int(summary.get("warnings", 0)),
                ceiling_crossings=int(summary.get("ceiling_crossings", 0)),
                pain_marks=len(pains),
                personal_ceiling_kpa=min(ceilings) if ceilings else None,
                zone_s=summary.get("zone_s"),
                interrupted=f.interrupted,
            )
    except (SessionError, OSError) as err:
        return SessionEntry(path, math.nan, 0.0, (), None, 0, 0, 0, None, None, False, str(err))


def list_sessions(folder: Path | None = None) -> list[SessionEntry]:
    """Every session in ``folder`` (default: the sessions folder), oldest first."""
    entries = [read_entry(p) for p in session_files(folder)]
    return sorted(entries, key=lambda e: (math.isnan(e.started_at_unix), e.started_at_unix))


@dataclass
class Period:
    """Totals of the sessions in one day or ISO week (``start`` is its first day)."""

    start: date
    label: str
    sessions: int = 0
    total_s: float = 0.0
    zone_s: dict[str, float] = field(default_factory=lambda: {name: 0.0 for name, _ in ZONES_KPA})
    warnings: int = 0
    ceiling_crossings: int = 0
    pain_marks: int = 0
    peak_kpa: float | None = None
    personal_ceiling_kpa: float | None = None
    days: set[date] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.label,
            "start": self.start.isoformat(),
            "sessions": self.sessions,
            "days_with_sessions": len(self.days),
            "total_s": round(self.total_s, 3),
            "zone_s": {k: round(v, 3) for k, v in self.zone_s.items()},
            "warnings": self.warnings,
            "ceiling_crossings": self.ceiling_crossings,
            "pain_marks": self.pain_marks,
            "peak_kpa": self.peak_kpa,
            "personal_ceiling_kpa": self.personal_ceiling_kpa,
        }


def _day(t: float, utc: bool) -> date:
    moment = datetime.fromtimestamp(t, UTC) if utc else datetime.fromtimestamp(t)
    return moment.date()


def history(
    entries: Iterable[SessionEntry], by: Literal["day", "week"] = "week", *, utc: bool = False
) -> list[Period]:
    """Group readable sessions per local day or ISO week (Monday first), oldest first.

    Every day or week from the first to the last session is listed, empty ones too, so
    gaps in practice show. ``utc=True`` groups by UTC dates instead of local ones.
    """
    if by not in ("day", "week"):
        raise ValueError(f"history groups by 'day' or 'week', not {by!r}")
    usable = [e for e in entries if not e.problem and math.isfinite(e.started_at_unix)]
    if not usable:
        return []
    step = timedelta(days=1 if by == "day" else 7)

    def start_of(d: date) -> date:
        return d if by == "day" else d - timedelta(days=d.weekday())

    days = [_day(e.started_at_unix, utc) for e in usable]
    first, last = start_of(min(days)), start_of(max(days))
    periods: dict[date, Period] = {}
    d = first
    while d <= last:
        iso = d.isocalendar()
        label = d.isoformat() if by == "day" else f"{iso.year}-W{iso.week:02d}"
        periods[d] = Period(d, label)
        d += step
    for e, day in zip(usable, days, strict=True):
        p = periods[start_of(day)]
        p.sessions += 1
        p.days.add(day)
        p.total_s += e.duration_s
        for zone, seconds in (e.zone_s or {}).items():
            p.zone_s[zone] = p.zone_s.get(zone, 0.0) + float(seconds)
        p.warnings += e.warnings
        p.ceiling_crossings += e.ceiling_crossings
        p.pain_marks += e.pain_marks
        p.peak_kpa = _max(p.peak_kpa, e.peak_kpa)
        p.personal_ceiling_kpa = _min(p.personal_ceiling_kpa, e.personal_ceiling_kpa)
    return list(periods.values())


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def streak_days(entries: Sequence[SessionEntry], today: date, *, utc: bool = False) -> int:
    """Consecutive days up to ``today`` (or yesterday) with at least one session."""
    days = {_day(e.started_at_unix, utc) for e in entries if math.isfinite(e.started_at_unix)}
    d = today if today in days else today - timedelta(days=1)
    n = 0
    while d in days:
        n += 1
        d -= timedelta(days=1)
    return n
