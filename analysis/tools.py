"""Tool profiles: what presses on the tissue, and the contact area that turns force into pressure.

Pressure in kPa is force in newtons over contact area in cm², times 10
(1 N on 1 cm² is 10 kPa). The areas below are typical adult contact areas at a
working pressure (the contact patch grows as the tool sinks into soft tissue);
they are defaults, not measurements of one person: a custom area overrides them.

=============  ========  ================================================
name           area_cm2  what
=============  ========  ================================================
thumb          2.0       pad of one thumb, the usual self-massage tool
fingertips     4.0       tips of two or three fingers side by side
knuckle        3.0       proximal knuckle of a flexed finger
elbow          6.0       olecranon / proximal forearm of a partner
palm           25.0      heel of the hand
massage_ball   8.0       lacrosse-size ball sunk into soft tissue
probe          1.0       1 cm² algometer probe (the pain-threshold standard)
=============  ========  ================================================

Examples
--------
>>> tool("thumb").area_cm2
2.0
>>> pressure_kpa_per_newton(2.0)
5.0
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = ["TOOLS", "Tool", "custom_tool", "pressure_kpa_per_newton", "tool"]


@dataclass(frozen=True, slots=True)
class Tool:
    """A massage tool with its contact area in cm²."""

    name: str
    area_cm2: float
    description: str = ""

    def __post_init__(self) -> None:
        if not (self.area_cm2 > 0 and self.area_cm2 < 1e4):
            raise ValueError(
                f"tool {self.name!r}: contact area must be a positive number of cm² "
                f"(below 10000), got {self.area_cm2!r}"
            )


TOOLS: Final = MappingProxyType(
    {
        t.name: t
        for t in (
            Tool("thumb", 2.0, "pad of one thumb"),
            Tool("fingertips", 4.0, "tips of two or three fingers"),
            Tool("knuckle", 3.0, "proximal knuckle of a flexed finger"),
            Tool("elbow", 6.0, "a partner's elbow or proximal forearm"),
            Tool("palm", 25.0, "heel of the hand"),
            Tool("massage_ball", 8.0, "lacrosse-size ball sunk into soft tissue"),
            Tool("probe", 1.0, "1 cm² algometer probe"),
        )
    }
)
"""The built-in tool profiles by name."""


def tool(name: str) -> Tool:
    """The built-in tool called ``name`` (``-`` and ``_`` are interchangeable)."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return TOOLS[key]
    except KeyError:
        raise ValueError(f"unknown tool {name!r}; choose one of {', '.join(TOOLS)}") from None


def custom_tool(area_cm2: float) -> Tool:
    """A tool defined only by its contact area in cm²."""
    return Tool("custom", float(area_cm2), f"custom contact area {area_cm2:g} cm²")


def pressure_kpa_per_newton(area_cm2: float) -> float:
    """Factor from force (N) to pressure (kPa) on ``area_cm2`` of contact."""
    if not area_cm2 > 0:
        raise ValueError(f"contact area must be positive, got {area_cm2!r} cm²")
    return 10.0 / area_cm2
