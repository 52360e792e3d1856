"""Colours and type of the windows: one accent per state, dark by default, light for daylight.

The person glances from a metre or two away, so colour carries the state and text
confirms it (see ``shared/UI.md``). Everything visual that more than one widget uses
lives here, so a window never hard-codes a colour.

Examples
--------
>>> theme("dark").state_colour("too_fast")
'#ff3b30'
>>> theme("light").background != theme("dark").background
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from analysis.strokes import STROKES

__all__ = ["DARK", "LIGHT", "STROKE_COLOURS", "THEMES", "ZONES", "Theme", "theme"]

STROKE_COLOURS: Final = MappingProxyType(
    {"rest": "#4b5563", "hold": "#4f8cff", "circular": "#f2c94c", "kneading": "#2ecc71"}
)
"""One colour per stroke type, the same in both themes (ribbon and stroke name)."""

assert set(STROKE_COLOURS) == set(STROKES), "a stroke without a colour"

ZONES: Final = (("gentle", 0.0, 50.0), ("working", 50.0, 150.0), ("deep", 150.0, 1e4))
"""Pressure zones (name, from kPa, to kPa), as in :data:`analysis.summary.ZONES_KPA`."""


@dataclass(frozen=True, slots=True)
class Theme:
    """The colours of one theme (hex strings ``#rrggbb``; zone bands get their alpha here)."""

    name: str
    background: str
    panel: str
    text: str
    dim: str
    grid: str
    curve: str
    level: str
    ceiling: str
    zone_colours: tuple[str, str, str]
    zone_alpha: int
    states: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def state_colour(self, state: str) -> str:
        """Accent colour of a display state (``calm``, ``caution``, ``too_fast``, ...)."""
        return self.states.get(state, self.text)


_STATES_DARK = MappingProxyType(
    {
        "calm": "#2ec4b6",
        "caution": "#ffb020",
        "too_fast": "#ff3b30",
        "ceiling": "#ff3b30",
        "pain": "#ff7a59",
        "pulse": "#8f9bff",
        "grey": "#6b7280",
    }
)

DARK: Final = Theme(
    name="dark",
    background="#0f1318",
    panel="#161b22",
    text="#e6edf3",
    dim="#7d8590",
    grid="#2a3038",
    curve="#2ec4b6",
    level="#c9d1d9",
    ceiling="#ff7a59",
    zone_colours=("#2ec4b6", "#4f8cff", "#b36bff"),
    zone_alpha=22,
    states=_STATES_DARK,
)

LIGHT: Final = Theme(
    name="light",
    background="#f6f6f3",
    panel="#ffffff",
    text="#111418",
    dim="#5b6470",
    grid="#d4d7dc",
    curve="#0b7f75",
    level="#30363d",
    ceiling="#c2410c",
    zone_colours=("#0b7f75", "#1d4ed8", "#7e22ce"),
    zone_alpha=26,
    states=MappingProxyType(
        {
            "calm": "#0b7f75",
            "caution": "#b45309",
            "too_fast": "#d70015",
            "ceiling": "#d70015",
            "pain": "#c2410c",
            "pulse": "#4050c8",
            "grey": "#8b929c",
        }
    ),
)

THEMES: Final = MappingProxyType({"dark": DARK, "light": LIGHT})


def theme(name: str) -> Theme:
    """The theme called ``name`` (``dark`` or ``light``)."""
    try:
        return THEMES[name]
    except KeyError:
        raise ValueError(f"unknown theme {name!r}; choose dark or light") from None
