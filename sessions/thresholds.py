"""Personal warning thresholds, per tool, remembered between sessions.

Pain thresholds differ between people, so the ramp thresholds (caution, too fast) and the
ceilings (absolute, personal) are personal settings. They are kept in one JSON file,
``<config dir>/thresholds.json``, with one entry per tool: a built-in tool by its name
(``thumb``, ``knuckle``...), any other contact area as ``custom <area> cm²``::

    {"version": 1,
     "tools": {"thumb": {"area_cm2": 2.0, "caution_kpa_s": 20.0, "limit_kpa_s": 40.0,
                         "ceiling_kpa": 300.0, "personal_ceiling_kpa": 96.0}}}

The live commands apply them (:func:`apply_thresholds`); the live window saves them when
the person accepts the thresholds dialog or marks pain (:func:`save_thresholds`).
``palpate analyze`` never reads them, so an analysis stays reproducible.

A damaged file is never fatal: reading it gives the defaults and a one-line note; saving
over it first moves it aside (``thresholds.json.damaged``) so nothing is lost silently.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from analysis.pipeline import PipelineConfig
>>> from analysis.warning_level import WarningConfig
>>> path = Path(tempfile.mkdtemp()) / "thresholds.json"
>>> tool_key(2.0), tool_key(5.0)
('thumb', 'custom 5 cm²')
>>> save_thresholds(2.0, WarningConfig(caution_kpa_s=20, limit_kpa_s=40), path)
''
>>> load_thresholds(2.0, path).limit_kpa_s, load_thresholds(5.0, path)
(40.0, None)
>>> config, note = apply_thresholds(PipelineConfig(area_cm2=2.0), path)
>>> config.warnings.limit_kpa_s, note.startswith("your saved thresholds for thumb")
(40.0, True)
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from analysis.pipeline import PipelineConfig
from analysis.tools import TOOLS
from analysis.warning_level import WarningConfig
from firmware_bridge.userdirs import config_dir
from sessions.errors import SessionError
from sessions.files import write_atomic

__all__ = [
    "SAVED_FIELDS",
    "THRESHOLDS_VERSION",
    "ThresholdsFileError",
    "apply_thresholds",
    "describe",
    "load_thresholds",
    "save_thresholds",
    "thresholds_path",
    "tool_key",
]

THRESHOLDS_VERSION: Final = 1
"""Version of the file format this palpate reads and writes."""

SAVED_FIELDS: Final = ("caution_kpa_s", "limit_kpa_s", "ceiling_kpa", "personal_ceiling_kpa")
"""The :class:`~analysis.warning_level.WarningConfig` fields kept per tool."""

_OPTIONAL: Final = frozenset({"ceiling_kpa", "personal_ceiling_kpa"})  # may be null (off/none)


class ThresholdsFileError(SessionError):
    """The thresholds file exists but cannot be read or does not hold thresholds.

    Parameters
    ----------
    path : Path
        The file.
    reason : str
        What is wrong with it.
    """

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"thresholds file {path} is damaged ({reason})")


def thresholds_path() -> Path:
    """Where the personal thresholds are kept: ``<config dir>/thresholds.json``."""
    return config_dir() / "thresholds.json"


def tool_key(area_cm2: float) -> str:
    """The name thresholds are kept under: a built-in tool's name when the contact area is
    that tool's, else ``custom <area> cm²``."""
    for t in TOOLS.values():
        if math.isclose(area_cm2, t.area_cm2, rel_tol=1e-9, abs_tol=1e-9):
            return t.name
    return f"custom {area_cm2:g} cm²"


def _check_entry(key: str, entry: Any) -> WarningConfig:
    """One tool's saved thresholds as a WarningConfig on the defaults (ValueError if bad)."""
    if not isinstance(entry, Mapping):
        raise ValueError(f"{key!r} is not an object")
    values: dict[str, float | None] = {}
    for name in SAVED_FIELDS:
        if name not in entry:
            raise ValueError(f"{key!r} has no {name}")
        value = entry[name]
        if value is None and name in _OPTIONAL:
            values[name] = None
        elif isinstance(value, int | float) and not isinstance(value, bool):
            values[name] = float(value)
        else:
            raise ValueError(f"{key!r}: {name} must be a number, not {value!r}")
    try:
        return replace(WarningConfig(), **values)
    except ValueError as err:
        raise ValueError(f"{key!r}: {err}") from None


