"""Personal thresholds per tool: saved, read back, applied; a damaged file told, never lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.pipeline import PipelineConfig
from analysis.stream import EventKind
from analysis.tools import TOOLS
from analysis.warning_level import WarningConfig
from firmware_bridge import open_source
from sessions.live import LiveSession
from sessions.thresholds import (
    SAVED_FIELDS,
    ThresholdsFileError,
    apply_thresholds,
    load_thresholds,
    save_thresholds,
    thresholds_path,
    tool_key,
)

MINE = WarningConfig(caution_kpa_s=15, limit_kpa_s=30, ceiling_kpa=200, personal_ceiling_kpa=90)


def test_the_file_lives_in_the_config_dir(tmp_path: Path) -> None:
    # tests/conftest.py points PALPATE_CONFIG_DIR at a private folder
    assert thresholds_path() == tmp_path / "config" / "thresholds.json"


def test_tools_are_keyed_by_name_or_custom_area() -> None:
    assert [tool_key(t.area_cm2) for t in TOOLS.values()] == list(TOOLS)
    assert tool_key(5.0) == "custom 5 cm²" and tool_key(2.5) == "custom 2.5 cm²"


def test_thresholds_round_trip_per_tool() -> None:
    assert load_thresholds(2.0) is None  # nothing saved yet: no file at all
    assert save_thresholds(2.0, MINE) == ""
    other = WarningConfig(caution_kpa_s=40, limit_kpa_s=80, ceiling_kpa=None)
    assert save_thresholds(5.0, other) == ""
    assert load_thresholds(2.0) == MINE
    assert load_thresholds(5.0) == other  # a custom area, with the ceiling off
    assert load_thresholds(3.0) is None  # the knuckle has none
    data = json.loads(thresholds_path().read_text(encoding="utf-8"))
    assert data["version"] == 1 and set(data["tools"]) == {"thumb", "custom 5 cm²"}
    assert data["tools"]["custom 5 cm²"]["area_cm2"] == 5.0
    assert data["tools"]["thumb"]["limit_kpa_s"] == 30.0
    # written through a temporary file replaced atomically: nothing else is left
    assert [p.name for p in thresholds_path().parent.iterdir()] == ["thresholds.json"]


def test_saving_some_fields_keeps_the_others_saved_before() -> None:
    save_thresholds(2.0, MINE)
    later = WarningConfig(personal_ceiling_kpa=60)  # the defaults, but for the pain mark
    save_thresholds(2.0, later, fields=("personal_ceiling_kpa",))
    saved = load_thresholds(2.0)
    assert saved is not None
    assert (saved.caution_kpa_s, saved.limit_kpa_s, saved.ceiling_kpa) == (15, 30, 200)
    assert saved.personal_ceiling_kpa == 60
    # a tool without saved thresholds takes the rest from the thresholds in force
    save_thresholds(3.0, later, fields=("personal_ceiling_kpa",))
    assert load_thresholds(3.0) == later
    with pytest.raises(ValueError, match="not saved per tool"):
        save_thresholds(2.0, MINE, fields=("warmup_s",))


def test_applied_to_the_settings_with_explicit_options_winning() -> None:
    config = PipelineConfig(area_cm2=2.0, warnings=WarningConfig(warmup_s=60.0))
    assert apply_thresholds(config) == (config, "")  # nothing saved
    save_thresholds(2.0, MINE)
    applied, note = apply_thresholds(config)
    assert applied.warnings == WarningConfig(
        caution_kpa_s=15, limit_kpa_s=30, ceiling_kpa=200, personal_ceiling_kpa=90, warmup_s=60
    )
    assert note.startswith("your saved thresholds for thumb in use: caution 15 kPa/s")
    assert "personal ceiling 90 kPa" in note and "\n" not in note
    explicit = PipelineConfig(
        area_cm2=2.0, warnings=WarningConfig(caution_kpa_s=35, limit_kpa_s=70, ceiling_kpa=None)
    )
    applied, note = apply_thresholds(explicit, keep=("caution_kpa_s", "limit_kpa_s", "ceiling_kpa"))
    w = applied.warnings
    assert (w.caution_kpa_s, w.limit_kpa_s, w.ceiling_kpa, w.personal_ceiling_kpa) == (
        35,
        70,
        None,
        90,
    )
    assert note.endswith("(options given on the command line win)")
    # a kept limit below the saved caution cannot be combined: said, and nothing applied
    low = PipelineConfig(area_cm2=2.0, warnings=WarningConfig(caution_kpa_s=5, limit_kpa_s=10))
    applied, note = apply_thresholds(low, keep=("limit_kpa_s",))
    assert applied == low and "do not fit" in note


DAMAGED = {
    "not JSON": ("{ not json", "not JSON"),
    "a list": ("[1, 2]", "not a JSON object"),
    "no version": ('{"tools": {}}', "version None"),
    "newer version": ('{"version": 9, "tools": {}}', "version 9"),
    "no tools": ('{"version": 1}', "no 'tools' object"),
    "text number": (
        '{"version": 1, "tools": {"thumb": {"caution_kpa_s": "25", "limit_kpa_s": 50, '
        '"ceiling_kpa": 300, "personal_ceiling_kpa": null}}}',
        "caution_kpa_s must be a number",
    ),
    "boolean": (
        '{"version": 1, "tools": {"thumb": {"caution_kpa_s": 25, "limit_kpa_s": true, '
        '"ceiling_kpa": 300, "personal_ceiling_kpa": null}}}',
        "limit_kpa_s must be a number",
    ),
    "missing field": (
        '{"version": 1, "tools": {"thumb": {"caution_kpa_s": 25, "limit_kpa_s": 50}}}',
        "has no ceiling_kpa",
    ),
    "refused values": (
        '{"version": 1, "tools": {"thumb": {"caution_kpa_s": 80, "limit_kpa_s": 50, '
        '"ceiling_kpa": -1, "personal_ceiling_kpa": null}}}',
        "caution <= limit",
    ),
    "binary": (b"\xff\xfe\x00garbage", "cannot be read"),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_a_damaged_file_is_told_and_moved_aside_not_lost(case: str) -> None:
    content, reason = DAMAGED[case]
    path = thresholds_path()
    path.parent.mkdir(parents=True)
    raw = content if isinstance(content, bytes) else content.encode("utf-8")
    path.write_bytes(raw)
    with pytest.raises(ThresholdsFileError, match=reason) as err:
        load_thresholds(2.0)
    assert str(path) in str(err.value)
    # the live commands: the defaults, and one clear line saying what to do
    config = PipelineConfig()
    applied, note = apply_thresholds(config)
    assert applied == config
    assert note.startswith(f"thresholds file {path} is damaged (")
    assert note.endswith("): using the defaults; fix or delete it") and "\n" not in note
    assert path.read_bytes() == raw  # reading never changes the file
    # saving moves the damaged file aside first, and says so
    note = save_thresholds(2.0, MINE)
    aside = path.with_name("thresholds.json.damaged")
    assert aside.read_bytes() == raw
    assert note.startswith(f"thresholds file {path} is damaged (") and str(aside) in note
    assert load_thresholds(2.0) == MINE


def test_a_second_damaged_file_does_not_overwrite_the_first(tmp_path: Path) -> None:
    path = tmp_path / "t" / "thresholds.json"
    path.parent.mkdir()
    for n, text in enumerate(("first {", "second {")):
        path.write_text(text, encoding="utf-8")
        note = save_thresholds(2.0, MINE, path)
        assert "moved it to" in note
        assert path.with_name("thresholds.json.damaged" + ("-2" if n else "")).exists()
    assert path.with_name("thresholds.json.damaged").read_text(encoding="utf-8") == "first {"
    assert path.with_name("thresholds.json.damaged-2").read_text(encoding="utf-8") == "second {"


def test_an_unreadable_path_is_told(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.json"
    path.mkdir()  # a folder where the file should be
    applied, note = apply_thresholds(PipelineConfig(), path)
    assert applied == PipelineConfig() and "cannot be read" in note and "fix or delete" in note


def test_a_live_session_warns_at_the_saved_personal_ceiling() -> None:
    save_thresholds(2.0, WarningConfig(personal_ceiling_kpa=5.0))
    config, note = apply_thresholds(PipelineConfig(area_cm2=2.0))
    assert "personal ceiling 5 kPa" in note
    session = LiveSession(open_source("sim", seed=3, realtime=False, duration_s=8.0), config)
    with session:
        assert session.wait(60.0)
    ceilings = [e for e in session.poll_events() if e.kind == EventKind.CEILING]
    assert ceilings and ceilings[0].data["which"] == "personal"
    assert ceilings[0].data["ceiling_kpa"] == pytest.approx(5.0)
    assert set(SAVED_FIELDS) <= set(json.loads(thresholds_path().read_text())["tools"]["thumb"])
