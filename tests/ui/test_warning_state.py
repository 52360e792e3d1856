"""The window's warning display: every state and transition, without Qt."""

from __future__ import annotations

import math

import pytest

from analysis.stream import Event, EventKind
from analysis.warning_level import Level
from ui.warning_state import DisplayConfig, WarningDisplay

OK = {"rate_hz": 100.0, "age_s": 0.01}


def fast(t: float, rate: float = 72.4) -> Event:
    return Event(t, EventKind.WARNING, {"level": "too fast", "rate_kpa_s": rate})


def test_too_fast_appears_in_the_frame_of_the_event_with_the_rate() -> None:
    m = WarningDisplay()
    assert m.update(0.0, Level.OK, 3.0, [], **OK).mode == "calm"
    s = m.update(0.02, Level.TOO_FAST, 72.4, [fast(5.0)], **OK)
    assert (s.mode, s.banner, s.onset, s.alarm) == ("too_fast", "Slow down: +72 kPa/s", True, True)
    assert not m.update(0.04, Level.TOO_FAST, 80.0, [], **OK).onset  # one onset per episode


def test_a_short_episode_between_two_frames_is_still_shown_for_the_hold() -> None:
    m = WarningDisplay(DisplayConfig(hold_s=1.0, clear_s=0.4))
    events = [fast(5.0), Event(5.01, EventKind.WARNING, {"level": "ok", "rate_kpa_s": 1.0})]
    assert m.update(0.0, Level.OK, 1.0, events, **OK).mode == "too_fast"
    assert m.update(0.9, Level.OK, 1.0, [], **OK).mode == "too_fast"
    assert m.update(1.01, Level.OK, 1.0, [], **OK).mode == "calm"


def test_it_clears_with_hysteresis_only_after_the_level_stays_down() -> None:
    m = WarningDisplay(DisplayConfig(hold_s=1.0, clear_s=0.4))
    m.update(0.0, Level.TOO_FAST, 60.0, [fast(0.0)], **OK)
    assert m.update(2.0, Level.TOO_FAST, 55.0, [], **OK).mode == "too_fast"  # still too fast
    assert m.update(2.1, Level.CAUTION, 40.0, [], **OK).mode == "too_fast"  # just dropped
    assert m.update(2.3, Level.TOO_FAST, 52.0, [], **OK).mode == "too_fast"  # back up: no flicker
    assert m.update(2.6, Level.OK, 10.0, [], **OK).mode == "too_fast"
    assert m.update(3.05, Level.OK, 10.0, [], **OK).mode == "calm"


def test_caution_pulse_pain_and_ceiling() -> None:
    m = WarningDisplay(DisplayConfig(pain_s=4.0))
    s = m.update(0.0, Level.CAUTION, 30.0, [], **OK)
    assert (s.mode, s.banner) == ("caution", "")
    pulse = Event(1.0, EventKind.PULSE, {"on": True, "bpm": 71.6})
    s = m.update(0.1, Level.OK, 0.0, [pulse], **OK)
    assert s.mode == "pulse" and s.banner == "Pulse under your hand (72 bpm): move a little off it"
    assert not s.alarm
    pain = Event(2.0, EventKind.PAIN, {"pressure_kpa": 95.2, "personal_ceiling_kpa": 76.2})
    ceiling = Event(2.0, EventKind.CEILING, {"on": True, "ceiling_kpa": 76.2, "which": "personal"})
    s = m.update(0.2, Level.OK, 0.0, [pain, ceiling], **OK)
    assert s.mode == "pain" and s.banner == "Pain marked at 95 kPa: ease off"
    s = m.update(4.3, Level.OK, 0.0, [], **OK)
    assert s.mode == "ceiling" and s.banner == "Above your ceiling (76 kPa): ease off" and s.alarm
    off = Event(9.0, EventKind.CEILING, {"on": False, "ceiling_kpa": 76.2, "which": "personal"})
    assert m.update(4.4, Level.OK, 0.0, [off], **OK).mode == "pulse"
    gone = Event(9.5, EventKind.PULSE, {"on": False, "bpm": 70.0})
    assert m.update(4.5, Level.OK, 0.0, [gone], **OK).mode == "calm"


@pytest.mark.parametrize(
    ("rate_hz", "age_s", "sensor", "note"),
    [
        (22.0, 0.01, "too_slow", "too slow to judge ramps (22 Hz < 40 Hz)"),
        (100.0, 0.8, "stale", "stale: no fresh data for 0.8 s"),
        (math.nan, math.inf, "stale", "stale: no data yet"),
        (100.0, 0.1, "ok", ""),
    ],
)
def test_sensor_health(rate_hz: float, age_s: float, sensor: str, note: str) -> None:
    s = WarningDisplay().update(0.0, Level.CAUTION, 30.0, [], rate_hz=rate_hz, age_s=age_s)
    assert (s.sensor, s.sensor_note) == (sensor, note)
    assert s.mode == ("caution" if sensor == "ok" else "calm")  # no caution without support
