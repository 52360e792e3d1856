"""The device-bridge commands run as a person runs them: ``scan``, ``devices --diagnostics``
and ``live --device virtual:...`` in a subprocess, with private config and state dirs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ui.terminal_view import LiveState, format_status

ROOT = Path(__file__).resolve().parents[2]


def palpate(tmp_path: Path, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PALPATE_CONFIG_DIR": str(tmp_path / "config"),
        "PALPATE_STATE_DIR": str(tmp_path / "state"),
        **env_extra,
    }
    env.pop("DISPLAY", None)
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        cwd=ROOT,
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="BlueZ over D-Bus is Linux's")
def test_scan_says_plainly_when_bluetooth_is_missing(tmp_path: Path) -> None:
    out = palpate(
        tmp_path, "scan", "--seconds", "0.5",
        DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent/palpate/bus",
    )  # fmt: skip
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr
    assert lines[0].startswith("palpate: Bluetooth unavailable: no Bluetooth adapter")
    assert "--device sim" in lines[0]


def test_scan_lists_supported_devices_with_signal_strength(tmp_path: Path) -> None:
    out = palpate(tmp_path, "scan", "--virtual", "--seconds", "0.8", "--json")
    assert out.returncode == 0, out.stderr
    found = [json.loads(line) for line in out.stdout.splitlines()]
    kinds = sorted(f["kind"] for f in found)
    assert kinds == ["microbit", "nus", "pad", "polar", "scale", "tindeq"]
    for f in found:
        assert f["device"] == f"{f['kind']}:{f['address']}" and -127 <= f["rssi_dbm"] <= 20
    text = palpate(tmp_path, "scan", "--virtual", "--seconds", "0.5")
    assert "Tindeq Progressor" in text.stdout and "--device tindeq:" in text.stdout


@pytest.mark.parametrize("kind", ["tindeq", "pad"])
def test_live_runs_the_whole_path_on_a_virtual_device(tmp_path: Path, kind: str) -> None:
    out = palpate(tmp_path, "live", "--device", f"virtual:{kind}", "--seconds", "1", "--headless")
    assert out.returncode == 0, out.stderr
    status = [line for line in out.stdout.splitlines() if line.startswith("t=")]
    assert status and "rate_hz=" in status[-1] and "rate_hz=-- Hz" not in status[-1]
    assert out.stdout.splitlines()[-1].startswith("summary: 1.")
    report = palpate(tmp_path, "devices", "--diagnostics", "--json")
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    events = [e["event"] for e in data["link_events"] if e["source"] == kind]
    assert events[-2:] == ["connected", "closed"]
    assert set(data["versions"]) >= {"palpate", "bleak", "bumble", "python"}


def test_diagnostics_read_as_text(tmp_path: Path) -> None:
    out = palpate(tmp_path, "devices", "--diagnostics")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("palpate ") and "Bluetooth: " in out.stdout
    assert "link events" in out.stdout and "recent devices" in out.stdout


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ("virtual:nope", "no source called 'virtual:nope'"),
        ("phyphox:127.0.0.1:9", "is phyphox open on the phone"),
    ],
)
def test_bad_devices_are_one_line(tmp_path: Path, device: str, message: str) -> None:
    out = palpate(tmp_path, "live", "--device", device, "--seconds", "1", "--headless")
    assert out.returncode == 1
    assert len(out.stderr.strip().splitlines()) == 1 and message in out.stderr


def test_the_status_line_shows_a_link_that_is_not_streaming() -> None:
    state = LiveState(device="Progressor_7F3A", rate_hz=80.0, age_s=0.8, link="reconnecting")
    assert format_status(state, color=False, lines=False).endswith("link=reconnecting")
    assert "link reconnecting" in format_status(state, color=False, lines=True)
    state.link = "streaming"
    assert "link" not in format_status(state, color=False, lines=False)
    assert np.isfinite(state.rate_hz)