def _read(path: Path) -> dict[str, Any]:
    """The tools of the file (``{}`` when there is none); ThresholdsFileError when damaged."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ThresholdsFileError(path, f"cannot be read: {reason}") from err
    try:
        data = json.loads(text)
    except ValueError as err:
        raise ThresholdsFileError(path, f"not JSON: {err}") from err
    if not isinstance(data, dict):
        raise ThresholdsFileError(path, "not a JSON object")
    version = data.get("version")
    if version != THRESHOLDS_VERSION:
        raise ThresholdsFileError(
            path, f"version {version!r}, this palpate reads version {THRESHOLDS_VERSION}"
        )
    tools = data.get("tools")
    if not isinstance(tools, dict):
        raise ThresholdsFileError(path, "no 'tools' object")
    for key, entry in tools.items():
        try:
            _check_entry(key, entry)
        except ValueError as err:
            raise ThresholdsFileError(path, str(err)) from err
    return tools


def load_thresholds(area_cm2: float, path: Path | None = None) -> WarningConfig | None:
    """The person's saved thresholds for the tool of ``area_cm2`` cm², or ``None``.

    Returns
    -------
    WarningConfig or None
        The saved fields (:data:`SAVED_FIELDS`) on the defaults of the others.

    Raises
    ------
    ThresholdsFileError
        The file exists but is damaged or unreadable; its message names the file.
    """
    path = path or thresholds_path()
    key = tool_key(area_cm2)
    entry = _read(path).get(key)
    return None if entry is None else _check_entry(key, entry)


def _move_aside(path: Path) -> Path:
    """Rename a damaged file to ``<name>.damaged`` (``.damaged-2``... if taken)."""
    n = 1
    while True:
        target = path.with_name(path.name + (".damaged" if n == 1 else f".damaged-{n}"))
        if not target.exists():
            os.replace(path, target)
            return target
        n += 1


def _float_or_none(value: float | None) -> float | None:
    return None if value is None else float(value)


def save_thresholds(
    area_cm2: float,
    warnings: WarningConfig,
    path: Path | None = None,
    fields: Collection[str] = SAVED_FIELDS,
) -> str:
    """Save the thresholds of the tool of ``area_cm2`` cm² (the file replaced atomically).

    Parameters
    ----------
    area_cm2 : float
        Contact area of the tool, cm².
    warnings : WarningConfig
        The thresholds in force.
    path : Path, optional
        The file (default: :func:`thresholds_path`).
    fields : collection of str
        Which of :data:`SAVED_FIELDS` to write; a tool saved before keeps its other fields
        (a pain mark saves only ``personal_ceiling_kpa``), a new one takes them from
        ``warnings``.

    Returns
    -------
    str
        ``""``, or a note for the person when a damaged file was moved aside first.

    Raises
    ------
    OSError
        The file cannot be written.
    """
    unknown = set(fields) - set(SAVED_FIELDS)
    if unknown:
        raise ValueError(f"not saved per tool: {', '.join(sorted(unknown))}")
    path = path or thresholds_path()
    note = ""
    try:
        tools = _read(path)
    except ThresholdsFileError as err:
        moved = _move_aside(path)
        note = f"{err}: moved it to {moved} and saved your thresholds in a new one"
        tools = {}
    key = tool_key(area_cm2)
    given = {name: _float_or_none(getattr(warnings, name)) for name in SAVED_FIELDS}
    entry = dict(tools.get(key) or given)
    entry.update({name: given[name] for name in fields})
    entry.update(area_cm2=float(area_cm2), saved_unix=round(time.time(), 3))
    tools[key] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"version": THRESHOLDS_VERSION, "tools": tools}, indent=2, sort_keys=True)
    write_atomic(path, [text, "\n"])
    return note


def describe(warnings: WarningConfig) -> str:
    """The thresholds in a few words: caution, too fast, ceiling, personal ceiling."""
    ceiling = "off" if warnings.ceiling_kpa is None else f"{warnings.ceiling_kpa:g} kPa"
    personal = warnings.personal_ceiling_kpa
    return (
        f"caution {warnings.caution_kpa_s:g} kPa/s, too fast {warnings.limit_kpa_s:g} kPa/s, "
        f"ceiling {ceiling}, personal ceiling "
        + ("none" if personal is None else f"{personal:.0f} kPa")
    )


def apply_thresholds(
    config: PipelineConfig,
    path: Path | None = None,
    keep: Collection[str] = (),
    fallback: str = "the defaults",
) -> tuple[PipelineConfig, str]:
    """``config`` with the person's saved thresholds for its tool, and a note to tell.

    Parameters
    ----------
    config : PipelineConfig
        The settings built from the command line.
    path : Path, optional
        The file (default: :func:`thresholds_path`).
    keep : collection of str
        Fields of ``config.warnings`` set explicitly (command-line options): they win
        over the saved ones.
    fallback : str
        What is used instead of a damaged file, for the note.

    Returns
    -------
    config : PipelineConfig
        Unchanged when nothing is saved for the tool or the file is damaged.
    note : str
        ``""`` when nothing is saved for the tool; else that the saved thresholds are in
        use, or that the file is damaged and the defaults are used (one line each).
    """
    path = path or thresholds_path()
    try:
        saved = load_thresholds(config.area_cm2, path)
    except ThresholdsFileError as err:
        return config, f"{err}: using {fallback}; fix or delete it"
    if saved is None:
        return config, ""
    values = {name: getattr(saved, name) for name in SAVED_FIELDS if name not in keep}
    try:
        warnings = replace(config.warnings, **values)
    except ValueError as err:  # e.g. a saved caution above a --ramp-limit given
        return config, f"your saved thresholds do not fit the options given ({err}): not used"
    key = tool_key(config.area_cm2)
    note = f"your saved thresholds for {key} in use: {describe(warnings)}"
    if keep:
        note += " (options given on the command line win)"
    return replace(config, warnings=warnings), note
