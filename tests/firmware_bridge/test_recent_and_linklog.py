"""Remembered devices and the link diagnostics ring buffer."""

from __future__ import annotations

import json
from pathlib import Path

from firmware_bridge.linklog import CAPACITY, LinkLog, link_log, load_saved
from firmware_bridge.recent import KEEP, recent_devices, remember


def test_devices_are_remembered_newest_first(tmp_path: Path) -> None:
    path = tmp_path / "devices.toml"
    remember("tindeq", "AA:BB:CC:DD:EE:01", 'Progressor "blue"\\one', path)
    remember("pad", "AA:BB:CC:DD:EE:02", "palpate-pad 3F2A", path)
    remember("tindeq", "AA:BB:CC:DD:EE:01", 'Progressor "blue"\\one', path)
    devices = recent_devices(path)
    assert [(d.kind, d.name) for d in devices] == [
        ("tindeq", 'Progressor "blue"\\one'),
        ("pad", "palpate-pad 3F2A"),
    ]
    for i in range(KEEP + 5):
        remember("nus", f"AA:BB:CC:DD:EF:{i:02X}", f"board {i}", path)
    assert len(recent_devices(path)) == KEEP


def test_an_unreadable_file_means_no_devices(tmp_path: Path) -> None:
    path = tmp_path / "devices.toml"
    path.write_text("[[device]\nkind = ")
    assert recent_devices(path) == []
    remember("pad", "AA:BB:CC:DD:EE:02", "pad", path)  # and is replaced cleanly
    assert len(recent_devices(path)) == 1


def test_the_ring_buffer_keeps_the_last_events_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "link_events.jsonl"
    log = LinkLog(path)
    for i in range(CAPACITY + 30):
        log.record("pad", "palpate-pad 3F2A", "bad_packet", f"#{i}")
    log.save()
    again = LinkLog(path)
    events = again.events()
    assert len(events) == CAPACITY and events[0]["detail"] == "#30"
    path.write_text(path.read_text() + "not json\n" + json.dumps([1]) + "\n")
    assert len(load_saved(path)) == CAPACITY


def test_the_process_log_lives_in_the_state_dir(tmp_path: Path) -> None:
    link_log().record("tindeq", "Progressor", "connected", save=True)
    saved = load_saved()
    assert saved[-1]["event"] == "connected"
    assert (tmp_path / "state" / "link_events.jsonl").exists()
