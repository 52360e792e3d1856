"""Pipeline settings to and from JSON, for the session file and replay.

A session records the :class:`~analysis.pipeline.PipelineConfig` it ran with (contact
area, thresholds, filter spans), so a replay re-runs the same analysis.

Examples
--------
>>> from analysis.pipeline import PipelineConfig
>>> cfg = PipelineConfig(area_cm2=4.0)
>>> config_from_dict(config_to_dict(cfg)) == cfg
True
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from analysis.pipeline import PipelineConfig
from analysis.pulse import PulseConfig
from analysis.ramp import RampConfig
from analysis.warning_level import WarningConfig

__all__ = ["config_from_dict", "config_to_dict"]

_NESTED: dict[str, type] = {"warnings": WarningConfig, "pulse": PulseConfig, "ramp": RampConfig}

_BEFORE: dict[str, dict[str, Any]] = {"ramp": {"quick_rise_kpa": None}}
"""Settings added since sessions were first recorded whose default changes the analysis,
with the value that analyses a session recorded without them as it was analysed then."""


def config_to_dict(config: PipelineConfig) -> dict[str, Any]:
    """The settings as a JSON-ready dict (nested dataclasses become dicts, tuples lists),
    equal to what reading it back from JSON gives."""
    data: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(config)))
    return data


def _build(cls: type, data: Mapping[str, Any], before: Mapping[str, Any] | None = None) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown settings {', '.join(unknown)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return cls(**{**(before or {}), **values})


def config_from_dict(data: Mapping[str, Any]) -> PipelineConfig:
    """Rebuild settings written by :func:`config_to_dict`; ``ValueError`` when they do not fit.

    Settings this version does not know are an error (a newer palpate wrote them); settings
    missing from ``data`` (an older palpate did not have them) take the value that analyses
    as that palpate did where it differs from today's default (:data:`_BEFORE`), else
    their default.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"settings must be a mapping, not {type(data).__name__}")
    values: dict[str, Any] = {}
    try:  # a value of the wrong kind (a list for a number) fails a check with TypeError
        for key, value in data.items():
            cls = _NESTED.get(key)
            if cls is not None:
                if not isinstance(value, Mapping):
                    raise ValueError(f"settings {key!r} must be a mapping")
                values[key] = _build(cls, value, _BEFORE.get(key))
            else:
                values[key] = value
        config: PipelineConfig = _build(PipelineConfig, values)
    except TypeError as err:
        raise ValueError(f"settings do not fit this version of palpate: {err}") from err
    return config
