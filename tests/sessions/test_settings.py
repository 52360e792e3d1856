"""Analysis settings kept with a session: round trip, and sessions from older versions."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from analysis.pipeline import PipelineConfig
from analysis.ramp import RampConfig
from analysis.warning_level import WarningConfig
from firmware_bridge.devices.simulator import Script, SimulatedPad
from sessions.live import LiveSession
from sessions.settings import config_from_dict, config_to_dict
from sessions.store import SessionFile


def test_settings_survive_json() -> None:
    config = PipelineConfig(
        area_cm2=4.0,
        warnings=WarningConfig(limit_kpa_s=30.0, caution_kpa_s=15.0),
        ramp=RampConfig(quick_rise_kpa=None, contact_kpa=2.0),
    )
    assert config_from_dict(json.loads(json.dumps(config_to_dict(config)))) == config
    assert config_from_dict(config_to_dict(PipelineConfig())) == PipelineConfig()


def test_unknown_or_misshapen_settings_are_refused() -> None:
    data = config_to_dict(PipelineConfig())
    data["ramp"]["from_the_future"] = 1
    with pytest.raises(ValueError, match="from_the_future"):
        config_from_dict(data)
    with pytest.raises(ValueError, match="'ramp' must be a mapping"):
        config_from_dict({"ramp": 3})
    # a value of the wrong kind inside a nested group (a damaged or hand-edited file)
    for group, key, value in (("warnings", "ceiling_kpa", "x"), ("ramp", "contact_kpa", [1])):
        data = config_to_dict(PipelineConfig())
        data[group][key] = value
        with pytest.raises(ValueError, match="do not fit this version"):
            config_from_dict(data)
    data = config_to_dict(PipelineConfig())
    data["min_rate_hz"] = float("nan")
    with pytest.raises(ValueError, match="min_rate_hz must be a number"):
        config_from_dict(data)


def test_a_session_recorded_before_a_setting_existed_reads_back_its_old_analysis(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.palpate"
    pad = SimulatedPad(
        script=Script.scripted([("rest", 1.0), ("hold", 6.0, 40.0)]),
        seed=3,
        realtime=False,
        block_s=0.05,
    )
    with LiveSession(pad, PipelineConfig(area_cm2=3.0), record_to=path) as session:
        assert session.wait(60.0)
    with SessionFile.open(path) as f:
        assert f.config == PipelineConfig(area_cm2=3.0)
    # the settings as a palpate without the quick-rise floor wrote them
    conn = sqlite3.connect(path)
    with conn:
        (value,) = conn.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()
        data = json.loads(value)
        del data["ramp"]["quick_rise_kpa"]
        conn.execute("UPDATE meta SET value = ? WHERE key = 'config'", (json.dumps(data),))
    conn.close()
    with SessionFile.open(path) as f:
        config = f.config
    assert config is not None
    assert config.ramp.quick_rise_kpa is None  # not today's default: the analysis it had
    assert config.area_cm2 == 3.0 and config.ramp.contact_kpa == RampConfig().contact_kpa
